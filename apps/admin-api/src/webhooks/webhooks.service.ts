import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { CredentialCipher } from '@app/auth';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { keyset, newestFirst, Organization, Team, Webhook } from '@app/db';
import { badRequest, decodeCursor, notFound, Page, toPage } from '@app/http';
import { AdminDb } from '../admin-db/admin-db';
import { linkLocalApiBaseProblem } from '../models/catalog-rules';
import { CreateWebhookDto } from './dto/create-webhook.dto';
import { ListDeliveriesQueryDto } from './dto/list-deliveries.query';
import { UpdateWebhookDto } from './dto/update-webhook.dto';
import {
  DeliveryRow,
  toDeliveryResponse,
  toWebhookResponse,
  WebhookResponse,
} from './webhook.mapper';
import { newWebhookSecret } from './webhook-signature';

/** A webhook with its signing secret: only in the answers of create and rotate-secret. */
export type WebhookWithSecret = WebhookResponse & { secret: string };

const DELIVERIES = keyset('d.created_at', 'd.delivery_id');

@Injectable()
export class WebhooksService {
  constructor(
    private readonly db: AdminDb,
    private readonly cipher: CredentialCipher,
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
  ) {}

  async create(dto: CreateWebhookDto): Promise<WebhookWithSecret> {
    this.assertUrlAllowed(dto.url);
    const secret = newWebhookSecret();
    const sealed = this.cipher.encrypt(secret);
    const webhook = await this.db.transaction(async (manager) => {
      const scope = await this.scope(manager, dto.organization_id ?? null, dto.team_id ?? null);
      const inserted = await manager.insert(Webhook, {
        url: dto.url,
        events: dto.events,
        ...scope,
        description: dto.description ?? null,
        enabled: dto.enabled ?? true,
        secretEncrypted: sealed.ciphertext,
        encryptionKeyId: sealed.keyId,
      });
      const { webhookId } = inserted.identifiers[0] as { webhookId: string };
      return manager.findOneByOrFail(Webhook, { webhookId });
    });
    return { ...toWebhookResponse(webhook), secret };
  }

  async list(limit = 50, cursor?: string): Promise<Page<WebhookResponse>> {
    const qb = this.db.manager.getRepository(Webhook).createQueryBuilder('w');
    const slice = await newestFirst(qb, 'w', 'webhook_id', decodeCursor(cursor), limit);
    return toPage(slice, toWebhookResponse);
  }

  async get(webhookId: string): Promise<WebhookResponse> {
    return toWebhookResponse(await this.require(this.db.manager, webhookId));
  }

  async update(webhookId: string, dto: UpdateWebhookDto): Promise<WebhookResponse> {
    if (dto.url !== undefined) this.assertUrlAllowed(dto.url);
    const webhook = await this.db.transaction(async (manager) => {
      const current = await this.require(manager, webhookId, true);
      const changes: Partial<Webhook> = {};
      if (dto.organization_id !== undefined || dto.team_id !== undefined) {
        Object.assign(
          changes,
          await this.scope(
            manager,
            dto.organization_id === undefined ? current.organizationId : dto.organization_id,
            dto.team_id === undefined ? current.teamId : dto.team_id,
          ),
        );
      }
      if (dto.url !== undefined) changes.url = dto.url;
      if (dto.events !== undefined) changes.events = dto.events;
      if (dto.description !== undefined) changes.description = dto.description;
      if (dto.enabled !== undefined) changes.enabled = dto.enabled;
      if (Object.keys(changes).length > 0) {
        await manager.update(Webhook, { webhookId }, changes as QueryDeepPartialEntity<Webhook>);
      }
      return manager.findOneByOrFail(Webhook, { webhookId });
    });
    return toWebhookResponse(webhook);
  }

  /** A new signing secret, returned once; the old one stops signing at once. */
  async rotateSecret(webhookId: string): Promise<WebhookWithSecret> {
    const secret = newWebhookSecret();
    const sealed = this.cipher.encrypt(secret);
    const webhook = await this.db.transaction(async (manager) => {
      await this.require(manager, webhookId, true);
      await manager.update(
        Webhook,
        { webhookId },
        {
          secretEncrypted: sealed.ciphertext,
          encryptionKeyId: sealed.keyId,
        },
      );
      return manager.findOneByOrFail(Webhook, { webhookId });
    });
    return { ...toWebhookResponse(webhook), secret };
  }

  /** Deletes the webhook and its delivery log; deliveries not yet sent are dropped. */
  async remove(webhookId: string): Promise<WebhookResponse> {
    return this.db.transaction(async (manager) => {
      const webhook = await this.require(manager, webhookId, true);
      await manager.delete(Webhook, { webhookId });
      return toWebhookResponse(webhook);
    });
  }

  /** The webhook's delivery log, newest first (keyset on created_at, delivery_id). */
  async deliveries(webhookId: string, query: ListDeliveriesQueryDto) {
    await this.require(this.db.manager, webhookId);
    const limit = query.limit ?? 50;
    const rows: Array<DeliveryRow & { keyset_at: string; keyset_id: string }> = await this.db.query(
      `SELECT d.delivery_id, d.webhook_id, d.event_id, e.event_type, e.team_id, d.status,
                d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error,
                d.delivered_at, d.created_at, ${DELIVERIES.select}
           FROM webhook_deliveries d JOIN webhook_events e ON e.event_id = d.event_id
          WHERE d.webhook_id = $1 AND ($2::varchar IS NULL OR d.status = $2)
            AND ${DELIVERIES.after('$3', '$4')}
          ORDER BY ${DELIVERIES.order}
          LIMIT $5`,
      [
        webhookId,
        query.status ?? null,
        ...DELIVERIES.params(decodeCursor(query.cursor)),
        limit + 1,
      ],
    );
    return toPage(DELIVERIES.slice(rows, limit), toDeliveryResponse);
  }

  private async require(manager: EntityManager, webhookId: string, lock = false) {
    const webhook = await manager.findOne(Webhook, {
      where: { webhookId },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!webhook) throw notFound('Webhook', webhookId);
    return webhook;
  }

  /** The scope must exist; a team given with an organization must belong to it. */
  private async scope(
    manager: EntityManager,
    organizationId: string | null,
    teamId: string | null,
  ) {
    if (organizationId !== null && !(await manager.existsBy(Organization, { organizationId }))) {
      throw notFound('Organization', organizationId);
    }
    if (teamId !== null) {
      const team = await manager.findOneBy(Team, { teamId });
      if (!team) throw notFound('Team', teamId);
      if (organizationId !== null && team.organizationId !== organizationId) {
        throw badRequest(`team_id: team '${teamId}' is not in organization '${organizationId}'`);
      }
    }
    return { organizationId, teamId };
  }

  private assertUrlAllowed(url: string) {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      throw badRequest('url: must not carry credentials (receivers verify Tollgate-Signature)');
    }
    const problem = this.config.upstream.allowLinkLocalApiBase
      ? null
      : linkLocalApiBaseProblem(url, 'url');
    if (problem) throw badRequest(problem);
  }
}
