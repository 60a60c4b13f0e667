import type { DataSource, EntityManager } from 'typeorm';
import { keyset } from '@app/db';
import type { BudgetMode, KeysetPosition, KeysetRow, Slice } from '@app/db';
import { notFound } from '@app/errors';
import { LedgerEntry, LedgerRow, toLedgerEntry } from './ledger';

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

type LedgerPageRow = LedgerRow & KeysetRow;

const LEDGER = keyset('created_at', 'transaction_id');

/** A team's ledger, newest first: `limit` entries below `after` (null: from the newest). */
export async function listTransactions(
  db: DataSource | EntityManager,
  teamId: string,
  limit: number,
  after: KeysetPosition | null,
): Promise<Slice<LedgerEntry>> {
  const exists: unknown[] = await db.query('SELECT 1 FROM teams WHERE team_id = $1', [teamId]);
  if (exists.length === 0) throw notFound('Team', teamId);
  const rows: LedgerPageRow[] = await db.query(
    `SELECT transaction_id, team_id, job_id, transaction_type, credits_amount, credits_before,
            credits_after, reason, created_at, ${LEDGER.select}
       FROM credit_transactions
      WHERE team_id = $1 AND ${LEDGER.after('$2', '$3')}
      ORDER BY ${LEDGER.order}
      LIMIT $4`,
    [teamId, ...LEDGER.params(after), limit + 1],
  );
  const slice = LEDGER.slice(rows, limit);
  return { rows: slice.rows.map(toLedgerEntry), next: slice.next };
}
