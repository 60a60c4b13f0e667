import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { generateVirtualKey, hashVirtualKey, maskVirtualKey } from '@app/auth';
import { KeyCacheService } from '@app/cache';
import { parseDurationSeconds } from '@app/config';
import { newestFirst, returning, Team, VirtualKey } from '@app/db';
import { badRequest, conflict, decodeCursor, notFound, Page, toPage } from '@app/http';
import { AdminDb } from '../admin-db/admin-db';
import { CreateKeyDto } from './dto/create-key.dto';
import { RotateKeyDto } from './dto/rotate-key.dto';
import { UpdateKeyDto } from './dto/update-key.dto';
import { KeyResponse, toKeyResponse } from './key.mapper';

export interface IssuedKey {
  key: VirtualKey;
  /** The plaintext key: returned once in the create/rotate response, never stored. */
  virtualKey: string;
}

/** What a new key row carries besides its secret. */
type KeySpec = Pick<
  VirtualKey,
  | 'keyAlias'
  | 'models'
  | 'expiresAt'
  | 'maxBudget'
  | 'budgetDuration'
  | 'budgetWindowStart'
  | 'spend'
  | 'rpmLimit'
  | 'tpmLimit'
  | 'metadata'
>;

const secondsOf = (duration: string) => parseDurationSeconds(duration) ?? 0;
const fromNow = (duration: string) => new Date(Date.now() + secondsOf(duration) * 1000);

/** Marks keys whose rotation grace has ended as revoked (the gateway already refuses them). */
const SETTLE_GRACE = `UPDATE virtual_keys SET status = 'revoked', revoked_at = grace_expires_at, updated_at = now()
  WHERE status = 'active' AND grace_expires_at <= now()`;

@Injectable()
export class KeysService {
  constructor(
    private readonly db: AdminDb,
    private readonly keyCache: KeyCacheService,
  ) {}

  /** Creates a key inside the caller's transaction; the team row is expected to exist. */
  async issue(manager: EntityManager, teamId: string, spec: KeySpec): Promise<IssuedKey> {
    const virtualKey = generateVirtualKey();
    const key = manager.create(VirtualKey, {
      ...spec,
      teamId,
      keyHash: hashVirtualKey(virtualKey),
      maskedKey: maskVirtualKey(virtualKey),
    });
    return { key: await manager.save(key), virtualKey };
  }

  /** The row fields of a key created from a request body. */
  specOf(dto: CreateKeyDto): KeySpec {
    if (dto.duration !== undefined && secondsOf(dto.duration) === 0) {
      throw badRequest('duration: must be longer than 0s');
    }
    assertBudget(dto.max_budget ?? null, dto.budget_duration ?? null);
    return {
      keyAlias: dto.key_alias ?? null,
      models: [...new Set(dto.models ?? [])],
      expiresAt: dto.duration ? fromNow(dto.duration) : null,
      maxBudget: dto.max_budget ?? null,
      budgetDuration: dto.budget_duration ?? null,
      budgetWindowStart: dto.budget_duration ? new Date() : null,
      spend: 0,
      rpmLimit: dto.rpm_limit ?? null,
      tpmLimit: dto.tpm_limit ?? null,
      metadata: dto.metadata ?? {},
    };
  }

  async create(teamId: string, dto: CreateKeyDto) {
    const spec = this.specOf(dto);
    const issued = await this.db.transaction(async (manager) => {
      await this.lockLiveTeam(manager, teamId);
      if (spec.models.length) await this.assertWithinTeamModels(manager, teamId, spec.models);
      return this.issue(manager, teamId, spec);
    });
    return { ...toKeyResponse(issued.key), virtual_key: issued.virtualKey };
  }

  async listForTeam(teamId: string, limit = 50, cursor?: string): Promise<Page<KeyResponse>> {
    const position = decodeCursor(cursor);
    if (!(await this.db.manager.getRepository(Team).existsBy({ teamId })))
      throw notFound('Team', teamId);
    await this.db.query(`${SETTLE_GRACE} AND team_id = $1`, [teamId]);
    const qb = this.db.manager
      .getRepository(VirtualKey)
      .createQueryBuilder('k')
      .where('k.team_id = :teamId', { teamId });
    return toPage(await newestFirst(qb, 'k', 'key_id', position, limit), (k) => toKeyResponse(k));
  }

  /** Like LiteLLM's /key/info: limits, budget window, spend and last use. */
  async info(keyId: string): Promise<KeyResponse> {
    await this.db.query(`${SETTLE_GRACE} AND key_id = $1`, [keyId]);
    return toKeyResponse(await this.requireKey(this.db.manager, keyId));
  }

  /** Changes a live key; every gateway replica sees the change within 1 s. */
  async update(keyId: string, dto: UpdateKeyDto): Promise<KeyResponse> {
    if (dto.duration && secondsOf(dto.duration) === 0) {
      throw badRequest('duration: must be longer than 0s');
    }
    const key = await this.db.transaction(async (manager) => {
      const current = await this.requireKey(manager, keyId, true);
      if (current.status !== 'active') throw conflict(`Key '${keyId}' is revoked`);
      const maxBudget = dto.max_budget !== undefined ? dto.max_budget : current.maxBudget;
      // Removing the budget removes its window too, unless the body sets one (then a 400).
      const budgetDuration =
        dto.budget_duration !== undefined
          ? dto.budget_duration
          : maxBudget === null
            ? null
            : current.budgetDuration;
      assertBudget(maxBudget, budgetDuration);
      const models = dto.models === undefined ? undefined : [...new Set(dto.models ?? [])];
      if (models?.length) await this.assertWithinTeamModels(manager, current.teamId, models);

      const changes: Partial<VirtualKey> = { maxBudget, budgetDuration };
      if (budgetDuration !== current.budgetDuration) {
        // A new window starts counting from zero now.
        changes.budgetWindowStart = budgetDuration ? new Date() : null;
        changes.spend = 0;
      }
      if (dto.key_alias !== undefined) changes.keyAlias = dto.key_alias;
      if (models !== undefined) changes.models = models;
      if (dto.duration !== undefined) {
        changes.expiresAt = dto.duration === null ? null : fromNow(dto.duration);
      }
      if (dto.rpm_limit !== undefined) changes.rpmLimit = dto.rpm_limit;
      if (dto.tpm_limit !== undefined) changes.tpmLimit = dto.tpm_limit;
      if (dto.metadata !== undefined) changes.metadata = dto.metadata ?? {};
      await manager.update(VirtualKey, { keyId }, changes as QueryDeepPartialEntity<VirtualKey>);
      return this.requireKey(manager, keyId);
    });
    await this.db.afterCommit(() =>
      this.keyCache.invalidate({ keyHashes: [key.keyHash], keysOf: key.teamId }),
    );
    return toKeyResponse(key);
  }

  /**
   * Issues a new key with the same team, alias, models, limits, budget window and metadata; the old
   * one works until now + grace_period ("0s": refused at once) and is then revoked.
   */
  async rotate(keyId: string, dto: RotateKeyDto) {
    const graceSeconds = dto.grace_period ? secondsOf(dto.grace_period) : 0;
    if (dto.duration !== undefined && secondsOf(dto.duration) === 0) {
      throw badRequest('duration: must be longer than 0s');
    }
    const { old, issued } = await this.db.transaction(async (manager) => {
      const current = await this.requireKey(manager, keyId, true);
      if (current.rotatedTo) {
        throw conflict(`Key '${keyId}' was already rotated to '${current.rotatedTo}'`);
      }
      if (current.status !== 'active') throw conflict(`Key '${keyId}' is revoked`);
      const expiresAt = dto.duration ? fromNow(dto.duration) : current.expiresAt;
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw conflict(`Key '${keyId}' has expired: pass a duration for the new key`);
      }
      const team = await manager.findOne(Team, {
        where: { teamId: current.teamId },
        lock: { mode: 'pessimistic_read' },
      });
      if (!team || team.status === 'deleted') {
        throw conflict(`Team '${current.teamId}' is deleted`);
      }
      // The budget window and its spend carry over, so rotating never resets a budget.
      const issued = await this.issue(manager, current.teamId, {
        keyAlias: current.keyAlias,
        models: current.models,
        expiresAt,
        maxBudget: current.maxBudget,
        budgetDuration: current.budgetDuration,
        budgetWindowStart: current.budgetWindowStart,
        spend: current.spend,
        rpmLimit: current.rpmLimit,
        tpmLimit: current.tpmLimit,
        metadata: current.metadata,
      });
      const [old] = await returning<{ key_hash: string; team_id: string }>(
        manager,
        `UPDATE virtual_keys
            SET rotated_to = $2, grace_expires_at = now() + make_interval(secs => $3),
                status = CASE WHEN $3 = 0 THEN 'revoked' ELSE status END,
                revoked_at = CASE WHEN $3 = 0 THEN now() ELSE revoked_at END,
                updated_at = now()
          WHERE key_id = $1 RETURNING key_hash, team_id`,
        [keyId, issued.key.keyId, graceSeconds],
      );
      return { old, issued };
    });
    await this.db.afterCommit(() =>
      this.keyCache.invalidate({ keyHashes: [old.key_hash], keysOf: old.team_id }),
    );
    return { ...toKeyResponse(issued.key), virtual_key: issued.virtualKey };
  }

  /** Revoke a key: refused by every gateway replica within 1 s. */
  async revoke(keyId: string): Promise<KeyResponse> {
    const rows = await returning<{ key_hash: string; team_id: string }>(
      this.db.manager,
      `UPDATE virtual_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, now()), updated_at = now()
        WHERE key_id = $1 RETURNING key_hash, team_id`,
      [keyId],
    );
    if (!rows[0]) throw notFound('Key', keyId);
    const { key_hash: keyHash, team_id: teamId } = rows[0];
    await this.db.afterCommit(() =>
      this.keyCache.invalidate({ keyHashes: [keyHash], keysOf: teamId }),
    );
    return toKeyResponse(await this.requireKey(this.db.manager, keyId));
  }

  /** A key may only narrow what its team can use: every name must be a team model or group. */
  async assertWithinTeamModels(
    manager: EntityManager,
    teamId: string,
    models: string[],
  ): Promise<void> {
    const rows: Array<{ name: string }> = await manager.query(
      `SELECT g.group_name AS name FROM team_model_groups tg JOIN model_groups g ON g.group_name = tg.group_name
        WHERE tg.team_id = $1
       UNION
       SELECT unnest(g.models) FROM team_model_groups tg JOIN model_groups g ON g.group_name = tg.group_name
        WHERE tg.team_id = $1`,
      [teamId],
    );
    const allowed = new Set(rows.map((r) => r.name));
    const extra = [...new Set(models)].filter((m) => !allowed.has(m));
    if (extra.length > 0) {
      throw badRequest(`models: not available to team '${teamId}': ${extra.join(', ')}`);
    }
  }

  /** Locks the team against deletion while a key is added; only an active team gets keys. */
  private async lockLiveTeam(manager: EntityManager, teamId: string): Promise<Team> {
    const team = await manager.findOne(Team, {
      where: { teamId },
      lock: { mode: 'pessimistic_read' },
    });
    if (!team) throw notFound('Team', teamId);
    if (team.status !== 'active') {
      throw conflict(`Team '${teamId}' is ${team.status}: only an active team can get new keys`);
    }
    return team;
  }

  private async requireKey(manager: EntityManager, keyId: string, lock = false) {
    const key = await manager.findOne(VirtualKey, {
      where: { keyId },
      ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}),
    });
    if (!key) throw notFound('Key', keyId);
    return key;
  }
}

/** budget_duration only makes sense with a max_budget to reset. */
function assertBudget(maxBudget: number | null, budgetDuration: string | null): void {
  if (budgetDuration !== null && maxBudget === null) {
    throw badRequest('budget_duration: requires max_budget');
  }
  if (budgetDuration !== null && secondsOf(budgetDuration) === 0) {
    throw badRequest('budget_duration: must be longer than 0s');
  }
}
