/** A row of a GROUPING SETS aggregate: `kind` names the set, Postgres sums arrive as strings. */
interface Part {
  kind: string;
  dim: string | null;
}

/** Calls, tokens and costs of one team, day or model (or the total). */
export interface CallPart extends Part {
  calls: string;
  failed_calls: string;
  prompt_tokens: string;
  completion_tokens: string;
  tokens: string;
  cost_usd: string;
  provider_cost_usd: string;
  /** per model: credits charged on the calls themselves, and the mean latency */
  call_credits?: string;
  avg_latency_ms?: string;
}

/** Jobs (by their created_at) and credits deducted (ledger) of one team or day (or the total). */
export interface JobPart extends Part {
  jobs: string;
  jobs_completed: string;
  jobs_failed: string;
  credits: string;
}

/** A team, day or the total with its parts merged in; a missing part counts as zeros. */
export type UsageRow = Partial<Omit<CallPart, 'kind'> & Omit<JobPart, 'kind'>> & {
  dim: string | null;
  team_alias?: string | null;
};

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

export function toUsageTotals(row: UsageRow): UsageTotals {
  const n = (v: string | undefined) => Number(v ?? 0);
  return {
    jobs: n(row.jobs),
    jobs_completed: n(row.jobs_completed),
    jobs_failed: n(row.jobs_failed),
    calls: n(row.calls),
    failed_calls: n(row.failed_calls),
    prompt_tokens: n(row.prompt_tokens),
    completion_tokens: n(row.completion_tokens),
    tokens: n(row.tokens),
    cost_usd: n(row.cost_usd),
    provider_cost_usd: n(row.provider_cost_usd),
    credits_used: n(row.credits),
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

/** A model's calls part, with its distinct jobs counted apart. */
export const toModelUsage = (row: CallPart, jobs: string): ModelUsage => ({
  model: row.dim ?? '',
  jobs: Number(jobs),
  calls: Number(row.calls),
  failed_calls: Number(row.failed_calls),
  prompt_tokens: Number(row.prompt_tokens),
  completion_tokens: Number(row.completion_tokens),
  tokens: Number(row.tokens),
  cost_usd: Number(row.cost_usd),
  provider_cost_usd: Number(row.provider_cost_usd),
  credits: Number(row.call_credits ?? 0),
  avg_latency_ms: Number(row.avg_latency_ms ?? 0),
});
