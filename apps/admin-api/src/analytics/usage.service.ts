import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { notFound } from '@app/http';
import { DateRange, parseDateRange, wholeDays } from './date-range';
import {
  CallPart,
  JobPart,
  toDailyUsage,
  toModelUsage,
  toTeamUsage,
  toUsageTotals,
  UsageRow,
} from './usage.mapper';

/*
 * Parameters of every statement: $1 organization, $2..$3 the range [from, to), $4..$5 its whole
 * UTC days (wholeDays in date-range.ts). Whole days are read from the daily rollups of migration
 * AnalyticsRollups (kept by triggers); only the partial days at the edges, [$2, $4) and [$5, $3),
 * from raw rows. A null bound is unbounded; an edge with a null bound is empty.
 */
const EDGES = [
  `created_at >= $2::timestamptz AND created_at < $4::timestamptz`,
  `created_at >= $5::timestamptz AND created_at < $3::timestamptz`,
];
const WHOLE_DAYS = `($4::timestamptz IS NULL OR day >= $4::timestamptz)
  AND ($5::timestamptz IS NULL OR day < $5::timestamptz)`;
/** Of an analytics_model_jobs row `m`: its first day is before the whole days, its last in them. */
const STARTED_BEFORE_WHOLE_DAYS = `m.multi_day AND $4::timestamptz IS NOT NULL
  AND m.first_day < $4::timestamptz AND m.last_day >= $4::timestamptz`;
/** A raw call of analytics_model_jobs row `m` falls in the whole days. */
const CALL_IN_WHOLE_DAYS = `EXISTS (
  SELECT 1 FROM llm_calls
   WHERE team_id = m.team_id AND COALESCE(model_name, model_requested) = m.model
     AND job_id = m.job_id
     AND ($4::timestamptz IS NULL OR created_at >= $4::timestamptz)
     AND ($5::timestamptz IS NULL OR created_at < $5::timestamptz))`;

/**
 * The UTC day of `created_at` in integer arithmetic (no time zone lookup per row), spelled as in
 * the statistics of migration AnalyticsIndexes, which tell the planner how many days there are.
 */
const UTC_DAY = `date_bin('1 day', created_at, '2000-01-01 00:00:00+00')`;
const MODEL = `COALESCE(model_name, model_requested)`;

interface Cells {
  /** rollup table and its columns (whole days) */
  rollup: string;
  columns: string;
  /** raw table, the same sums over its rows, grouped by (edges) */
  raw: string;
  sums: string;
  groupBy: string;
  /** extra conditions on the rollup's and the raw table's rows */
  rollupWhere?: string;
  rawWhere?: string;
}

/**
 * Per team of the organization ($1), on that team's indexes (LATERAL): the rollup's rows of the
 * whole days, then the same sums over the raw rows of each edge. The parts are per (team, day[,
 * model]) cells, summed the same way whichever side they come from.
 */
const perTeam = (c: Cells) => `
  SELECT t.team_id, x.* FROM teams t
   CROSS JOIN LATERAL (
     SELECT ${c.columns} FROM ${c.rollup}
      WHERE team_id = t.team_id AND ${WHOLE_DAYS} ${c.rollupWhere ?? ''}
     ${EDGES.map(
       (edge) => `UNION ALL
     SELECT ${c.sums} FROM ${c.raw}
      WHERE team_id = t.team_id AND ${edge} ${c.rawWhere ?? ''}
      GROUP BY ${c.groupBy}`,
     ).join('\n     ')}) x
   WHERE t.organization_id = $1`;

/** Calls per (team, day, model): the rollup's columns, and the same sums over raw rows. */
const CALL_CELLS = perTeam({
  rollup: 'analytics_call_days',
  columns: `day, model, calls, failed_calls, prompt_tokens, completion_tokens, tokens, cost_usd,
            provider_cost_usd, call_credits, latency_ms`,
  raw: 'llm_calls',
  sums: `${UTC_DAY}, ${MODEL}, count(*), count(*) FILTER (WHERE status <> 'success'),
         sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(client_cost_usd),
         sum(provider_cost_usd), sum(credits_charged), sum(latency_ms)`,
  groupBy: '1, 2',
});
/** Jobs (by created_at) per (team, day); `credits` comes from the deductions' cells. */
const JOB_CELLS = perTeam({
  rollup: 'analytics_job_days',
  columns: 'day, jobs, jobs_completed, jobs_failed, NULL::numeric AS credits',
  rollupWhere: 'AND jobs > 0',
  raw: 'jobs',
  sums: `${UTC_DAY}, count(*), count(*) FILTER (WHERE status = 'completed'),
         count(*) FILTER (WHERE status = 'failed'), NULL::numeric`,
  groupBy: '1',
});
/** Credits deducted (ledger) per (team, day), shaped as job cells without jobs. */
const DEDUCTION_CELLS = perTeam({
  rollup: 'analytics_deduction_days',
  columns: 'day, NULL::bigint AS jobs, NULL::bigint, NULL::bigint, credits',
  raw: 'credit_transactions',
  sums: `${UTC_DAY}, NULL::bigint, NULL::bigint, NULL::bigint, sum(-credits_amount)`,
  rawWhere: `AND transaction_type = 'deduction'`,
  groupBy: '1',
});

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

@Injectable()
export class UsageService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Totals and a per-team breakdown (every team of the organization, idle ones included). */
  async organizationUsage(orgId: string, from?: string, to?: string) {
    const range = parseDateRange(from, to);
    await this.requireOrganization(orgId);
    const [teams, calls, jobs] = await Promise.all([
      this.teams(orgId),
      this.query<CallPart>(
        `SELECT ${kind('team_id')}, team_id AS dim, ${CALL_SUMS}
           FROM (${CALL_CELLS}) c
          GROUP BY GROUPING SETS ((team_id), ())`,
        orgId,
        range,
      ),
      this.query<JobPart>(
        `SELECT ${kind('team_id')}, team_id AS dim, ${JOB_SUMS}
           FROM (${JOB_CELLS} UNION ALL ${DEDUCTION_CELLS}) j
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
           FROM (${CALL_CELLS}) c
          GROUP BY GROUPING SETS ((team_id), (day), (model))
          ORDER BY kind, dim`,
        orgId,
        range,
      ),
      this.query<JobPart>(
        `SELECT ${kind('team_id', 'day')}, COALESCE(team_id, ${DATE}) AS dim, ${JOB_SUMS}
           FROM (${JOB_CELLS} UNION ALL ${DEDUCTION_CELLS}) j
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
   * per team (a job's calls all carry the job's team). Over the whole days: the jobs whose first
   * call with the model fell on one of them (first_jobs), plus the jobs that started before them
   * and had a call in them (multi-day jobs, few: a partial index); over the edges: the edge
   * calls' jobs with no call in the whole days (not counted already). An edge call's job with a
   * call in the whole days has calls on two days or more, so only multi-day jobs are looked up.
   */
  private async modelJobs(orgId: string, range: DateRange): Promise<Map<string | null, string>> {
    const rows = await this.query<{ model: string; jobs: string }>(
      `SELECT x.model, sum(x.jobs) AS jobs
         FROM teams t
        CROSS JOIN LATERAL (
          SELECT model, first_jobs AS jobs FROM analytics_call_days
           WHERE team_id = t.team_id AND ${WHOLE_DAYS}
          UNION ALL
          SELECT model, 1 FROM analytics_model_jobs m
           WHERE team_id = t.team_id AND ${STARTED_BEFORE_WHOLE_DAYS} AND ${CALL_IN_WHOLE_DAYS}
          UNION ALL
          SELECT model, count(*)
            FROM (SELECT DISTINCT team_id, model, job_id FROM (${EDGES.map(
              (edge) => `
                    SELECT team_id, ${MODEL} AS model, job_id FROM llm_calls
                     WHERE team_id = t.team_id AND ${edge}`,
            ).join(' UNION ALL')}) edges) e
           WHERE NOT EXISTS (
                   SELECT 1 FROM analytics_model_jobs m
                    WHERE team_id = t.team_id AND multi_day AND model = e.model
                      AND job_id = e.job_id AND ${CALL_IN_WHOLE_DAYS})
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
    const whole = wholeDays(range);
    return this.db.query(sql, [orgId, range.from, range.to, whole.from, whole.to]);
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
