import { DataSource } from 'typeorm';
import { notFound } from '@app/http';
import { DateRange, parseDateRange } from '../src/analytics/date-range';
import {
  CallPart,
  JobPart,
  toDailyUsage,
  toModelUsage,
  toTeamUsage,
  toUsageTotals,
  UsageRow,
} from '../src/analytics/usage.mapper';

/** Window filter on `created_at` ($2 = from, $3 = to, both nullable). */
const IN_RANGE = `($2::timestamptz IS NULL OR created_at >= $2::timestamptz)
  AND ($3::timestamptz IS NULL OR created_at < $3::timestamptz)`;

/**
 * The UTC day of `created_at` in integer arithmetic (no time zone lookup per row), spelled as in
 * the statistics of migration AnalyticsIndexes, which tell the planner how many days there are.
 */
const UTC_DAY = `date_bin('1 day', created_at, '2000-01-01 00:00:00+00')`;
const MODEL = `COALESCE(model_name, model_requested)`;

/**
 * `select` over `table` once per team of the organization ($1), on that team's index (LATERAL):
 * the aggregation runs before any join, and never scans another organization's rows.
 */
const perTeam = (table: string, select: string, rest = '') => `
  SELECT t.team_id, x.* FROM teams t
   CROSS JOIN LATERAL (
     SELECT ${select} FROM ${table} WHERE team_id = t.team_id AND ${IN_RANGE} ${rest}) x
   WHERE t.organization_id = $1`;

const CALLS = `count(*) AS calls, count(*) FILTER (WHERE status <> 'success') AS failed_calls,
  sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
  sum(total_tokens) AS tokens, sum(client_cost_usd) AS cost_usd,
  sum(provider_cost_usd) AS provider_cost_usd`;
const JOBS = `count(*) AS jobs, count(*) FILTER (WHERE status = 'completed') AS jobs_completed,
  count(*) FILTER (WHERE status = 'failed') AS jobs_failed`;
const DEDUCTED = `sum(-credits_amount) AS credits`;
const IS_DEDUCTION = `AND transaction_type = 'deduction'`;
const BY_DAY = 'GROUP BY 1';

/** Sums of per-team partial aggregates: exact (counts and costs stay integer and numeric). */
const sums = (...columns: string[]) =>
  columns.map((c) => `COALESCE(sum(${c}), 0) AS ${c}`).join(', ');
const CALL_SUMS = sums(
  'calls',
  'failed_calls',
  'prompt_tokens',
  'completion_tokens',
  'tokens',
  'cost_usd',
  'provider_cost_usd',
);
const JOB_SUMS = sums('jobs', 'jobs_completed', 'jobs_failed', 'credits');

/** Labels a GROUPING SETS row by the first of `columns` it is grouped by ('total' if none). */
const kind = (...columns: string[]) =>
  `CASE ${columns.map((c) => `WHEN GROUPING(${c}) = 0 THEN '${c}'`).join(' ')} ELSE 'total' END AS kind`;
const DATE = `to_char(day AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;

/**
 * The organization usage and analytics as computed before the daily rollups (migration
 * AnalyticsRollups): every aggregate straight from the raw rows. The rollup-reading UsageService
 * must answer exactly this (analytics-rollups.e2e-spec.ts).
 */
export class RawUsageService {
  constructor(private readonly db: DataSource) {}

  /** Totals and a per-team breakdown (every team of the organization, idle ones included). */
  async organizationUsage(orgId: string, from?: string, to?: string) {
    const range = parseDateRange(from, to);
    await this.requireOrganization(orgId);
    const [teams, calls, jobs] = await Promise.all([
      this.teams(orgId),
      this.query<CallPart>(
        `SELECT ${kind('team_id')}, team_id AS dim, ${CALL_SUMS}
           FROM (${perTeam('llm_calls', CALLS)}) c
          GROUP BY GROUPING SETS ((team_id), ())`,
        orgId,
        range,
      ),
      this.query<JobPart>(
        `SELECT ${kind('team_id')}, team_id AS dim, ${JOB_SUMS}
           FROM (${perTeam('jobs', JOBS)}) j
           JOIN (${perTeam('credit_transactions', DEDUCTED, IS_DEDUCTION)}) cr USING (team_id)
          GROUP BY GROUPING SETS ((team_id), ())`,
        orgId,
        range,
      ),
    ]);
    return {
      organization_id: orgId,
      from: range.from,
      to: range.to,
      totals: toUsageTotals(merge([{ dim: null }], 'total', calls, jobs)[0]),
      teams: merge(teams, 'team_id', calls, jobs).map(toTeamUsage),
    };
  }

  /** Daily (UTC), per-team and per-model series. */
  async organizationAnalytics(orgId: string, from?: string, to?: string) {
    const range = parseDateRange(from, to);
    await this.requireOrganization(orgId);
    // separate statements, so calls, jobs and distinct jobs are counted on separate connections
    const [teams, calls, jobs, modelJobs] = await Promise.all([
      this.teams(orgId),
      this.query<CallPart>(
        `SELECT ${kind('team_id', 'day', 'model')}, COALESCE(team_id, ${DATE}, model) AS dim,
                ${CALL_SUMS}, COALESCE(sum(call_credits), 0) AS call_credits,
                COALESCE(round(sum(latency_ms) / sum(calls)), 0) AS avg_latency_ms
           FROM (${perTeam(
             'llm_calls',
             `${UTC_DAY} AS day, ${MODEL} AS model, ${CALLS},
              sum(credits_charged) AS call_credits, sum(latency_ms) AS latency_ms`,
             'GROUP BY 1, 2',
           )}) c
          GROUP BY GROUPING SETS ((team_id), (day), (model))
          ORDER BY kind, dim`,
        orgId,
        range,
      ),
      this.query<JobPart>(
        `SELECT ${kind('team_id', 'day')}, COALESCE(team_id, ${DATE}) AS dim, ${JOB_SUMS}
           FROM (${perTeam('jobs', `${UTC_DAY} AS day, ${JOBS}`, BY_DAY)}) j
           FULL JOIN (${perTeam('credit_transactions', `${UTC_DAY} AS day, ${DEDUCTED}`, `${IS_DEDUCTION} ${BY_DAY}`)}) cr
          USING (team_id, day)
          GROUP BY GROUPING SETS ((team_id), (day))`,
        orgId,
        range,
      ),
      this.modelJobs(orgId, range),
    ]);
    const days = [
      ...new Set([...calls, ...jobs].filter((r) => r.kind === 'day').map((r) => r.dim)),
    ];
    return {
      organization_id: orgId,
      from: range.from,
      to: range.to,
      daily: merge(
        days.sort().map((dim) => ({ dim })),
        'day',
        calls,
        jobs,
      ).map(toDailyUsage),
      by_team: merge(teams, 'team_id', calls, jobs).map(toTeamUsage),
      by_model: calls
        .filter((r) => r.kind === 'model')
        .map((r) => toModelUsage(r, modelJobs.get(r.dim) ?? '0')),
    };
  }

  /**
   * Distinct jobs per model actually served (the requested name when no deployment was reached),
   * per team off its (team_id, model, job_id) index: a job's calls all carry the job's team.
   */
  private async modelJobs(orgId: string, range: DateRange): Promise<Map<string | null, string>> {
    const rows = await this.query<{ model: string; jobs: string }>(
      `SELECT x.model, sum(x.jobs) AS jobs
         FROM teams t
        CROSS JOIN LATERAL (
          SELECT model, count(*) AS jobs
            FROM (SELECT DISTINCT ${MODEL} AS model, job_id
                    FROM llm_calls WHERE team_id = t.team_id AND ${IN_RANGE}) p
           GROUP BY 1) x
        WHERE t.organization_id = $1
        GROUP BY 1`,
      orgId,
      range,
    );
    return new Map(rows.map((r) => [r.model, r.jobs]));
  }

  /** The organization's teams, in the order the breakdowns list them. */
  private teams(orgId: string): Promise<Array<{ dim: string; team_alias: string | null }>> {
    return this.db.query(
      'SELECT team_id AS dim, team_alias FROM teams WHERE organization_id = $1 ORDER BY team_id',
      [orgId],
    );
  }

  private query<T>(sql: string, orgId: string, range: DateRange): Promise<T[]> {
    return this.db.query(sql, [orgId, range.from, range.to]);
  }

  private async requireOrganization(orgId: string): Promise<void> {
    const rows: unknown[] = await this.db.query(
      'SELECT 1 FROM organizations WHERE organization_id = $1',
      [orgId],
    );
    if (rows.length === 0) throw notFound('Organization', orgId);
  }
}

/** `keys` with the calls and jobs parts of kind `of` merged in by dim (absent = zeros). */
function merge<K extends { dim: string | null }>(
  keys: K[],
  of: string,
  calls: CallPart[],
  jobs: JobPart[],
): Array<K & Partial<UsageRow>> {
  const byDim = <P extends { kind: string; dim: string | null }>(parts: P[]) =>
    new Map(parts.filter((p) => p.kind === of).map((p) => [p.dim, p]));
  const [c, j] = [byDim(calls), byDim(jobs)];
  return keys.map((k) => ({ ...c.get(k.dim), ...j.get(k.dim), ...k }));
}
