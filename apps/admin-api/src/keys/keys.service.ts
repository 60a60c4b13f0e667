import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { generateVirtualKey, hashVirtualKey, maskVirtualKey } from '@app/auth';
import { KeyCacheService } from '@app/cache';
import { parseDurationSeconds } from '@app/config';
import { returning, Team, VirtualKey } from '@app/db';
import { notFound, TollgateError } from '@app/http';
import { CreateKeyDto } from './dto/create-key.dto';
import { KeyResponse, toKeyResponse } from './key.mapper';

export interface IssuedKey {
  key: VirtualKey;
  /** The plaintext key: returned once in the create/rotate response, never stored. */
  virtualKey: string;
}

@Injectable()
export class KeysService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly keyCache: KeyCacheService,
  ) {}

  /** Creates a key inside the caller's transaction; the team row is expected to exist. */
  async issue(manager: EntityManager, teamId: string, dto: CreateKeyDto): Promise<IssuedKey> {
    const virtualKey = generateVirtualKey();
    const durationSeconds = dto.duration ? parseDurationSeconds(dto.duration) : null;
    const key = manager.create(VirtualKey, {
      teamId,
      keyHash: hashVirtualKey(virtualKey),
      maskedKey: maskVirtualKey(virtualKey),
      keyAlias: dto.key_alias ?? null,
      models: dto.models ?? [],
      expiresAt: durationSeconds ? new Date(Date.now() + durationSeconds * 1000) : null,
      maxBudget: dto.max_budget ?? null,
      budgetDuration: dto.budget_duration ?? null,
      budgetWindowStart: dto.budget_duration ? new Date() : null,
      rpmLimit: dto.rpm_limit ?? null,
      tpmLimit: dto.tpm_limit ?? null,
      metadata: dto.metadata ?? {},
    });
    return { key: await manager.save(key), virtualKey };
  }

  async create(teamId: string, dto: CreateKeyDto) {
    const issued = await this.db.transaction(async (manager) => {
      const team = await manager.findOne(Team, {
        where: { teamId },
        lock: { mode: 'pessimistic_read' },
      });
      if (!team || team.status === 'deleted') throw notFound('Team', teamId);
      if (dto.models?.length) await this.assertWithinTeamModels(manager, teamId, dto.models);
      return this.issue(manager, teamId, dto);
    });
    return { ...toKeyResponse(issued.key), virtual_key: issued.virtualKey };
  }

  async listForTeam(teamId: string): Promise<{ data: KeyResponse[] }> {
    const team = await this.db.getRepository(Team).findOneBy({ teamId });
    if (!team) throw notFound('Team', teamId);
    const keys = await this.db
      .getRepository(VirtualKey)
      .find({ where: { teamId }, order: { createdAt: 'DESC' } });
    return { data: keys.map(toKeyResponse) };
  }

  async revoke(keyId: string): Promise<KeyResponse> {
    const rows = await returning<{ key_hash: string }>(
      this.db,
      `UPDATE virtual_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, now()), updated_at = now()
        WHERE key_id = $1 RETURNING key_hash`,
      [keyId],
    );
    if (!rows[0]) throw notFound('Key', keyId);
    await this.keyCache.invalidate({ keyHashes: [rows[0].key_hash] });
    const key = await this.db.getRepository(VirtualKey).findOneByOrFail({ keyId });
    return toKeyResponse(key);
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
      throw new TollgateError(
        'VALIDATION_ERROR',
        `models: not available to team '${teamId}': ${extra.join(', ')}`,
      );
    }
  }
}
