import { EntityManager } from 'typeorm';
import type { TransactionType } from '@app/db';

export interface LedgerEntry {
  transaction_id: string;
  team_id: string;
  job_id: string | null;
  transaction_type: TransactionType;
  credits_amount: number;
  credits_before: number;
  credits_after: number;
  reason: string | null;
  created_at: string;
}

/** A credit_transactions row as a raw query returns it. */
export interface LedgerRow {
  transaction_id: string;
  team_id: string;
  job_id: string | null;
  transaction_type: TransactionType;
  credits_amount: string;
  credits_before: string;
  credits_after: string;
  reason: string | null;
  created_at: Date;
}

export function toLedgerEntry(row: LedgerRow): LedgerEntry {
  return {
    transaction_id: row.transaction_id,
    team_id: row.team_id,
    job_id: row.job_id,
    transaction_type: row.transaction_type,
    credits_amount: Number(row.credits_amount),
    credits_before: Number(row.credits_before),
    credits_after: Number(row.credits_after),
    reason: row.reason,
    created_at: row.created_at.toISOString(),
  };
}

/**
 * Grants credits (amount > 0) in one statement: the balance update and its ledger row commit
 * together. "Balance" in the ledger is credits_allocated − credits_used.
 */
export async function grantCredits(
  manager: EntityManager,
  teamId: string,
  amount: number,
  type: Extract<TransactionType, 'allocation' | 'refill' | 'refund' | 'adjustment'>,
  reason: string | null,
  jobId: string | null = null,
): Promise<LedgerEntry> {
  const rows: LedgerRow[] = await manager.query(
    `WITH updated AS (
       UPDATE teams SET credits_allocated = credits_allocated + $2, updated_at = now()
        WHERE team_id = $1
        RETURNING team_id, credits_allocated - credits_used AS after
     )
     INSERT INTO credit_transactions
       (team_id, job_id, transaction_type, credits_amount, credits_before, credits_after, reason)
     SELECT team_id, $5, $3, $2, after - $2, after, $4 FROM updated
     RETURNING *`,
    [teamId, amount, type, reason, jobId],
  );
  if (!rows[0]) throw new Error(`grantCredits: team ${teamId} not found`);
  return toLedgerEntry(rows[0]);
}
