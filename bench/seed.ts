/**
 * Bulk rows written straight in SQL (generate_series), too many to create through the API in
 * the time a benchmark has: the virtual keys of the cache-miss run and the call history the
 * organization analytics are timed on.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import { hashVirtualKey, looksLikeVirtualKey, maskVirtualKey } from '../libs/auth/src/virtual-key';
import { rollupBackfill } from '../libs/db/src/migrations/1796750000000-AnalyticsRollups';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/**
 * The i-th benchmark key of `seed`: `sk-` + 64 hex characters, computed the same way here and
 * in SQL, so 100,000 keys are inserted without sending them and the client can still use any.
 */
export const benchKey = (seed: string, i: number) =>
  `sk-${md5(`${seed}:${i}`)}${md5(`${i}:${seed}`)}`;

/** Inserts `count` active keys of `teamId` (hash and mask as libs/auth makes them); seconds taken. */
export async function insertKeys(
  pg: Client,
  teamId: string,
  seed: string,
  count: number,
): Promise<number> {
  const t0 = performance.now();
  const batch = 50_000;
  for (let from = 0; from < count; from += batch) {
    await pg.query(
      `INSERT INTO virtual_keys (team_id, key_hash, masked_key, key_alias)
       SELECT $1::text, encode(sha256(convert_to(k, 'UTF8')), 'hex'),
              left(k, 7) || '…' || right(k, 4), 'bench-' || i
         FROM generate_series($3::int, $4::int) AS i,
              LATERAL (SELECT 'sk-' || md5($2::text || ':' || i) || md5(i || ':' || $2::text) AS k) AS x`,
      [teamId, seed, from, Math.min(count, from + batch) - 1],
    );
  }
  // The SQL must agree with libs/auth: same key shape, same hash, same mask.
  const probe = benchKey(seed, count - 1);
  if (!looksLikeVirtualKey(probe)) throw new Error(`bench key ${probe} is not a virtual key`);
  const rows = await pg.query<{ masked_key: string }>(
    'SELECT masked_key FROM virtual_keys WHERE key_hash = $1',
    [hashVirtualKey(probe)],
  );
  if (rows.rows[0]?.masked_key !== maskVirtualKey(probe)) {
    throw new Error('bench keys: SQL hash or mask differs from libs/auth/src/virtual-key.ts');
  }
  await pg.query('ANALYZE virtual_keys');
  return (performance.now() - t0) / 1000;
}

export interface CallHistory {
  teams: number;
  jobs: number;
  calls: number;
  ledgerRows: number;
  insertSeconds: number;
  vacuumSeconds: number;
}

/**
 * `calls` llm_calls rows (and their jobs, CALLS_PER_JOB each, and ledger rows) for `teams`
 * job_based teams of `orgId`, spread over the last 30 days, with books that balance: one
 * allocation per team, one deduction per completed job, credits_used = completed jobs.
 */
export async function insertCallHistory(
  pg: Client,
  orgId: string,
  teams: number,
  calls: number,
): Promise<CallHistory> {
  const perJob = 4;
  const jobs = Math.ceil(calls / perJob);
  const allocation = 10_000_000;
  const t0 = performance.now();
  // Job j (and its calls) happened (j × 7919 mod 30 days) seconds ago: spread, deterministic.
  const jobTime = `now() - interval '1 minute' - make_interval(secs => ((j::bigint * 7919) % 2592000)::float8)`;
  await pg.query('BEGIN');
  try {
    // triggers off for this transaction only (the analytics rollups' upserts would cost several
    // times the inserts): the rollups are filled by one backfill per table before the COMMIT
    await pg.query('SET LOCAL session_replication_role = replica');
    await pg.query(
      `INSERT INTO teams (team_id, organization_id, team_alias, budget_mode, credits_allocated)
       SELECT $1::text || '-t' || k, $1::text, 'Analytics team ' || k, 'job_based', $2::bigint
         FROM generate_series(0, $3::int - 1) AS k`,
      [orgId, allocation, teams],
    );
    await pg.query(
      `INSERT INTO credit_transactions
         (team_id, transaction_type, credits_amount, credits_before, credits_after, reason, created_at)
       SELECT $1::text || '-t' || k, 'allocation', $2::bigint, 0, $2::bigint, 'Bench allocation',
              now() - interval '31 days'
         FROM generate_series(0, $3::int - 1) AS k`,
      [orgId, allocation, teams],
    );
    await pg.query(
      `INSERT INTO jobs (job_id, team_id, job_type, status, credits_charged, credit_applied,
                         created_at, started_at, completed_at, updated_at)
       SELECT md5($1::text || ':job:' || j)::uuid, $1::text || '-t' || (j % $3::int),
              'bench-' || (j % 5), CASE WHEN j % 20 = 0 THEN 'failed' ELSE 'completed' END,
              CASE WHEN j % 20 = 0 THEN 0 ELSE 1 END, j % 20 <> 0,
              ts, ts, ts + interval '2 seconds', ts + interval '2 seconds'
         FROM generate_series(0, $2::int - 1) AS j, LATERAL (SELECT ${jobTime} AS ts) AS t`,
      [orgId, jobs, teams],
    );
    await pg.query(
      `INSERT INTO llm_calls (job_id, team_id, model_requested, model_name, provider, provider_model,
                              attempt, prompt_tokens, completion_tokens, total_tokens,
                              provider_cost_usd, client_cost_usd, input_price_per_million,
                              output_price_per_million, latency_ms, status, error_class, created_at)
       SELECT md5($1::text || ':job:' || j)::uuid, $1::text || '-t' || (j % $3::int), m, m,
              'openai-compatible', m, 1, p, c, p + c, (p + 2 * c) / 1e6, (p + 2 * c) / 1e6, 1, 2,
              200 + g % 700, CASE WHEN g % 33 = 0 THEN 'error' ELSE 'success' END,
              CASE WHEN g % 33 = 0 THEN 'upstream_error' END,
              ${jobTime} + make_interval(secs => (g % $4::int)::float8)
         FROM generate_series(0, $2::int - 1) AS g,
              LATERAL (SELECT g / $4::int AS j,
                              CASE g % 3 WHEN 0 THEN 'bench-model-b' ELSE 'bench-model' END AS m,
                              100 + g % 400 AS p, 20 + g % 300 AS c) AS x`,
      [orgId, calls, teams, perJob],
    );
    const ledger = await pg.query(
      `INSERT INTO credit_transactions
         (team_id, job_id, transaction_type, credits_amount, credits_before, credits_after, reason, created_at)
       SELECT team_id, job_id, 'deduction', -1, $2::bigint - (rn - 1), $2::bigint - rn,
              'Job ' || job_id || ' completed', completed_at
         FROM (SELECT team_id, job_id, completed_at,
                      row_number() OVER (PARTITION BY team_id ORDER BY completed_at, job_id) AS rn
                 FROM jobs
                WHERE status = 'completed'
                  AND team_id IN (SELECT team_id FROM teams WHERE organization_id = $1::text)) AS d`,
      [orgId, allocation],
    );
    await pg.query(
      `UPDATE teams t SET credits_used = d.used
         FROM (SELECT team_id, count(*) AS used FROM jobs
                WHERE status = 'completed'
                  AND team_id IN (SELECT team_id FROM teams WHERE organization_id = $1::text)
                GROUP BY team_id) AS d
        WHERE t.team_id = d.team_id`,
      [orgId],
    );
    const ofOrg = `team_id IN (SELECT team_id FROM teams WHERE organization_id = ${pg.escapeLiteral(orgId)})`;
    for (const sql of rollupBackfill(ofOrg)) await pg.query(sql);
    await pg.query('COMMIT');
    const insertSeconds = (performance.now() - t0) / 1000;
    // Autovacuum would get there on its own, in the middle of the load runs: do it now.
    const t1 = performance.now();
    // the rollups of migration AnalyticsRollups were filled by its triggers during the inserts
    await pg.query(
      `VACUUM (ANALYZE) jobs, llm_calls, credit_transactions, teams, analytics_call_days,
         analytics_model_jobs, analytics_job_days, analytics_deduction_days`,
    );
    return {
      teams,
      jobs,
      calls,
      ledgerRows: (ledger.rowCount ?? 0) + teams,
      insertSeconds,
      vacuumSeconds: (performance.now() - t1) / 1000,
    };
  } catch (err) {
    await pg.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
