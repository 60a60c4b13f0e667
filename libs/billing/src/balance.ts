import type { DataSource, EntityManager } from 'typeorm';
import type { BudgetMode, TransactionType } from '@app/db';
import { badRequest, decodeCursor, notFound, Page, toPage } from '@app/http';
import { LedgerEntry, toLedgerEntry } from './ledger';

/** SPEC §8 balance: remaining = allocated − used − held. */
export interface Balance {
  team_id: string;
  credits_allocated: number;
  credits_used: number;
  credits_held: number;
  credits_remaining: number;
  budget_mode: BudgetMode;
  credits_per_dollar: number;
  tokens_per_credit: number;
}

interface BalanceRow {
  team_id: string;
  credits_allocated: string;
  credits_used: string;
  credits_held: string;
  budget_mode: BudgetMode;
  credits_per_dollar: number;
  tokens_per_credit: number;
}

export function toBalance(row: BalanceRow): Balance {
  const allocated = Number(row.credits_allocated);
  const used = Number(row.credits_used);
  const held = Number(row.credits_held);
  return {
    team_id: row.team_id,
    credits_allocated: allocated,
    credits_used: used,
    credits_held: held,
    credits_remaining: allocated - used - held,
    budget_mode: row.budget_mode,
    credits_per_dollar: Number(row.credits_per_dollar),
    tokens_per_credit: Number(row.tokens_per_credit),
  };
}

/** A team's balance, read in one statement (the three counters are consistent). */
export async function getBalance(db: DataSource | EntityManager, teamId: string): Promise<Balance> {
  const rows: BalanceRow[] = await db.query(
    `SELECT team_id, credits_allocated, credits_used, credits_held, budget_mode,
            credits_per_dollar, tokens_per_credit
       FROM teams WHERE team_id = $1`,
    [teamId],
  );
  if (!rows[0]) throw notFound('Team', teamId);
  return toBalance(rows[0]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface LedgerPageRow {
  transaction_id: string;
  team_id: string;
  job_id: string | null;
  transaction_type: TransactionType;
  credits_amount: string;
  credits_before: string;
  credits_after: string;
  reason: string | null;
  created_at: Date;
  /** created_at with microseconds: a millisecond cursor would skip rows of the same ms. */
  cursor_at: string;
}

/** A team's ledger, newest first, keyset-paginated on (created_at, transaction_id). */
export async function listTransactions(
  db: DataSource | EntityManager,
  teamId: string,
  limit: number,
  cursor?: string,
): Promise<Page<LedgerEntry>> {
  const position = decodeCursor(cursor);
  if (position && !UUID.test(position.id)) throw badRequest('cursor: invalid cursor');
  const exists: unknown[] = await db.query('SELECT 1 FROM teams WHERE team_id = $1', [teamId]);
  if (exists.length === 0) throw notFound('Team', teamId);
  const rows: LedgerPageRow[] = await db.query(
    `SELECT transaction_id, team_id, job_id, transaction_type, credits_amount, credits_before,
            credits_after, reason, created_at,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
       FROM credit_transactions
      WHERE team_id = $1
        AND ($2::timestamptz IS NULL OR (created_at, transaction_id) < ($2::timestamptz, $3::uuid))
      ORDER BY created_at DESC, transaction_id DESC
      LIMIT $4`,
    [teamId, position?.createdAt ?? null, position?.id ?? null, limit + 1],
  );
  return toPage(
    rows,
    limit,
    (r) => ({ createdAt: r.cursor_at, id: r.transaction_id }),
    toLedgerEntry,
  );
}
