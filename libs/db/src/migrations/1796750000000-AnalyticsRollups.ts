import { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * Daily rollups for the organization analytics (apps/admin-api/src/analytics), kept exact by
 * statement-level triggers: one upsert per statement over its transition table, so a journal
 * batch of N calls costs one statement per rollup, not N.
 *
 * - analytics_call_days: calls, tokens, costs, credits and latency per (team, UTC day, model),
 *   and first_jobs: the jobs whose first call with that model (in that team) fell on that day.
 * - analytics_model_jobs: per (team, model, job) its first and last UTC day with a call, so the
 *   distinct jobs of a model over whole days are sum(first_jobs) plus the few jobs that started
 *   before the range and still had calls in it (multi-day jobs, on a partial index).
 * - analytics_job_days: jobs by created_at day and status (in buckets by job id, so concurrent
 *   job writes of one team do not queue on one row); analytics_deduction_days: ledger
 *   deductions by day.
 *
 * llm_calls and credit_transactions are append-only (nothing updates or deletes them; a trigger
 * refuses it so the rollups cannot drift); jobs change status, and every change is rolled up.
 */

/** The UTC day of `created_at`, spelled as in the analytics queries and their statistics. */
const DAY = `date_bin('1 day', created_at, '2000-01-01 00:00:00+00')`;

/**
 * A team's jobs of one day are counted in JOB_BUCKETS rows, a job's row chosen by its id: every
 * job a team creates or closes would otherwise upsert the same (team, day) row and queue on its
 * lock until commit (concurrent job creations of one team serialised behind each other). Readers
 * sum the buckets; a job's status changes stay in its own bucket.
 */
const JOB_BUCKETS = 16;
const JOB_BUCKET = `(hashtext(job_id::text) & ${JOB_BUCKETS - 1})`;

/** Job counters of rows `rows` (job_id, and `sign`: +1 new, −1 old) per (team, day, bucket). */
const jobDeltas = (rows: string) => `
      SELECT team_id, ${DAY} AS day, ${JOB_BUCKET} AS bucket, sum(sign) AS jobs,
             COALESCE(sum(sign) FILTER (WHERE status = 'completed'), 0) AS jobs_completed,
             COALESCE(sum(sign) FILTER (WHERE status = 'failed'), 0) AS jobs_failed
        FROM (${rows}) r
       GROUP BY 1, 2, 3`;

/** Applies job counter deltas (skipping all-zero ones: most status changes move no counter). */
const applyJobDeltas = (rows: string) => `
    INSERT INTO analytics_job_days AS d (team_id, day, bucket, jobs, jobs_completed, jobs_failed)
    SELECT * FROM (${jobDeltas(rows)}) x
     WHERE (jobs, jobs_completed, jobs_failed) <> (0, 0, 0)
     ORDER BY team_id, day, bucket
    ON CONFLICT (team_id, day, bucket) DO UPDATE
       SET jobs = d.jobs + excluded.jobs,
           jobs_completed = d.jobs_completed + excluded.jobs_completed,
           jobs_failed = d.jobs_failed + excluded.jobs_failed`;

/**
 * The rollups of the rows of the teams `teams` selects (an SQL condition on team_id), which must
 * have no rollup rows yet: the migration's backfill, and the bench seed's after a bulk insert
 * with the triggers off (a set-based fill costs a fraction of the triggers' upserts).
 */
export function rollupBackfill(teams: string): string[] {
  return [
    `INSERT INTO analytics_model_jobs (team_id, model, job_id, first_day, last_day, calls)
     SELECT team_id, COALESCE(model_name, model_requested), job_id, min(${DAY}), max(${DAY}),
            count(*)
       FROM llm_calls WHERE ${teams} GROUP BY 1, 2, 3`,
    `INSERT INTO analytics_call_days
     SELECT c.*, COALESCE(f.first_jobs, 0)
       FROM (SELECT team_id, ${DAY} AS day, COALESCE(model_name, model_requested) AS model,
                    count(*), count(*) FILTER (WHERE status <> 'success'), sum(prompt_tokens),
                    sum(completion_tokens), sum(total_tokens), sum(client_cost_usd),
                    sum(provider_cost_usd), sum(credits_charged), sum(latency_ms)
               FROM llm_calls WHERE ${teams} GROUP BY 1, 2, 3) c
       LEFT JOIN (SELECT team_id, first_day AS day, model, count(*) AS first_jobs
                    FROM analytics_model_jobs WHERE ${teams} GROUP BY 1, 2, 3) f
            USING (team_id, day, model)`,
    `INSERT INTO analytics_job_days
     ${jobDeltas(`SELECT 1 AS sign, job_id, team_id, created_at, status FROM jobs WHERE ${teams}`)}`,
    `INSERT INTO analytics_deduction_days
     SELECT team_id, ${DAY}, count(*), sum(-credits_amount)
       FROM credit_transactions WHERE transaction_type = 'deduction' AND ${teams}
      GROUP BY 1, 2`,
  ];
}

export class AnalyticsRollups1796750000000 implements MigrationInterface {
  name = 'AnalyticsRollups1796750000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);

    await q(`
      CREATE TABLE analytics_call_days (
        team_id varchar(128) NOT NULL REFERENCES teams (team_id),
        day timestamptz NOT NULL,
        model varchar(255) NOT NULL,
        calls bigint NOT NULL,
        failed_calls bigint NOT NULL,
        prompt_tokens bigint NOT NULL,
        completion_tokens bigint NOT NULL,
        tokens bigint NOT NULL,
        cost_usd numeric NOT NULL,
        provider_cost_usd numeric NOT NULL,
        call_credits numeric NOT NULL,
        latency_ms bigint NOT NULL,
        first_jobs bigint NOT NULL,
        PRIMARY KEY (team_id, day, model))`);
    await q(`
      CREATE TABLE analytics_model_jobs (
        team_id varchar(128) NOT NULL REFERENCES teams (team_id),
        model varchar(255) NOT NULL,
        job_id uuid NOT NULL,
        first_day timestamptz NOT NULL,
        last_day timestamptz NOT NULL,
        calls bigint NOT NULL,
        -- first_day before the last upsert moved it (NULL: inserted): the trigger's RETURNING
        -- reads it to move the job's first_jobs count to its new first day
        replaced_first_day timestamptz,
        -- stored, so the planner has statistics on how few jobs span days
        multi_day boolean GENERATED ALWAYS AS (first_day < last_day) STORED,
        PRIMARY KEY (team_id, model, job_id))`);
    await q(`
      CREATE INDEX "IDX_analytics_model_jobs_multi_day" ON analytics_model_jobs (team_id, first_day)
       INCLUDE (last_day, model, job_id) WHERE multi_day`);
    await q(`
      CREATE TABLE analytics_job_days (
        team_id varchar(128) NOT NULL REFERENCES teams (team_id),
        day timestamptz NOT NULL,
        bucket smallint NOT NULL,
        jobs bigint NOT NULL,
        jobs_completed bigint NOT NULL,
        jobs_failed bigint NOT NULL,
        PRIMARY KEY (team_id, day, bucket))`);
    await q(`
      CREATE TABLE analytics_deduction_days (
        team_id varchar(128) NOT NULL REFERENCES teams (team_id),
        day timestamptz NOT NULL,
        deductions bigint NOT NULL,
        credits numeric NOT NULL,
        PRIMARY KEY (team_id, day))`);

    // Calls: the (team, model, job) upsert returns where each job's first day now is; the day
    // upsert adds the calls' sums and moves first_jobs along.
    await q(`
      CREATE FUNCTION analytics_calls_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        WITH added AS (
          SELECT team_id, ${DAY} AS day, COALESCE(model_name, model_requested) AS model, job_id,
                 status, prompt_tokens, completion_tokens, total_tokens, client_cost_usd,
                 provider_cost_usd, credits_charged, latency_ms
            FROM new_calls
        ),
        jobs AS (
          INSERT INTO analytics_model_jobs AS m (team_id, model, job_id, first_day, last_day, calls)
          SELECT team_id, model, job_id, min(day), max(day), count(*)
            FROM added
           GROUP BY 1, 2, 3
           ORDER BY 1, 2, 3
          ON CONFLICT (team_id, model, job_id) DO UPDATE
             SET first_day = least(m.first_day, excluded.first_day),
                 last_day = greatest(m.last_day, excluded.last_day),
                 calls = m.calls + excluded.calls,
                 replaced_first_day = m.first_day
          RETURNING team_id, model, first_day, replaced_first_day
        ),
        firsts AS (
          SELECT team_id, first_day AS day, model, 1 AS n
            FROM jobs WHERE replaced_first_day IS DISTINCT FROM first_day
          UNION ALL
          SELECT team_id, replaced_first_day, model, -1
            FROM jobs WHERE replaced_first_day <> first_day
        ),
        cells AS (
          SELECT team_id, day, model, count(*) AS calls,
                 count(*) FILTER (WHERE status <> 'success') AS failed_calls,
                 sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
                 sum(total_tokens) AS tokens, sum(client_cost_usd) AS cost_usd,
                 sum(provider_cost_usd) AS provider_cost_usd, sum(credits_charged) AS call_credits,
                 sum(latency_ms) AS latency_ms, 0 AS first_jobs
            FROM added GROUP BY 1, 2, 3
          UNION ALL
          SELECT team_id, day, model, 0, 0, 0, 0, 0, 0, 0, 0, 0, sum(n)
            FROM firsts GROUP BY 1, 2, 3
        )
        INSERT INTO analytics_call_days AS d
        SELECT team_id, day, model, sum(calls), sum(failed_calls), sum(prompt_tokens),
               sum(completion_tokens), sum(tokens), sum(cost_usd), sum(provider_cost_usd),
               sum(call_credits), sum(latency_ms), sum(first_jobs)
          FROM cells
         GROUP BY 1, 2, 3
         ORDER BY 1, 2, 3
        ON CONFLICT (team_id, day, model) DO UPDATE
           SET calls = d.calls + excluded.calls,
               failed_calls = d.failed_calls + excluded.failed_calls,
               prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
               completion_tokens = d.completion_tokens + excluded.completion_tokens,
               tokens = d.tokens + excluded.tokens,
               cost_usd = d.cost_usd + excluded.cost_usd,
               provider_cost_usd = d.provider_cost_usd + excluded.provider_cost_usd,
               call_credits = d.call_credits + excluded.call_credits,
               latency_ms = d.latency_ms + excluded.latency_ms,
               first_jobs = d.first_jobs + excluded.first_jobs;
        RETURN NULL;
      END $$`);
    await q(`
      CREATE TRIGGER analytics_calls_inserted AFTER INSERT ON llm_calls
      REFERENCING NEW TABLE AS new_calls
      FOR EACH STATEMENT EXECUTE FUNCTION analytics_calls_inserted()`);

    await q(`
      CREATE FUNCTION analytics_deductions_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO analytics_deduction_days AS d (team_id, day, deductions, credits)
        SELECT team_id, ${DAY}, count(*), sum(-credits_amount)
          FROM new_transactions
         WHERE transaction_type = 'deduction'
         GROUP BY 1, 2
         ORDER BY 1, 2
        ON CONFLICT (team_id, day) DO UPDATE
           SET deductions = d.deductions + excluded.deductions,
               credits = d.credits + excluded.credits;
        RETURN NULL;
      END $$`);
    await q(`
      CREATE TRIGGER analytics_deductions_inserted AFTER INSERT ON credit_transactions
      REFERENCING NEW TABLE AS new_transactions
      FOR EACH STATEMENT EXECUTE FUNCTION analytics_deductions_inserted()`);

    await q(`
      CREATE FUNCTION analytics_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: the analytics rollups count every row once', TG_TABLE_NAME
          USING ERRCODE = 'restrict_violation';
      END $$`);
    for (const table of ['llm_calls', 'credit_transactions']) {
      await q(`
        CREATE TRIGGER analytics_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION analytics_append_only()`);
    }

    // Jobs: inserted, status (or team, or day) changed, deleted.
    await q(`
      CREATE FUNCTION analytics_jobs_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${applyJobDeltas('SELECT 1 AS sign, job_id, team_id, created_at, status FROM new_jobs')};
        RETURN NULL;
      END $$`);
    await q(`
      CREATE FUNCTION analytics_jobs_updated() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${applyJobDeltas(`
          SELECT c.* FROM new_jobs n JOIN old_jobs o USING (job_id)
           CROSS JOIN LATERAL (VALUES (1, job_id, n.team_id, n.created_at, n.status),
                                      (-1, job_id, o.team_id, o.created_at, o.status))
                   AS c (sign, job_id, team_id, created_at, status)
           WHERE (n.team_id, n.created_at, n.status) IS DISTINCT FROM (o.team_id, o.created_at, o.status)`)};
        RETURN NULL;
      END $$`);
    await q(`
      CREATE FUNCTION analytics_jobs_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        ${applyJobDeltas('SELECT -1 AS sign, job_id, team_id, created_at, status FROM old_jobs')};
        DELETE FROM analytics_job_days d
         WHERE d.jobs = 0
           AND (d.team_id, d.day, d.bucket) IN (SELECT team_id, ${DAY}, ${JOB_BUCKET} FROM old_jobs);
        RETURN NULL;
      END $$`);
    await q(`
      CREATE TRIGGER analytics_jobs_inserted AFTER INSERT ON jobs
      REFERENCING NEW TABLE AS new_jobs
      FOR EACH STATEMENT EXECUTE FUNCTION analytics_jobs_inserted()`);
    await q(`
      CREATE TRIGGER analytics_jobs_updated AFTER UPDATE ON jobs
      REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs
      FOR EACH STATEMENT EXECUTE FUNCTION analytics_jobs_updated()`);
    await q(`
      CREATE TRIGGER analytics_jobs_deleted AFTER DELETE ON jobs
      REFERENCING OLD TABLE AS old_jobs
      FOR EACH STATEMENT EXECUTE FUNCTION analytics_jobs_deleted()`);

    // Backfill: the triggers' sums over the rows already there (the tables are written under
    // SHARE locks, so no write lands between the backfill and the triggers taking over).
    await q(`LOCK TABLE llm_calls, jobs, credit_transactions IN SHARE MODE`);
    for (const sql of rollupBackfill('true')) await q(sql);
    for (const table of [
      'analytics_call_days',
      'analytics_model_jobs',
      'analytics_job_days',
      'analytics_deduction_days',
    ]) {
      await q(`ANALYZE ${table}`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    for (const table of ['llm_calls', 'credit_transactions']) {
      await q(`DROP TRIGGER analytics_append_only ON ${table}`);
    }
    await q(`DROP TRIGGER analytics_calls_inserted ON llm_calls`);
    await q(`DROP TRIGGER analytics_deductions_inserted ON credit_transactions`);
    for (const event of ['inserted', 'updated', 'deleted']) {
      await q(`DROP TRIGGER analytics_jobs_${event} ON jobs`);
      await q(`DROP FUNCTION analytics_jobs_${event}()`);
    }
    await q(`DROP FUNCTION analytics_append_only()`);
    await q(`DROP FUNCTION analytics_deductions_inserted()`);
    await q(`DROP FUNCTION analytics_calls_inserted()`);
    await q(
      `DROP TABLE analytics_deduction_days, analytics_job_days, analytics_model_jobs, analytics_call_days`,
    );
  }
}
