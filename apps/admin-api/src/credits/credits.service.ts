import { Injectable } from '@nestjs/common';
import { KeyCacheService } from '@app/cache';
import { EntityManager } from 'typeorm';
import {
  Balance,
  getBalance,
  grantCredits,
  LedgerEntry,
  listTransactions,
  refillInterval,
} from '@app/billing';
import { returning, TeamStatus } from '@app/db';
import type { RefillPeriod } from '@app/db';
import { conflict, decodeCursor, notFound, toPage } from '@app/http';
import { AdminDb } from '../admin-db/admin-db';
import { AddCreditsDto } from './dto/add-credits.dto';
import { ConfigureAutoRefillDto } from './dto/auto-refill.dto';
import { UpdateBudgetModeDto } from './dto/budget-mode.dto';
import { runIdempotent } from './idempotency';

export interface CreditsAdded {
  transaction: LedgerEntry;
  balance: Balance;
}

export interface AutoRefillSettings {
  team_id: string;
  enabled: boolean;
  refill_amount: number | null;
  refill_period: RefillPeriod | null;
  next_refill_at: string | null;
}

interface RefillRow {
  team_id: string;
  auto_refill_enabled: boolean;
  auto_refill_amount: number | null;
  auto_refill_period: RefillPeriod | null;
  next_refill_at: Date | null;
}

@Injectable()
export class CreditsService {
  constructor(
    private readonly db: AdminDb,
    private readonly keyCache: KeyCacheService,
  ) {}

  /** Grants credits (one ledger row); with an Idempotency-Key a repeat replays the first result. */
  add(teamId: string, dto: AddCreditsDto, idempotencyKey?: string): Promise<CreditsAdded> {
    return runIdempotent(
      this.db.manager,
      `credits.add:${teamId}`,
      idempotencyKey,
      JSON.stringify([dto.credits, dto.reason ?? null]),
      async (manager) => {
        await this.lockLiveTeam(manager, teamId);
        const transaction = await grantCredits(
          manager,
          teamId,
          dto.credits,
          'allocation',
          dto.reason ?? 'Credits added',
        );
        return { transaction, balance: await getBalance(manager, teamId) };
      },
    );
  }

  balance(teamId: string): Promise<Balance> {
    return getBalance(this.db.manager, teamId);
  }

  async transactions(teamId: string, limit = 50, cursor?: string) {
    const after = decodeCursor(cursor);
    return toPage(await listTransactions(this.db.manager, teamId, limit, after), (e) => e);
  }

  async setBudgetMode(teamId: string, dto: UpdateBudgetModeDto): Promise<Balance> {
    const rows = await returning(
      this.db.manager,
      `UPDATE teams SET budget_mode = $2,
              credits_per_dollar = COALESCE($3, credits_per_dollar),
              tokens_per_credit = COALESCE($4, tokens_per_credit),
              updated_at = now()
        WHERE team_id = $1 AND status <> 'deleted' RETURNING team_id`,
      [teamId, dto.budget_mode, dto.credits_per_dollar ?? null, dto.tokens_per_credit ?? null],
    );
    if (rows.length === 0) await this.explainMissing(teamId);
    // gateways give the team's credit leases back: the next ones carry the new settings
    await this.db.afterCommit(() => this.keyCache.invalidate({ teamId }));
    return getBalance(this.db.manager, teamId);
  }

  /**
   * Enabling starts the schedule: the first refill is one period from now. Re-configuring with
   * the same period keeps the pending date (so re-saving neither skips nor repeats a refill).
   */
  async configureAutoRefill(
    teamId: string,
    dto: ConfigureAutoRefillDto,
  ): Promise<AutoRefillSettings> {
    const rows = await returning<RefillRow>(
      this.db.manager,
      `UPDATE teams SET
              next_refill_at = CASE
                WHEN NOT $2::boolean THEN NULL
                WHEN auto_refill_enabled AND auto_refill_period = $4 AND next_refill_at IS NOT NULL
                  THEN next_refill_at
                ELSE now() + ${refillInterval('$4::varchar')} END,
              auto_refill_enabled = $2,
              auto_refill_amount = COALESCE($3, auto_refill_amount),
              auto_refill_period = COALESCE($4, auto_refill_period),
              updated_at = now()
        WHERE team_id = $1 AND status <> 'deleted'
        RETURNING team_id, auto_refill_enabled, auto_refill_amount, auto_refill_period, next_refill_at`,
      [teamId, dto.enabled, dto.refill_amount ?? null, dto.refill_period ?? null],
    );
    const row = rows[0];
    if (!row) return this.explainMissing(teamId);
    return {
      team_id: row.team_id,
      enabled: row.auto_refill_enabled,
      refill_amount: row.auto_refill_amount,
      refill_period: row.auto_refill_period,
      next_refill_at: row.next_refill_at?.toISOString() ?? null,
    };
  }

  /** Locks the team row for the grant; a deleted team takes no credits (409). */
  private async lockLiveTeam(manager: EntityManager, teamId: string): Promise<void> {
    const rows: Array<{ status: TeamStatus }> = await manager.query(
      'SELECT status FROM teams WHERE team_id = $1 FOR UPDATE',
      [teamId],
    );
    if (!rows[0]) throw notFound('Team', teamId);
    if (rows[0].status === 'deleted') throw conflict(`Team '${teamId}' is deleted`);
  }

  private async explainMissing(teamId: string): Promise<never> {
    const rows: unknown[] = await this.db.query('SELECT 1 FROM teams WHERE team_id = $1', [teamId]);
    throw rows.length > 0 ? conflict(`Team '${teamId}' is deleted`) : notFound('Team', teamId);
  }
}
