/** An aggregate row: Postgres counts and sums arrive as strings. */
export interface UsageRow {
  dim: string | null;
  team_alias?: string | null;
  is_total: boolean;
  jobs: string;
  jobs_completed: string;
  jobs_failed: string;
  calls: string;
  failed_calls: string;
  prompt_tokens: string;
  completion_tokens: string;
  tokens: string;
  cost_usd: string;
  provider_cost_usd: string;
  credits: string;
}

export interface UsageTotals {
  jobs: number;
  jobs_completed: number;
  jobs_failed: number;
  calls: number;
  failed_calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens: number;
  /** Client cost (with the team's markup). */
  cost_usd: number;
  provider_cost_usd: number;
  /** Credits deducted from the balance in the window. */
  credits_used: number;
}

export type TeamUsage = UsageTotals & { team_id: string; team_alias: string | null };
export type DailyUsage = Omit<UsageTotals, 'credits_used'> & { date: string; credits: number };

export interface ModelUsage {
  model: string;
  jobs: number;
  calls: number;
  failed_calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens: number;
  cost_usd: number;
  provider_cost_usd: number;
  /** Credits charged on the calls themselves (consumption modes; job_based jobs charge the job). */
  credits: number;
  avg_latency_ms: number;
}

export function toUsageTotals(row: UsageRow | undefined): UsageTotals {
  const n = (v: string | undefined) => Number(v ?? 0);
  return {
    jobs: n(row?.jobs),
    jobs_completed: n(row?.jobs_completed),
    jobs_failed: n(row?.jobs_failed),
    calls: n(row?.calls),
    failed_calls: n(row?.failed_calls),
    prompt_tokens: n(row?.prompt_tokens),
    completion_tokens: n(row?.completion_tokens),
    tokens: n(row?.tokens),
    cost_usd: n(row?.cost_usd),
    provider_cost_usd: n(row?.provider_cost_usd),
    credits_used: n(row?.credits),
  };
}

export const toTeamUsage = (row: UsageRow): TeamUsage => ({
  team_id: row.dim ?? '',
  team_alias: row.team_alias ?? null,
  ...toUsageTotals(row),
});

export const toDailyUsage = (row: UsageRow): DailyUsage => {
  const { credits_used, ...totals } = toUsageTotals(row);
  return { date: row.dim ?? '', ...totals, credits: credits_used };
};

export const toModelUsage = (row: Record<keyof ModelUsage, string>): ModelUsage => ({
  model: row.model,
  jobs: Number(row.jobs),
  calls: Number(row.calls),
  failed_calls: Number(row.failed_calls),
  prompt_tokens: Number(row.prompt_tokens),
  completion_tokens: Number(row.completion_tokens),
  tokens: Number(row.tokens),
  cost_usd: Number(row.cost_usd),
  provider_cost_usd: Number(row.provider_cost_usd),
  credits: Number(row.credits),
  avg_latency_ms: Number(row.avg_latency_ms),
});
