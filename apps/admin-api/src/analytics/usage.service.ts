import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { notFound } from '@app/http';
import { DateRange, parseDateRange } from './date-range';
import {
  DailyUsage,
  ModelUsage,
  toDailyUsage,
  toModelUsage,
  toTeamUsage,
  toUsageTotals,
  UsageRow,
} from './usage.mapper';

/** Window filter on `created_at` ($2 = from, $3 = to, both nullable). */
const IN_RANGE = `($2::timestamptz IS NULL OR created_at >= $2::timestamptz)
  AND ($3::timestamptz IS NULL OR created_at < $3::timestamptz)`;
const ORG_TEAMS = `team_id IN (SELECT team_id FROM teams WHERE organization_id = $1)`;

/**
 * Jobs (by created_at), calls / tokens / costs (by the call's created_at) and credits used
 * (deduction ledger rows) of an organization's teams, aggregated per `dimension` in Postgres.
 */
const perDimension = (dimension: string) => `
  j AS (SELECT ${dimension} AS dim, count(*) AS jobs,
               count(*) FILTER (WHERE status = 'completed') AS jobs_completed,
               count(*) FILTER (WHERE status = 'failed') AS jobs_failed
          FROM jobs WHERE ${ORG_TEAMS} AND ${IN_RANGE} GROUP BY 1),
  c AS (SELECT ${dimension} AS dim, count(*) AS calls,
               count(*) FILTER (WHERE status <> 'success') AS failed_calls,
               sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
               sum(total_tokens) AS tokens, sum(client_cost_usd) AS cost_usd,
               sum(provider_cost_usd) AS provider_cost_usd
          FROM llm_calls WHERE ${ORG_TEAMS} AND ${IN_RANGE} GROUP BY 1),
  cr AS (SELECT ${dimension} AS dim, sum(-credits_amount) AS credits
           FROM credit_transactions
          WHERE transaction_type = 'deduction' AND ${ORG_TEAMS} AND ${IN_RANGE} GROUP BY 1)`;

const USAGE_COLUMNS = `COALESCE(sum(j.jobs), 0) AS jobs,
  COALESCE(sum(j.jobs_completed), 0) AS jobs_completed,
  COALESCE(sum(j.jobs_failed), 0) AS jobs_failed,
  COALESCE(sum(c.calls), 0) AS calls, COALESCE(sum(c.failed_calls), 0) AS failed_calls,
  COALESCE(sum(c.prompt_tokens), 0) AS prompt_tokens,
  COALESCE(sum(c.completion_tokens), 0) AS completion_tokens,
  COALESCE(sum(c.tokens), 0) AS tokens, COALESCE(sum(c.cost_usd), 0) AS cost_usd,
  COALESCE(sum(c.provider_cost_usd), 0) AS provider_cost_usd,
  COALESCE(sum(cr.credits), 0) AS credits`;

const DAY = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;

@Injectable()
export class UsageService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Totals and a per-team breakdown (every team of the organization, idle ones included). */
  async organizationUsage(orgId: string, from?: string, to?: string) {
    const range = parseDateRange(from, to);
    await this.requireOrganization(orgId);
    const rows = await this.byTeam(orgId, range);
    const totals = rows.find((r) => r.is_total);
    return {
      organization_id: orgId,
      from: range.from,
      to: range.to,
      totals: toUsageTotals(totals),
      teams: rows.filter((r) => !r.is_total).map(toTeamUsage),
    };
  }

  /** Daily (UTC), per-team and per-model series. */
  async organizationAnalytics(orgId: string, from?: string, to?: string) {
    const range = parseDateRange(from, to);
    await this.requireOrganization(orgId);
    const [daily, teams, models] = await Promise.all([
      this.daily(orgId, range),
      this.byTeam(orgId, range),
      this.byModel(orgId, range),
    ]);
    return {
      organization_id: orgId,
      from: range.from,
      to: range.to,
      daily,
      by_team: teams.filter((r) => !r.is_total).map(toTeamUsage),
      by_model: models,
    };
  }

  /** One row per team plus the grand total (GROUPING SETS), in a single query. */
  private byTeam(orgId: string, range: DateRange): Promise<UsageRow[]> {
    return this.db.query(
      `WITH ${perDimension('team_id')}
       SELECT t.team_id AS dim, t.team_alias, GROUPING(t.team_id) = 1 AS is_total, ${USAGE_COLUMNS}
         FROM teams t
         LEFT JOIN j ON j.dim = t.team_id
         LEFT JOIN c ON c.dim = t.team_id
         LEFT JOIN cr ON cr.dim = t.team_id
        WHERE t.organization_id = $1
        GROUP BY GROUPING SETS ((t.team_id, t.team_alias), ())
        ORDER BY is_total, t.team_id`,
      [orgId, range.from, range.to],
    );
  }

  private async daily(orgId: string, range: DateRange): Promise<DailyUsage[]> {
    const rows: UsageRow[] = await this.db.query(
      `WITH ${perDimension(DAY)},
       days AS (SELECT dim FROM j UNION SELECT dim FROM c UNION SELECT dim FROM cr)
       SELECT d.dim, false AS is_total, ${USAGE_COLUMNS}
         FROM days d
         LEFT JOIN j ON j.dim = d.dim
         LEFT JOIN c ON c.dim = d.dim
         LEFT JOIN cr ON cr.dim = d.dim
        GROUP BY d.dim ORDER BY d.dim`,
      [orgId, range.from, range.to],
    );
    return rows.map(toDailyUsage);
  }

  /** Per model actually served (the requested name when no deployment was reached). */
  private async byModel(orgId: string, range: DateRange): Promise<ModelUsage[]> {
    const rows: Array<Record<keyof ModelUsage, string>> = await this.db.query(
      `SELECT COALESCE(model_name, model_requested) AS model,
              count(DISTINCT job_id) AS jobs, count(*) AS calls,
              count(*) FILTER (WHERE status <> 'success') AS failed_calls,
              COALESCE(sum(prompt_tokens), 0) AS prompt_tokens,
              COALESCE(sum(completion_tokens), 0) AS completion_tokens,
              COALESCE(sum(total_tokens), 0) AS tokens,
              COALESCE(sum(client_cost_usd), 0) AS cost_usd,
              COALESCE(sum(provider_cost_usd), 0) AS provider_cost_usd,
              COALESCE(sum(credits_charged), 0) AS credits,
              COALESCE(round(avg(latency_ms)), 0) AS avg_latency_ms
         FROM llm_calls
        WHERE ${ORG_TEAMS} AND ${IN_RANGE}
        GROUP BY 1 ORDER BY 1`,
      [orgId, range.from, range.to],
    );
    return rows.map(toModelUsage);
  }

  private async requireOrganization(orgId: string): Promise<void> {
    const rows: unknown[] = await this.db.query(
      'SELECT 1 FROM organizations WHERE organization_id = $1',
      [orgId],
    );
    if (rows.length === 0) throw notFound('Organization', orgId);
  }
}
