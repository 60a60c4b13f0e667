import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { KeyCacheService } from '@app/cache';
import { grantCredits } from '@app/billing';
import {
  ModelGroup,
  newestFirst,
  Organization,
  returning,
  Team,
  TeamModelGroup,
  TeamStatus,
  VirtualKey,
} from '@app/db';
import { badRequest, conflict, decodeCursor, notFound, Page, toPage } from '@app/http';
import { AdminDb } from '../admin-db/admin-db';
import { KeysService } from '../keys/keys.service';
import { toKeyResponse } from '../keys/key.mapper';
import { CreateTeamDto } from './dto/create-team.dto';
import { UpdateTeamDto } from './dto/update-team.dto';
import { TeamResponse, toTeamResponse } from './team.mapper';

@Injectable()
export class TeamsService {
  constructor(
    private readonly db: AdminDb,
    private readonly keys: KeysService,
    private readonly keyCache: KeyCacheService,
  ) {}

  async create(dto: CreateTeamDto) {
    const groups = [...new Set([...(dto.model_groups ?? []), ...(dto.access_groups ?? [])])];
    const { team, issued } = await this.db.transaction(async (manager) => {
      const org = await manager.findOneBy(Organization, { organizationId: dto.organization_id });
      if (!org) throw notFound('Organization', dto.organization_id);
      await this.lockGroups(manager, groups);
      const inserted = await manager
        .createQueryBuilder()
        .insert()
        .into(Team)
        .values({
          teamId: dto.team_id,
          organizationId: dto.organization_id,
          teamAlias: dto.team_alias ?? null,
          budgetMode: dto.budget_mode,
          creditsPerDollar: dto.credits_per_dollar,
          tokensPerCredit: dto.tokens_per_credit,
          costMarkupPercentage: dto.cost_markup_percentage,
          rpmLimit: dto.rpm_limit ?? null,
          tpmLimit: dto.tpm_limit ?? null,
          metadata: dto.metadata ?? {},
        } as QueryDeepPartialEntity<Team>)
        .orIgnore()
        .execute();
      if ((inserted.raw as unknown[]).length === 0)
        throw conflict(`Team '${dto.team_id}' already exists`);
      if (groups.length > 0) {
        await manager.insert(
          TeamModelGroup,
          groups.map((groupName) => ({ teamId: dto.team_id, groupName })),
        );
      }
      if (dto.credits_allocated) {
        await grantCredits(
          manager,
          dto.team_id,
          dto.credits_allocated,
          'allocation',
          'Initial allocation',
        );
      }
      const issued = await this.keys.issue(
        manager,
        dto.team_id,
        this.keys.specOf({ key_alias: 'default' }),
      );
      return { team: await manager.findOneByOrFail(Team, { teamId: dto.team_id }), issued };
    });
    const body = toTeamResponse(team, groups);
    return { ...body, key_id: issued.key.keyId, virtual_key: issued.virtualKey };
  }

  async list(
    organizationId: string | undefined,
    limit = 50,
    cursor?: string,
    includeDeleted = false,
  ): Promise<Page<TeamResponse>> {
    if (
      organizationId &&
      !(await this.db.manager.getRepository(Organization).existsBy({ organizationId }))
    ) {
      throw notFound('Organization', organizationId);
    }
    const position = decodeCursor(cursor, 'name');
    const qb = this.db.manager.getRepository(Team).createQueryBuilder('t');
    if (organizationId) qb.andWhere('t.organization_id = :organizationId', { organizationId });
    if (!includeDeleted) qb.andWhere("t.status <> 'deleted'");
    const teams = await newestFirst(qb, 't', 'team_id', position, limit);
    const groups = await this.groupsOf(teams.rows.map((t) => t.teamId));
    return toPage(teams, (t) => toTeamResponse(t, groups.get(t.teamId) ?? []));
  }

  async get(teamId: string) {
    const team = await this.require(teamId);
    const [groups, keys] = await Promise.all([
      this.groupsOf([teamId]),
      this.db.manager
        .getRepository(VirtualKey)
        .find({ where: { teamId }, order: { createdAt: 'DESC' } }),
    ]);
    return {
      ...toTeamResponse(team, groups.get(teamId) ?? []),
      keys: keys.map((k) => toKeyResponse(k)),
    };
  }

  /** Suspend, pause or resume; every gateway replica sees it within 1 s. */
  async setStatus(teamId: string, status: Exclude<TeamStatus, 'deleted'>) {
    const rows = await returning(
      this.db.manager,
      `UPDATE teams SET status = $2, updated_at = now() WHERE team_id = $1 AND status <> 'deleted' RETURNING team_id`,
      [teamId, status],
    );
    if (rows.length === 0) {
      throw (await this.db.manager.getRepository(Team).existsBy({ teamId }))
        ? conflict(`Team '${teamId}' is deleted`)
        : notFound('Team', teamId);
    }
    await this.invalidateTeam(teamId);
    return this.get(teamId);
  }

  /** Alias, limits, budget settings, markup, metadata, alert threshold: never credits (the DTO refuses them). */
  async update(teamId: string, dto: UpdateTeamDto) {
    await this.db.transaction(async (manager) => {
      await this.lockLiveTeam(manager, teamId);
      const changes: Partial<Team> = {};
      if (dto.team_alias !== undefined) changes.teamAlias = dto.team_alias;
      if (dto.budget_mode !== undefined) changes.budgetMode = dto.budget_mode;
      if (dto.credits_per_dollar !== undefined) changes.creditsPerDollar = dto.credits_per_dollar;
      if (dto.tokens_per_credit !== undefined) changes.tokensPerCredit = dto.tokens_per_credit;
      if (dto.cost_markup_percentage !== undefined) {
        changes.costMarkupPercentage = dto.cost_markup_percentage;
      }
      if (dto.rpm_limit !== undefined) changes.rpmLimit = dto.rpm_limit;
      if (dto.tpm_limit !== undefined) changes.tpmLimit = dto.tpm_limit;
      if (dto.metadata !== undefined) changes.metadata = dto.metadata ?? {};
      if (dto.balance_low_threshold !== undefined) {
        changes.balanceLowThreshold = dto.balance_low_threshold;
      }
      if (Object.keys(changes).length > 0)
        await manager.update(Team, { teamId }, changes as QueryDeepPartialEntity<Team>);
    });
    // Team limits travel in the gateways' cached key context.
    await this.invalidateTeam(teamId);
    return this.get(teamId);
  }

  /** Replaces the team's model groups in one transaction; unknown groups are named in the 400. */
  async setModelGroups(teamId: string, modelGroups: string[]) {
    const groups = [...new Set(modelGroups)];
    await this.db.transaction(async (manager) => {
      await this.lockLiveTeam(manager, teamId);
      await this.lockGroups(manager, groups);
      await manager.query(
        `DELETE FROM team_model_groups WHERE team_id = $1 AND NOT (group_name = ANY($2::text[]))`,
        [teamId, groups],
      );
      await manager.query(
        `INSERT INTO team_model_groups (team_id, group_name)
         SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
        [teamId, groups],
      );
    });
    return this.get(teamId);
  }

  /**
   * Deletes a team: every key revoked, status deleted, model groups released; jobs, calls and the
   * ledger are kept. Its keys get 401 on every gateway replica within 1 s. Repeating is a no-op.
   */
  async remove(teamId: string) {
    await this.db.transaction(async (manager) => {
      const team = await manager.findOne(Team, {
        where: { teamId },
        lock: { mode: 'pessimistic_write' },
      });
      if (!team) throw notFound('Team', teamId);
      if (team.status === 'deleted') return;
      await manager.query(
        `UPDATE teams SET status = 'deleted', deleted_at = now(), auto_refill_enabled = false,
                next_refill_at = NULL, updated_at = now()
          WHERE team_id = $1`,
        [teamId],
      );
      await manager.query(
        `UPDATE virtual_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, now()), updated_at = now()
          WHERE team_id = $1 AND status = 'active'`,
        [teamId],
      );
      await manager.query('DELETE FROM team_model_groups WHERE team_id = $1', [teamId]);
    });
    await this.invalidateTeam(teamId);
    return this.get(teamId);
  }

  async require(teamId: string): Promise<Team> {
    const team = await this.db.manager.getRepository(Team).findOneBy({ teamId });
    if (!team) throw notFound('Team', teamId);
    return team;
  }

  /** Drops every cached key of the team, on every replica, once the change has committed. */
  async invalidateTeam(teamId: string): Promise<void> {
    const keys = await this.db.manager
      .getRepository(VirtualKey)
      .find({ where: { teamId }, select: { keyHash: true } });
    const keyHashes = keys.map((k) => k.keyHash);
    await this.db.afterCommit(() => this.keyCache.invalidate({ teamId, keyHashes }));
  }

  async groupsOf(teamIds: string[]): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>();
    if (teamIds.length === 0) return result;
    const rows = await this.db.manager
      .getRepository(TeamModelGroup)
      .find({ where: { teamId: In(teamIds) }, order: { createdAt: 'ASC', groupName: 'ASC' } });
    for (const row of rows)
      result.set(row.teamId, [...(result.get(row.teamId) ?? []), row.groupName]);
    return result;
  }

  /** Row-locks the team for a change; a deleted team cannot change any more (409). */
  private async lockLiveTeam(manager: EntityManager, teamId: string): Promise<Team> {
    const team = await manager.findOne(Team, {
      where: { teamId },
      lock: { mode: 'pessimistic_write' },
    });
    if (!team) throw notFound('Team', teamId);
    if (team.status === 'deleted') throw conflict(`Team '${teamId}' is deleted`);
    return team;
  }

  /** Checks the groups exist and share-locks them, so none is deleted before we reference it. */
  private async lockGroups(manager: EntityManager, groups: string[]): Promise<void> {
    if (groups.length === 0) return;
    const found = await manager.find(ModelGroup, {
      where: { groupName: In(groups) },
      select: { groupName: true },
      lock: { mode: 'pessimistic_read' },
    });
    const known = new Set(found.map((g) => g.groupName));
    const missing = groups.filter((g) => !known.has(g));
    if (missing.length > 0) {
      throw badRequest(`model_groups: unknown model group(s): ${missing.join(', ')}`);
    }
  }
}
