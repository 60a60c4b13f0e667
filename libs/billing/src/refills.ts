import type { EntityManager } from 'typeorm';
import { returning } from '@app/db';
import type { RefillPeriod } from '@app/db';
import { grantCredits, LedgerEntry } from './ledger';

/** SQL for the interval of a refill period held in `expr` (a calendar month for monthly). */
export const refillInterval = (expr: string) =>
  `(CASE ${expr} WHEN 'daily' THEN interval '1 day' WHEN 'weekly' THEN interval '7 days'
    ELSE interval '1 month' END)`;

/**
 * Refills one team if its refill is due: a conditional UPDATE advances next_refill_at by one
 * period (or to now + period when periods were missed: no catch-up burst) and only the caller
 * whose UPDATE returned the row grants the refill, in the same transaction. A concurrent replica
 * blocks on the row, then re-checks the WHERE against the advanced date and gets nothing.
 * Run it inside a transaction.
 */
export async function refillIfDue(
  manager: EntityManager,
  teamId: string,
): Promise<LedgerEntry | null> {
  const next = `next_refill_at + ${refillInterval('auto_refill_period')}`;
  const rows = await returning<{ amount: number; period: RefillPeriod }>(
    manager,
    `UPDATE teams
        SET next_refill_at = CASE WHEN ${next} > now() THEN ${next}
                                  ELSE now() + ${refillInterval('auto_refill_period')} END,
            updated_at = now()
      WHERE team_id = $1 AND auto_refill_enabled AND next_refill_at <= now()
        AND status <> 'deleted' AND auto_refill_amount > 0
      RETURNING auto_refill_amount AS amount, auto_refill_period AS period`,
    [teamId],
  );
  const due = rows[0];
  if (!due) return null;
  return grantCredits(manager, teamId, due.amount, 'refill', `Auto-refill (${due.period})`);
}

/** Teams whose refill is due (the refill itself re-checks under the row lock). */
export async function dueRefillTeams(manager: EntityManager, limit = 100): Promise<string[]> {
  const rows: Array<{ team_id: string }> = await manager.query(
    `SELECT team_id FROM teams
      WHERE auto_refill_enabled AND next_refill_at <= now() AND status <> 'deleted'
      ORDER BY next_refill_at LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.team_id);
}
