import type { DataSource, EntityManager } from 'typeorm';
import { preparedQuery, returning } from '@app/db';
import type { BudgetMode } from '@app/db';
import type { BudgetSettings } from './charges';

export interface LeaseRequest {
  teamId: string;
  replicaId: string;
  /** null = open a new lease row; else top up this lease (it must be teamId's and replicaId's) */
  leaseId: string | null;
  /** credits to add to the lease (> 0) */
  credits: number;
  /**
   * granted only if, after the grant, at least this much of the team's balance stays unleased
   * and unheld (available − credits ≥ keepFree)
   */
  keepFree: number;
  ttlSeconds: number;
}

export interface LeaseGrant {
  leaseId: string;
  /** credits on the lease after the grant */
  credits: number;
  settings: BudgetSettings;
  /** the team's credits_remaining (allocated − used − held) after the grant */
  remaining: number;
}

interface GrantRow {
  lease_id: string;
  credits: string;
  budget_mode: BudgetMode;
  credits_per_dollar: number;
  tokens_per_credit: number;
  cost_markup_percentage: number;
  remaining: string;
}

/**
 * ONE statement: the lease to top up is locked first (a lease swept or returned meanwhile is
 * simply gone), then a conditional UPDATE moves the credits into the team's credits_held, and
 * the lease row is inserted or topped up (its expiry extended). null = not granted, nothing
 * changed. Leases are not ledger rows: like holds they show as credits_held.
 */
export async function grantLease(
  db: DataSource | EntityManager,
  req: LeaseRequest,
): Promise<LeaseGrant | null> {
  if (!Number.isSafeInteger(req.credits) || req.credits <= 0) {
    throw new Error(`grantLease: credits must be a positive integer, got ${req.credits}`);
  }
  const rows = await preparedQuery<GrantRow>(
    db,
    'tollgate_lease_grant',
    `WITH l AS MATERIALIZED (
       SELECT lease_id FROM credit_leases
        WHERE lease_id = $3::uuid AND team_id = $1 AND replica_id = $2
          FOR UPDATE
     ),
     t AS (
       UPDATE teams t SET credits_held = t.credits_held + $4::bigint, updated_at = now()
        WHERE t.team_id = $1 AND t.status = 'active' AND t.deleted_at IS NULL
          AND t.credits_allocated - t.credits_used - t.credits_held >= $4::bigint + $5::bigint
          AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM l))
       RETURNING t.team_id, t.budget_mode, t.credits_per_dollar, t.tokens_per_credit,
                 t.cost_markup_percentage,
                 t.credits_allocated - t.credits_used - t.credits_held AS remaining
     ),
     topped AS (
       UPDATE credit_leases c
          SET credits = c.credits + $4::bigint,
              expires_at = now() + make_interval(secs => $6::float8),
              updated_at = now()
         FROM t, l
        WHERE c.lease_id = l.lease_id
       RETURNING c.lease_id, c.credits
     ),
     opened AS (
       INSERT INTO credit_leases (team_id, replica_id, credits, expires_at)
       SELECT t.team_id, $2, $4::bigint, now() + make_interval(secs => $6::float8)
         FROM t WHERE $3::uuid IS NULL
       RETURNING lease_id, credits
     )
     SELECT g.lease_id, g.credits, t.budget_mode, t.credits_per_dollar, t.tokens_per_credit,
            t.cost_markup_percentage, t.remaining
       FROM t CROSS JOIN (SELECT * FROM topped UNION ALL SELECT * FROM opened) AS g`,
    [
      req.teamId,
      req.replicaId,
      req.leaseId,
      req.credits,
      Math.max(0, Math.ceil(req.keepFree)),
      req.ttlSeconds,
    ],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    leaseId: row.lease_id,
    credits: Number(row.credits),
    settings: {
      budgetMode: row.budget_mode,
      creditsPerDollar: Number(row.credits_per_dollar),
      tokensPerCredit: Number(row.tokens_per_credit),
      markupPercentage: Number(row.cost_markup_percentage),
    },
    remaining: Number(row.remaining),
  };
}

/**
 * Gives back `credits` of the lease (capped at what it holds), or all of it and deletes the row
 * when credits is null; ONE statement, the lease row locked before the team's, and the new values
 * computed from the locked rows (Postgres checks constraints on a tuple built from the snapshot's
 * version before it notices a concurrent commit). Returns what was given back (0 if gone).
 */
export async function returnLease(
  db: DataSource | EntityManager,
  leaseId: string,
  credits: number | null,
): Promise<number> {
  const rows = await preparedQuery<{ given: string }>(
    db,
    'tollgate_lease_return',
    `WITH l AS MATERIALIZED (
       SELECT lease_id, team_id, credits,
              (CASE WHEN $2::bigint IS NULL THEN credits
                    ELSE LEAST(credits, GREATEST(0, $2::bigint)) END)::bigint AS given
         FROM credit_leases WHERE lease_id = $1::uuid
          FOR UPDATE
     ),
     tl AS MATERIALIZED (
       SELECT t.team_id, t.credits_held FROM teams t
        WHERE t.team_id = (SELECT team_id FROM l WHERE given > 0)
          FOR NO KEY UPDATE
     ),
     gone AS (
       DELETE FROM credit_leases c USING l
        WHERE c.lease_id = l.lease_id AND $2::bigint IS NULL
       RETURNING c.lease_id
     ),
     kept AS (
       UPDATE credit_leases c SET credits = l.credits - l.given, updated_at = now()
         FROM l
        WHERE c.lease_id = l.lease_id AND $2::bigint IS NOT NULL AND l.given > 0
       RETURNING c.lease_id
     ),
     t AS (
       UPDATE teams t SET credits_held = tl.credits_held - l.given, updated_at = now()
         FROM l JOIN tl ON tl.team_id = l.team_id
        WHERE t.team_id = l.team_id AND l.given > 0
       RETURNING t.team_id
     )
     SELECT COALESCE((SELECT given FROM l), 0) AS given`,
    [leaseId, credits === null ? null : Math.max(0, Math.floor(credits))],
  );
  return Number(rows[0]?.given ?? 0);
}

/**
 * Extends every lease of the replica to now() + ttl (locked in lease_id order); returns the ids
 * still present.
 */
export async function renewLeases(
  db: DataSource | EntityManager,
  replicaId: string,
  ttlSeconds: number,
): Promise<string[]> {
  const rows = await returning<{ lease_id: string }>(
    db,
    `UPDATE credit_leases c
        SET expires_at = now() + make_interval(secs => $2::float8), updated_at = now()
      WHERE c.lease_id IN (SELECT lease_id FROM credit_leases WHERE replica_id = $1
                            ORDER BY lease_id FOR UPDATE)
     RETURNING c.lease_id`,
    [replicaId, ttlSeconds],
  );
  return rows.map((r) => r.lease_id);
}

/**
 * Deletes expired leases (a dead replica's) and gives their credits back to their teams'
 * credits_held; team rows are locked in team_id order. SKIP LOCKED lets several replicas sweep
 * at once, and a lease renewed meanwhile is re-checked under its lock and kept.
 */
export async function releaseExpiredLeases(
  db: DataSource | EntityManager,
  limit = 500,
): Promise<number> {
  const rows: Array<{ released: string }> = await db.query(
    `WITH l AS (
       DELETE FROM credit_leases
        WHERE lease_id IN (SELECT lease_id FROM credit_leases
                            WHERE expires_at < now()
                            ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING team_id, credits
     ),
     per_team AS (
       SELECT team_id, sum(credits)::bigint AS credits
         FROM l GROUP BY team_id HAVING sum(credits) > 0
     ),
     locked AS (
       SELECT t.team_id, t.credits_held FROM teams t
        WHERE t.team_id IN (SELECT team_id FROM per_team)
        ORDER BY t.team_id FOR NO KEY UPDATE
     ),
     t AS (
       UPDATE teams SET credits_held = locked.credits_held - p.credits, updated_at = now()
         FROM per_team p JOIN locked USING (team_id)
        WHERE teams.team_id = p.team_id
       RETURNING teams.team_id
     )
     SELECT COALESCE(sum(credits), 0) AS released FROM l`,
    [limit],
  );
  return Number(rows[0]?.released ?? 0);
}

/** Whether any replica leases part of the team's balance (asked only when an exact hold is refused). */
export async function teamHasLeases(
  db: DataSource | EntityManager,
  teamId: string,
): Promise<boolean> {
  const rows: Array<{ leased: boolean }> = await db.query(
    'SELECT EXISTS (SELECT 1 FROM credit_leases WHERE team_id = $1 AND credits > 0) AS leased',
    [teamId],
  );
  return rows[0]?.leased === true;
}
