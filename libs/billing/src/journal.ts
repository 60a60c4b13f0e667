import type { DataSource, EntityManager } from 'typeorm';
import { CALL_COLUMNS, insertCalls } from './charges';
import type { CallRecord } from './charges';
import { preparedQuery } from '@app/db';

export interface JournalJob {
  job_id: string;
  team_id: string;
  key_id: string | null;
  job_type: string;
  user_id: string | null;
  metadata: Record<string, unknown>;
  status: 'completed' | 'failed';
  error_message: string | null;
  /** ISO timestamps */
  created_at: string;
  started_at: string | null;
  completed_at: string;
}

export interface JournalEntry {
  job: JournalJob;
  /**
   * the lease the charge comes out of; null = the lease is gone: charge from the team's
   * available, capped so the balance stays ≥ 0 (such an entry is applied alone)
   */
  leaseId: string | null;
  /** credits due (≥ 0); the call row with charged = true carries it as credits_charged */
  charge: number;
  /** ledger reason, e.g. "LLM call <id>" or "Job <id> completed" */
  reason: string;
  /** upstream attempts of the call, in order (every row has job_id = job.job_id); may be empty */
  calls: CallRecord[];
}

/**
 * A call on an explicit job (a row already in Postgres, opened by `POST /api/jobs`): its attempts
 * and charge. No job row is written; the record is idempotent on its first call row's id.
 */
export interface JobCallEntry {
  joined: { job_id: string; team_id: string; key_id: string | null };
  /** as JournalEntry.leaseId; null only with charge 0 (a job_based job's later calls) or alone */
  leaseId: string | null;
  charge: number;
  reason: string;
  /** upstream attempts of the call, in order (every row has job_id = joined.job_id); not empty */
  calls: CallRecord[];
  /**
   * Set on a job_based job's first call that took the job's credit from its lease (1 credit on
   * top of `charge`, which is 0): the credit leaves the lease either way — into a hold of the job
   * that lives this many seconds while the job is still pending (the job starts: in_progress),
   * else (another call's hold took the job's credit first, or the job is closed) back to the
   * team's available credits. Without a lease (leaseId null) the hold is taken from the
   * available credits when there is one.
   */
  jobHoldSeconds?: number;
}

/** Credits a record takes out of its lease: its charge, and a job's credit moved to a hold. */
export function leaseCredits(record: JournalRecord): number {
  const hold = 'joined' in record && record.jobHoldSeconds !== undefined ? 1 : 0;
  return Math.max(0, Math.floor(record.charge)) + hold;
}

export type JournalRecord = JournalEntry | JobCallEntry;

/** What a record is idempotent on: its one-call job's id, or its first call row's id. */
export function recordKey(record: JournalRecord): string {
  if ('job' in record) return record.job.job_id;
  const first = record.calls[0];
  if (!first) throw new Error('applyJournal: a job call record without a call row');
  return first.call_id;
}

/** The job a record belongs to. */
export function recordJobId(record: JournalRecord): string {
  return 'job' in record ? record.job.job_id : record.joined.job_id;
}

/** Records are named by recordKey: a one-call job's id, a job call's first call id. */
export interface JournalOutcome {
  /** records written by this statement */
  applied: string[];
  /** records already in Postgres (an earlier attempt committed): nothing written for them */
  duplicates: string[];
  /**
   * true = nothing was written because a lease is missing or holds less than its fresh entries
   * charge: re-apply those entries one by one with leaseId null
   */
  leaseShort: boolean;
  /** the credits actually charged per applied record (capped for leaseId-null entries) */
  charged: Record<string, number>;
}

interface JournalRow {
  entry_key: string;
  fresh: boolean;
  charged: string | null;
  ok: boolean;
}

/**
 * Writes a batch of settled one-call jobs and calls on explicit jobs in ONE statement: jobs, call
 * rows, one ledger row per charged record, the teams' used/held, the leases and the keys' spend.
 * Records already in Postgres (the one-call job's row, an explicit job call's first call row) are
 * skipped; the fresh ones go in with a plain INSERT, so a twin applying the same records at the
 * same time makes one of the two fail with 23505, and its retry sees them as duplicates.
 * Leases and then teams are locked (in id order) before anything is computed. Not for use inside
 * a transaction: the retry needs a statement of its own.
 */
export async function applyJournal(
  db: DataSource | EntityManager,
  entries: JournalRecord[],
  json: readonly string[] = entries.map((e) => JSON.stringify(e)),
): Promise<JournalOutcome> {
  if (entries.length === 0) return { applied: [], duplicates: [], leaseShort: false, charged: {} };
  if (json.length !== entries.length) {
    throw new Error('applyJournal: one JSON text per entry');
  }
  if (entries.length > 1 && entries.some((e) => e.leaseId === null && leaseCredits(e) > 0)) {
    throw new Error('applyJournal: an entry without a lease must be applied alone');
  }
  if (new Set(entries.map(recordKey)).size !== entries.length) {
    throw new Error('applyJournal: a job appears twice in the batch');
  }
  const batch = `[${json.join(',')}]`;
  let outcome: JournalOutcome;
  try {
    outcome = await writeBatch(db, batch);
  } catch (err) {
    if (pgCode(err) !== '23505') throw err;
    return writeBatch(db, batch);
  }
  // A twin that committed during our statement leaves its leases short while its jobs were
  // still invisible to us: a second look (fresh snapshot) sees them as duplicates instead.
  return outcome.leaseShort ? writeBatch(db, batch) : outcome;
}

/**
 * The batch's one parameter: the records as they are, the texts joined into a JSON array (the
 * journal passes the texts it appended to the stream: a record is serialised once); the
 * statement reads the jobs, the call rows and the charges out of it.
 */
async function writeBatch(db: DataSource | EntityManager, batch: string): Promise<JournalOutcome> {
  const rows = await preparedQuery<JournalRow>(
    db,
    'tollgate_journal_batch',
    `WITH r AS MATERIALIZED (
       SELECT (x.ord - 1)::int AS ord, x.rec
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(rec, ord)
     ),
     -- a record: JournalEntry (its job) or JobCallEntry (the explicit job it joins); named by
     -- recordKey, its charge floored at 0 as leaseCredits counts it
     e AS MATERIALIZED (
       SELECT r.ord, j.job_id, j.team_id, j.key_id, j.job_type, j.user_id, j.metadata, j.status,
              j.error_message, j.created_at, j.started_at, j.completed_at,
              (r.rec->>'leaseId')::uuid AS lease_id,
              GREATEST(0, floor((r.rec->>'charge')::numeric))::bigint AS charge,
              r.rec->>'reason' AS reason,
              (CASE WHEN r.rec ? 'job' THEN j.job_id::text
                    ELSE r.rec #>> '{calls,0,call_id}' END)::uuid AS entry_key,
              NOT (r.rec ? 'job') AS joined,
              (CASE WHEN r.rec ? 'job' THEN NULL ELSE r.rec->>'jobHoldSeconds' END)::float8
                AS job_hold_seconds
         FROM r, jsonb_to_record(COALESCE(r.rec->'job', r.rec->'joined')) AS j(job_id uuid,
              team_id varchar, key_id uuid, job_type varchar, user_id varchar, metadata jsonb,
              status varchar, error_message text, created_at timestamptz, started_at timestamptz,
              completed_at timestamptz)
     ),
     -- a one-call job is new while its row is not there; a call on an explicit job while its
     -- first call row is not
     fresh AS MATERIALIZED (
       -- hold: the job's credit this record moves out of its lease (leaseCredits)
       SELECT e.*, (CASE WHEN e.job_hold_seconds IS NOT NULL THEN 1 ELSE 0 END)::bigint AS hold
         FROM e
        WHERE CASE WHEN e.joined
                   THEN NOT EXISTS (SELECT 1 FROM llm_calls c WHERE c.call_id = e.entry_key)
                   ELSE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.job_id = e.job_id) END
     ),
     need AS (
       SELECT lease_id, team_id,
              sum(charge + hold)::bigint
                AS charge
         FROM fresh WHERE lease_id IS NOT NULL GROUP BY lease_id, team_id
     ),
     ls AS MATERIALIZED (
       SELECT c.lease_id, c.team_id, c.credits FROM credit_leases c
        WHERE c.lease_id IN (SELECT lease_id FROM need)
        ORDER BY c.lease_id FOR UPDATE
     ),
     -- the explicit jobs of the calls, after leases and before teams (a hold and a job's close
     -- lock the job, then the team)
     jl AS MATERIALIZED (
       SELECT j.job_id, j.status FROM jobs j
        WHERE j.job_id IN (SELECT job_id FROM fresh WHERE joined)
          AND (SELECT count(*) FROM ls) >= 0
        ORDER BY j.job_id FOR NO KEY UPDATE
     ),
     -- teams after leases (the order grantLease and returnLease take), in team_id order
     ts AS MATERIALIZED (
       SELECT t.team_id, t.credits_allocated, t.credits_used, t.credits_held, t.budget_mode,
              t.credits_allocated - t.credits_used AS balance,
              t.credits_allocated - t.credits_used - t.credits_held AS available
         FROM teams t
        WHERE t.team_id IN (SELECT team_id FROM fresh) AND (SELECT count(*) FROM jl) >= 0
        ORDER BY t.team_id FOR NO KEY UPDATE
     ),
     ok AS (
       SELECT NOT EXISTS (
         SELECT 1 FROM need n LEFT JOIN ls ON ls.lease_id = n.lease_id AND ls.team_id = n.team_id
          WHERE ls.lease_id IS NULL OR ls.credits < n.charge) AS ok
     ),
     cost AS (
       SELECT f.*, (CASE WHEN f.lease_id IS NULL THEN LEAST(f.charge, GREATEST(0, ts.available))
                         ELSE f.charge END)::bigint AS charged,
              ts.balance, ts.available
         FROM fresh f LEFT JOIN ts ON ts.team_id = f.team_id
        WHERE (SELECT ok FROM ok)
     ),
     calc AS MATERIALIZED (
       SELECT cost.*,
              (balance - sum(charged) OVER w + charged)::bigint AS before,
              (balance - sum(charged) OVER w)::bigint AS after,
              (available - sum(CASE WHEN lease_id IS NULL THEN charged ELSE 0 END) OVER w)::bigint
                AS remaining
         FROM cost
       WINDOW w AS (PARTITION BY team_id ORDER BY ord ROWS UNBOUNDED PRECEDING)
     ),
     -- per pending job, the first record that took its credit becomes the job's hold (from its
     -- lease; without one, from the available credits if there is one); the others' credit,
     -- and every one for a job no longer pending, goes back to the available credits
     hj AS MATERIALIZED (
       SELECT DISTINCT ON (f.job_id) f.entry_key, f.job_id, f.team_id, f.job_hold_seconds
         FROM fresh f JOIN jl ON jl.job_id = f.job_id AND jl.status = 'pending'
         JOIN ts ON ts.team_id = f.team_id
        WHERE f.job_hold_seconds IS NOT NULL AND (SELECT ok FROM ok)
          AND (f.lease_id IS NOT NULL OR ts.available >= 1)
        ORDER BY f.job_id, f.ord
     ),
     -- credits_held moves: leased charges leave it (now used); a job's credit moved from a lease
     -- to its hold stays in it, one given back leaves it, one held without a lease enters it
     moves AS (
       SELECT team_id, sum(used)::bigint AS used, sum(held)::bigint AS held FROM (
         SELECT team_id, charged AS used,
                -(CASE WHEN lease_id IS NOT NULL THEN charged ELSE 0 END) AS held
           FROM calc
         UNION ALL
         SELECT f.team_id, 0,
                CASE WHEN hj.entry_key IS NOT NULL THEN (CASE WHEN f.lease_id IS NULL THEN 1 ELSE 0 END)
                     WHEN f.lease_id IS NOT NULL THEN -1 ELSE 0 END
           FROM fresh f LEFT JOIN hj ON hj.entry_key = f.entry_key
          WHERE f.job_hold_seconds IS NOT NULL AND (SELECT ok FROM ok)
       ) m GROUP BY team_id
     ),
     -- a pending job with a call starts: a job_based one once its credit is held (as the exact
     -- hold does), a consumption one with its first call
     js AS (
       UPDATE jobs j SET status = 'in_progress', started_at = now(), updated_at = now()
         FROM jl
        WHERE j.job_id = jl.job_id AND jl.status = 'pending' AND (SELECT ok FROM ok)
          AND (jl.job_id IN (SELECT job_id FROM hj)
               OR jl.job_id IN (SELECT f.job_id FROM fresh f JOIN ts ON ts.team_id = f.team_id
                                 WHERE f.joined AND ts.budget_mode <> 'job_based'))
       RETURNING j.job_id
     ),
     hi AS (
       INSERT INTO credit_holds (team_id, job_id, key_id, credits, expires_at)
       SELECT team_id, job_id, NULL, 1, now() + make_interval(secs => job_hold_seconds) FROM hj
       RETURNING hold_id
     ),
     calls AS MATERIALIZED (
       SELECT a.*, e.entry_key
         FROM r JOIN e ON e.ord = r.ord,
              jsonb_to_recordset(r.rec->'calls') AS a(${CALL_COLUMNS})
        WHERE e.entry_key IN (SELECT entry_key FROM calc)
     ),
     totals AS (
       SELECT entry_key, count(*)::int AS total_calls,
              count(*) FILTER (WHERE status = 'success')::int AS successful_calls,
              count(*) FILTER (WHERE status <> 'success')::int AS failed_calls,
              COALESCE(sum(total_tokens), 0)::bigint AS total_tokens,
              COALESCE(sum(client_cost_usd::numeric(20, 10)), 0) AS total_cost_usd
         FROM calls GROUP BY entry_key
     ),
     -- new values from the locked rows, not t.col + x: Postgres checks constraints on a tuple
     -- built from the snapshot's version before it sees that a concurrent commit changed it
     tu AS (
       UPDATE teams t
          SET credits_allocated = ts.credits_allocated,
              credits_used = ts.credits_used + s.used,
              credits_held = ts.credits_held + s.held,
              updated_at = now()
         FROM moves s
         JOIN ts ON ts.team_id = s.team_id
        WHERE t.team_id = s.team_id AND (s.used > 0 OR s.held <> 0)
       RETURNING t.team_id
     ),
     lu AS (
       UPDATE credit_leases c SET credits = ls.credits - s.used, updated_at = now()
         FROM (SELECT lease_id,
                      sum(charge + hold)::bigint
                        AS used
                 FROM calc WHERE lease_id IS NOT NULL GROUP BY lease_id) s
         JOIN ls ON ls.lease_id = s.lease_id
        WHERE c.lease_id = s.lease_id AND s.used > 0
       RETURNING c.lease_id
     ),
     ku AS (
       UPDATE virtual_keys v SET spend = v.spend + s.used, total_spend = v.total_spend + s.used
         FROM (SELECT key_id, sum(charged)::bigint AS used
                 FROM calc WHERE key_id IS NOT NULL GROUP BY key_id) s
        WHERE v.key_id = s.key_id AND s.used > 0
       RETURNING v.key_id
     ),
     led AS (
       INSERT INTO credit_transactions
         (team_id, job_id, key_id, transaction_type, credits_amount, credits_before,
          credits_after, reason)
       SELECT team_id, job_id, key_id, 'deduction', -charged, before, after, reason
         FROM calc WHERE charged > 0
        ORDER BY team_id, ord
       RETURNING transaction_id
     ),
     ji AS (
       INSERT INTO jobs
         (job_id, team_id, key_id, job_type, user_id, status, metadata, error_message,
          credits_charged, credit_applied, completion_result, created_at, started_at, completed_at,
          updated_at)
       SELECT c.job_id, c.team_id, c.key_id, c.job_type, c.user_id, c.status,
              COALESCE(c.metadata, '{}'::jsonb), c.error_message, c.charged, c.charged > 0,
              jsonb_build_object(
                'job_id', c.job_id,
                'status', c.status,
                'completed_at',
                  to_char(c.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'costs', jsonb_build_object(
                  'total_calls', COALESCE(s.total_calls, 0),
                  'successful_calls', COALESCE(s.successful_calls, 0),
                  'failed_calls', COALESCE(s.failed_calls, 0),
                  'total_tokens', COALESCE(s.total_tokens, 0),
                  'total_cost_usd', COALESCE(s.total_cost_usd, 0)::float8,
                  'credits_charged', c.charged,
                  'credit_applied', c.charged > 0,
                  'credits_remaining', c.remaining)),
              c.created_at, c.started_at, c.completed_at, now()
         FROM calc c LEFT JOIN totals s ON s.entry_key = c.entry_key
        WHERE NOT c.joined
       RETURNING job_id
     ),
     ci AS (
       ${insertCalls(
         'c.charged',
         `calls r JOIN calc c ON c.entry_key = r.entry_key LEFT JOIN ji ON ji.job_id = r.job_id
          WHERE c.joined OR ji.job_id IS NOT NULL`,
       )}
       RETURNING call_id
     )
     SELECT e.entry_key, f.entry_key IS NOT NULL AS fresh, c.charged, (SELECT ok FROM ok) AS ok
       FROM e LEFT JOIN fresh f ON f.entry_key = e.entry_key
       LEFT JOIN calc c ON c.entry_key = e.entry_key
      ORDER BY e.ord`,
    [batch],
  );
  const outcome: JournalOutcome = { applied: [], duplicates: [], leaseShort: false, charged: {} };
  for (const row of rows) {
    if (!row.fresh) outcome.duplicates.push(row.entry_key);
    else if (!row.ok) outcome.leaseShort = true;
    else {
      outcome.applied.push(row.entry_key);
      outcome.charged[row.entry_key] = Number(row.charged);
    }
  }
  return outcome;
}

/** Postgres error code of a failed query (TypeORM copies it from the driver error). */
function pgCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
