import type { Job, LlmCallRow } from '@app/db';

export function toJobResponse(job: Job) {
  return {
    job_id: job.jobId,
    team_id: job.teamId,
    job_type: job.jobType,
    user_id: job.userId,
    status: job.status,
    metadata: job.metadata,
    error_message: job.errorMessage,
    credits_charged: job.creditsCharged,
    credit_applied: job.creditApplied,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    completed_at: job.completedAt?.toISOString() ?? null,
  };
}

export interface JobCosts {
  total_calls: number;
  successful_calls: number;
  failed_calls: number;
  total_tokens: number;
  total_cost_usd: number;
  credits_charged: number;
  credit_applied: boolean;
  credits_remaining: number;
}

/** The llm_calls columns a team sees of each call of its job. */
export const CALL_COST_COLUMNS = [
  'call_id',
  'model_name',
  'model_requested',
  'prompt_tokens',
  'completion_tokens',
  'cached_tokens',
  'cache_write_tokens',
  'reasoning_tokens',
  'client_cost_usd',
  'latency_ms',
  'status',
] as const satisfies ReadonlyArray<keyof LlmCallRow>;

export type CallCostRow = Pick<LlmCallRow, (typeof CALL_COST_COLUMNS)[number]>;

/** Teams see the client cost (with markup) only. */
export function toCallCost(row: CallCostRow) {
  return {
    call_id: row.call_id,
    model: row.model_name ?? row.model_requested,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    cached_tokens: row.cached_tokens,
    cache_write_tokens: row.cache_write_tokens,
    reasoning_tokens: row.reasoning_tokens,
    cost_usd: Number(row.client_cost_usd),
    latency_ms: row.latency_ms,
    status: row.status,
  };
}
