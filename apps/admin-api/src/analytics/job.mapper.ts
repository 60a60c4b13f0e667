import type { JobStatus, LlmCallRow } from '@app/db';

export interface JobRow {
  job_id: string;
  team_id: string;
  key_id: string | null;
  job_type: string;
  user_id: string | null;
  status: JobStatus;
  metadata: Record<string, unknown>;
  error_message: string | null;
  credits_charged: string;
  credit_applied: boolean;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  total_calls: string;
  successful_calls: string;
  total_tokens: string;
  total_cost_usd: string;
  provider_cost_usd: string;
  keyset_at: string;
  keyset_id: string;
}

/** A whole llm_calls row (SELECT *). */
export type CallRow = LlmCallRow;

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const num = (v: string | null) => (v === null ? null : Number(v));

export function toJobSummary(row: JobRow) {
  const total = Number(row.total_calls);
  const successful = Number(row.successful_calls);
  return {
    job_id: row.job_id,
    team_id: row.team_id,
    key_id: row.key_id,
    job_type: row.job_type,
    user_id: row.user_id,
    status: row.status,
    metadata: row.metadata,
    error_message: row.error_message,
    created_at: row.created_at.toISOString(),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    costs: {
      total_calls: total,
      successful_calls: successful,
      failed_calls: total - successful,
      total_tokens: Number(row.total_tokens),
      /** Client cost (with markup), as the team sees it. */
      total_cost_usd: Number(row.total_cost_usd),
      provider_cost_usd: Number(row.provider_cost_usd),
      credits_charged: Number(row.credits_charged),
      credit_applied: row.credit_applied,
    },
  };
}

export function toCallDetail(row: CallRow) {
  return {
    call_id: row.call_id,
    key_id: row.key_id,
    model: row.model_name ?? row.model_requested,
    model_requested: row.model_requested,
    model_id: row.model_id,
    provider: row.provider,
    provider_model: row.provider_model,
    attempt: row.attempt,
    prompt_tokens: row.prompt_tokens,
    completion_tokens: row.completion_tokens,
    total_tokens: row.total_tokens,
    cached_tokens: row.cached_tokens,
    cache_write_tokens: row.cache_write_tokens,
    reasoning_tokens: row.reasoning_tokens,
    cost_usd: Number(row.client_cost_usd),
    provider_cost_usd: Number(row.provider_cost_usd),
    input_price_per_million: num(row.input_price_per_million),
    output_price_per_million: num(row.output_price_per_million),
    markup_percentage: row.markup_percentage,
    credits_charged: Number(row.credits_charged),
    latency_ms: row.latency_ms,
    status: row.status,
    error_class: row.error_class,
    error_message: row.error_message,
    purpose: row.purpose,
    streamed: row.streamed,
    finish_reason: row.finish_reason,
    call_metadata: row.call_metadata,
    created_at: row.created_at.toISOString(),
  };
}
