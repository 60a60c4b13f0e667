import { affordableCompletionTokens, CallRecord, HoldOutcome } from '@app/billing';
import { TollgateError } from '@app/http';
import type { ChatResult, Usage } from '../providers/provider.types';
import { UpstreamError } from '../providers/provider.types';
import type { CompletionResult } from '../jobs/job-completion.service';
import type { CallSuccess } from './calls.service';
import { LlmCallDto } from './dto/llm-call.dto';
import { DEFAULT_COMPLETION_CAP } from './estimate';

/**
 * A request without max_tokens whose hold is less than the full estimate (the team cannot pay
 * DEFAULT_COMPLETION_CAP tokens of answer) is sent with the max_tokens its hold pays for, so the
 * provider never generates more than the team can be charged for.
 */
export function capToHold(
  body: LlmCallDto,
  held: Extract<HoldOutcome, { kind: 'held' }>,
  promptTokens: number,
  prices: { inputPricePerMillion: number; outputPricePerMillion: number },
): LlmCallDto {
  if (body.max_tokens !== undefined || held.settings.budgetMode === 'job_based') return body;
  const affordable = affordableCompletionTokens(held.settings, held.credits, promptTokens, {
    inputPerMillion: prices.inputPricePerMillion,
    outputPerMillion: prices.outputPricePerMillion,
  });
  if (affordable >= DEFAULT_COMPLETION_CAP) return body;
  return Object.assign(new LlmCallDto(), body, { max_tokens: Math.max(1, affordable) });
}

export const ZERO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

export function assertHeld(outcome: HoldOutcome): Extract<HoldOutcome, { kind: 'held' }> {
  switch (outcome.kind) {
    case 'held':
      return outcome;
    case 'job_not_found':
      throw new TollgateError('NOT_FOUND', 'Job not found');
    case 'other_team':
      throw new TollgateError('FORBIDDEN', 'Cannot access jobs for a different team');
    case 'job_closed':
      throw new TollgateError('JOB_CLOSED', `Job is already ${outcome.status}`);
    case 'key_budget':
      throw new TollgateError('KEY_BUDGET_EXCEEDED', 'Key budget exceeded');
    case 'insufficient':
      throw new TollgateError('INSUFFICIENT_CREDITS', 'Insufficient credits');
  }
}

export function classify(err: unknown, timedOut: boolean): UpstreamError {
  if (timedOut) return new UpstreamError('timeout', 'Upstream request timed out');
  if (err instanceof UpstreamError) return err;
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError') return new UpstreamError('timeout', 'Upstream request timed out');
  return new UpstreamError('connection', 'Upstream connection failed');
}

/**
 * What the client hears when no attempt answered: a provider's refusal of the request itself is
 * the caller's 400, a provider rate limit a 429 to retry later, a timeout 504, the rest 502. The
 * provider's own words are passed on, except for an auth failure: that one is about the
 * gateway's credential, which the team must not learn anything about.
 */
export function toGatewayError(last: UpstreamError | null): TollgateError {
  if (last?.kind === 'timeout') {
    return new TollgateError('UPSTREAM_TIMEOUT', 'Upstream request timed out');
  }
  const status = last?.status ? ` (status ${last.status})` : '';
  if (last?.kind === 'auth') {
    return new TollgateError(
      'UPSTREAM_ERROR',
      `Upstream auth error${status}: the provider refused the gateway's credential for this model`,
    );
  }
  if (last?.kind === 'bad_request') {
    return new TollgateError(
      'UPSTREAM_BAD_REQUEST',
      `Upstream rejected the request${status}: ${last.message.slice(0, 200)}`,
    );
  }
  if (last?.kind === 'rate_limited') {
    return new TollgateError(
      'UPSTREAM_RATE_LIMITED',
      `Upstream rate limited${status}: ${last.message.slice(0, 200)}`,
      { 'Retry-After': String(Math.max(1, Math.ceil((last.retryAfterMs ?? 1000) / 1000))) },
    );
  }
  return new TollgateError(
    'UPSTREAM_ERROR',
    `Upstream ${last?.kind.replace('_', ' ') ?? 'error'}${status}: ${last?.message.slice(0, 200) ?? 'no deployment answered'}`,
  );
}

export function toCallResponse(callId: string, result: ChatResult, success: CallSuccess) {
  return {
    call_id: callId,
    response: {
      content: result.content,
      finish_reason: result.finish_reason,
      ...(result.tool_calls?.length ? { tool_calls: result.tool_calls } : {}),
    },
    metadata: {
      model: success.deployment.modelName,
      prompt_tokens: success.usage.prompt_tokens,
      completion_tokens: success.usage.completion_tokens,
      tokens_used:
        success.usage.total_tokens || success.usage.prompt_tokens + success.usage.completion_tokens,
      latency_ms: success.latencyMs,
    },
  };
}

/** A one-call job's completion (the shape `complete` stores), from its call rows in memory. */
export function completionOf(
  jobId: string,
  status: 'completed' | 'failed',
  completedAt: string,
  calls: CallRecord[],
  charged: number,
  remaining: number,
): CompletionResult {
  const successful = calls.filter((c) => c.status === 'success').length;
  return {
    job_id: jobId,
    status,
    completed_at: completedAt,
    costs: {
      total_calls: calls.length,
      successful_calls: successful,
      failed_calls: calls.length - successful,
      total_tokens: calls.reduce((sum, c) => sum + c.total_tokens, 0),
      total_cost_usd: calls.reduce((sum, c) => sum + c.client_cost_usd, 0),
      credits_charged: charged,
      credit_applied: charged > 0,
      credits_remaining: remaining,
    },
  };
}
