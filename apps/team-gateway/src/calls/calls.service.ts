import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { TeamPrincipal } from '@app/auth';
import {
  affordableCompletionTokens,
  BudgetSettings,
  callCosts,
  CallRecord,
  consumptionCredits,
  holdForCall,
  HoldOutcome,
  HoldRequest,
  holdKeyBudget,
  settle,
  Settlement,
} from '@app/billing';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { ShutdownCoordinator, TollgateError } from '@app/http';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import type { ChatRequest, ChatResult, ProviderTarget, Usage } from '../providers/provider.types';
import { UpstreamError } from '../providers/provider.types';
import { ProvidersService } from '../providers/providers.service';
import { RateLimitService, RateTicket } from '../rate-limits/rate-limit.service';
import type { Deployment } from '../routing/resolver';
import { RoutingService } from '../routing/routing.service';
import { CallDrain, DrainTicket } from '../shutdown-drain';
import { LlmCallDto } from './dto/llm-call.dto';
import { DEFAULT_COMPLETION_CAP, estimatePromptTokens } from './estimate';

/** At most this many upstream attempts per call (deployments, then group models). */
const MAX_ATTEMPTS = 5;
/** Lifetime of a streamed call's hold: released earlier by its settle, this only bounds a crash. */
const STREAM_HOLD_SECONDS = 4 * 3600;

/** Everything decided before the first upstream byte: route plan, rate-limit ticket, hold. */
export interface PreparedCall {
  principal: TeamPrincipal;
  jobId: string;
  body: LlmCallDto;
  streamed: boolean;
  plan: Deployment[];
  holdId: string | null;
  settings: BudgetSettings;
  ticket: RateTicket;
  /** Failed attempts so far; stored with the final settle. */
  attempts: CallRecord[];
  /** Its place in the shutdown drain: cut at the deadline, left once settled. */
  inFlight: DrainTicket;
}

/** The attempt that answered, and what it used. */
export interface CallSuccess {
  deployment: Deployment;
  usage: Usage;
  finishReason: string | null;
  latencyMs: number;
  /** Streams cut by the client are recorded as 'aborted' and still billed. */
  status?: 'success' | 'aborted';
  /** A stream that failed after its first byte: recorded as an error, what was delivered billed. */
  error?: UpstreamError;
}

/** The deployment that answered; usage is the result's (zero until a stream reports it). */
export type Answered = Omit<CallSuccess, 'finishReason' | 'status' | 'error'>;

export interface SettledCall extends Settlement {
  callId: string;
  clientCostUsd: number;
}

@Injectable()
export class CallsService implements BeforeApplicationShutdown {
  /** Every call from its hold to its settlement, so shutdown can cut and settle them. */
  readonly drain: CallDrain;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
    private readonly routing: RoutingService,
    private readonly rateLimits: RateLimitService,
    private readonly providers: ProvidersService,
    private readonly metrics: GatewayMetrics,
    shutdown: ShutdownCoordinator,
  ) {
    this.drain = new CallDrain(shutdown.deadline);
  }

  /** Pools close after this hook: calls cut at the deadline still have their billing to write. */
  beforeApplicationShutdown(): Promise<void> {
    return this.drain.close();
  }

  /** A non-streaming call inside a job: prepare → attempts → settle. */
  async call(principal: TeamPrincipal, jobId: string, body: LlmCallDto) {
    const prepared = await this.prepare(principal, jobId, body, false);
    const { value, success } = await this.attempt(prepared, (target, request, signal) =>
      this.providers.adapterFor(target.provider).complete(target, request, signal),
    );
    const answered: CallSuccess = { ...success, finishReason: value.finish_reason };
    const settled = await this.settle(prepared, answered);
    return toCallResponse(settled.callId, value, answered);
  }

  /**
   * Access and resolution (no DB), rate limits (Redis), then the hold (one SQL statement; a
   * budgeted key adds its conditional UPDATE in the same transaction). Throws before any upstream
   * request when the call is not allowed or cannot be paid.
   */
  async prepare(
    principal: TeamPrincipal,
    jobId: string,
    body: LlmCallDto,
    streamed: boolean,
  ): Promise<PreparedCall> {
    const plan = (await this.routing.plan(principal, body.model)).slice(0, MAX_ATTEMPTS);
    const promptTokens = estimatePromptTokens(body.messages, body.tools);
    const ticket = await this.rateLimits.take(principal, promptTokens + (body.max_tokens ?? 0));
    const hold = {
      jobId,
      teamId: principal.teamId,
      promptTokens,
      completionTokens: body.max_tokens ?? DEFAULT_COMPLETION_CAP,
      // without max_tokens the team must afford the prompt and at least one token of answer
      requiredCompletionTokens: body.max_tokens ?? 1,
      inputPricePerMillion: Math.max(...plan.map((d) => d.inputPricePerMillion)),
      outputPricePerMillion: Math.max(...plan.map((d) => d.outputPricePerMillion)),
      // A hold outlives its request unless the process died; a stream is bounded only by its
      // idle gaps, so its hold lasts long enough for any stream a provider will keep open.
      callHoldSeconds: Math.max(
        Math.ceil((this.config.upstream.timeoutMs * MAX_ATTEMPTS) / 1000) + 300,
        streamed ? STREAM_HOLD_SECONDS : 0,
      ),
      jobHoldSeconds: this.config.jobs.ttlSeconds + 3600,
      budgetKeyId: principal.maxBudget !== null ? (principal.budgetKeyId ?? principal.keyId) : null,
    };
    const held = await this.hold(hold).catch((err: unknown) => {
      // refused before any upstream request: the tokens it reserved go back to the tpm buckets
      this.rateLimits.settle(ticket, 0);
      throw err;
    });
    return {
      principal,
      jobId,
      body: capToHold(body, held, promptTokens, hold),
      streamed,
      plan,
      // A job_based hold is the job's credit: the job's completion settles it, not the call.
      holdId: held.settings.budgetMode === 'job_based' ? null : held.holdId,
      settings: held.settings,
      ticket,
      attempts: [],
      inFlight: this.drain.enter(),
    };
  }

  /** The hold (one statement; a budgeted key adds its conditional UPDATE in one transaction). */
  private async hold(hold: HoldRequest): Promise<Extract<HoldOutcome, { kind: 'held' }>> {
    const budgetKeyId = hold.budgetKeyId;
    const outcome =
      budgetKeyId === null
        ? await holdForCall(this.db, hold)
        : await this.db.transaction(async (manager) => {
            const held = await holdForCall(manager, hold);
            if (held.kind === 'held' && held.credits > 0) {
              if (!(await holdKeyBudget(manager, budgetKeyId, held.credits))) {
                throw new TollgateError('KEY_BUDGET_EXCEEDED', 'Key budget exceeded');
              }
            }
            return held;
          });
    return assertHeld(outcome);
  }

  /**
   * Tries the plan's deployments in order until one answers. A retryable failure moves to the
   * next deployment after a short jittered backoff; each failure is kept as an attempt row. When
   * every attempt fails the hold is released, the attempts stored, and a 502/504 thrown (503
   * when the shutdown deadline cut it; a caller that gave up is no upstream failure, no fallback).
   * `UPSTREAM_TIMEOUT_MS` bounds `run`: the whole answer of a plain call, the first chunk of a
   * stream (whose later gaps the streaming code times itself).
   */
  async attempt<T>(
    prepared: PreparedCall,
    run: (target: ProviderTarget, request: ChatRequest, signal: AbortSignal) => Promise<T>,
    clientSignal?: AbortSignal,
  ): Promise<{ value: T; success: Answered }> {
    let last: UpstreamError | null = null;
    // the caller gave up (client gone) or the shutdown deadline passed: not an upstream failure
    const stopped = () => clientSignal?.aborted === true || prepared.inFlight.cut.aborted;
    for (const [index, deployment] of prepared.plan.entries()) {
      if (index > 0) await sleep(50 + Math.random() * 150);
      if (index > 0 && stopped()) break;
      const started = Date.now();
      const timeout = new AbortController();
      const timer = setTimeout(
        () => timeout.abort(new DOMException('Upstream request timed out', 'TimeoutError')),
        this.config.upstream.timeoutMs,
      );
      const signal = AbortSignal.any(
        clientSignal
          ? [timeout.signal, prepared.inFlight.cut, clientSignal]
          : [timeout.signal, prepared.inFlight.cut],
      );
      try {
        const value = await run(
          this.routing.target(deployment),
          this.request(prepared.body, deployment),
          signal,
        );
        const usage = (value as Partial<ChatResult>).usage ?? ZERO_USAGE;
        this.metrics.recordUpstream(deployment.provider, 'success', (Date.now() - started) / 1000);
        this.routing.reportSuccess(deployment);
        return { value, success: { deployment, usage, latencyMs: Date.now() - started } };
      } catch (err) {
        last = classify(err, timeout.signal.aborted);
        const latencyMs = Date.now() - started;
        const outcome = stopped() ? 'aborted' : last.kind;
        this.metrics.recordUpstream(deployment.provider, outcome, latencyMs / 1000);
        const row = this.record(prepared, deployment, null, latencyMs, last);
        if (stopped()) {
          Object.assign(row, { status: 'aborted', error_class: null, error_message: null });
        }
        prepared.attempts.push(row);
        if (last.retryable && !stopped()) {
          this.routing.reportFailure(deployment, last.retryAfterMs);
        }
        if (!last.retryable || stopped()) break;
      } finally {
        clearTimeout(timer);
      }
    }
    await this.settle(prepared, null);
    if (prepared.inFlight.cut.aborted) {
      throw new TollgateError('SERVICE_UNAVAILABLE', 'Server is shutting down');
    }
    throw toGatewayError(last);
  }

  /**
   * Records the call (every attempt) and settles the hold to the actual amount in one statement.
   * `success` null = no attempt answered: the hold is released and only attempts are stored.
   */
  async settle(prepared: PreparedCall, success: CallSuccess | null): Promise<SettledCall> {
    const calls = [...prepared.attempts];
    let due = 0;
    let clientCostUsd = 0;
    let callId = calls[calls.length - 1]?.call_id ?? randomUUID();
    if (success) {
      const row = this.record(prepared, success.deployment, success, success.latencyMs, null);
      calls.push(row);
      callId = row.call_id;
      clientCostUsd = row.client_cost_usd;
      due = consumptionCredits(prepared.settings, row.client_cost_usd, row.total_tokens);
    }
    for (const row of calls) {
      this.metrics.recordCall(
        row.model_name ?? row.model_requested,
        row.status,
        row.prompt_tokens,
        row.completion_tokens,
      );
    }
    const settlement = await settle(this.db, {
      teamId: prepared.principal.teamId,
      keyId: prepared.principal.keyId,
      jobId: prepared.jobId,
      holdId: prepared.holdId,
      due,
      reason: `LLM call ${callId}`,
      calls,
    }).finally(prepared.inFlight.leave);
    this.metrics.recordCredits(prepared.settings.budgetMode, settlement.charged);
    this.rateLimits.settle(prepared.ticket, success?.usage.total_tokens ?? 0);
    return { ...settlement, callId, clientCostUsd };
  }

  private request(body: LlmCallDto, deployment: Deployment): ChatRequest {
    return {
      model: deployment.providerModel,
      messages: body.messages,
      temperature: body.temperature,
      max_tokens: body.max_tokens,
      top_p: body.top_p,
      stop: body.stop,
      response_format: body.response_format,
      tools: body.tools,
      tool_choice: body.tool_choice,
      parallel_tool_calls: body.tools?.length ? body.parallel_tool_calls : undefined,
      seed: body.seed,
      presence_penalty: body.presence_penalty,
      frequency_penalty: body.frequency_penalty,
      logit_bias: body.logit_bias,
      user: body.user?.slice(0, 255),
    };
  }

  private record(
    prepared: PreparedCall,
    deployment: Deployment,
    success: CallSuccess | null,
    latencyMs: number,
    error: UpstreamError | null,
  ): CallRecord {
    const usage = success?.usage ?? ZERO_USAGE;
    const failure = error ?? success?.error ?? null;
    const prices = {
      inputPerMillion: deployment.inputPricePerMillion,
      outputPerMillion: deployment.outputPricePerMillion,
    };
    const costs = callCosts(
      usage.prompt_tokens,
      usage.completion_tokens,
      prices,
      prepared.settings.markupPercentage,
    );
    return {
      call_id: randomUUID(),
      job_id: prepared.jobId,
      team_id: prepared.principal.teamId,
      key_id: prepared.principal.keyId,
      model_requested: prepared.body.model,
      model_name: deployment.modelName,
      model_id: deployment.modelId,
      provider: deployment.provider,
      provider_model: deployment.providerModel,
      attempt: prepared.attempts.length + 1,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens || usage.prompt_tokens + usage.completion_tokens,
      provider_cost_usd: costs.providerCostUsd,
      client_cost_usd: costs.clientCostUsd,
      input_price_per_million: prices.inputPerMillion,
      output_price_per_million: prices.outputPerMillion,
      markup_percentage: prepared.settings.markupPercentage,
      latency_ms: latencyMs,
      status: failure ? 'error' : (success?.status ?? 'success'),
      error_class: failure?.kind ?? null,
      error_message: failure ? failure.message.slice(0, 500) : null,
      purpose: prepared.body.purpose ?? null,
      streamed: prepared.streamed,
      finish_reason: success?.finishReason ?? null,
      call_metadata: prepared.body.call_metadata ?? {},
      charged: success !== null,
    };
  }
}

/**
 * A request without max_tokens whose hold is less than the full estimate (the team cannot pay
 * DEFAULT_COMPLETION_CAP tokens of answer) is sent with the max_tokens its hold pays for, so the
 * provider never generates more than the team can be charged for.
 */
function capToHold(
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

const ZERO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

function assertHeld(outcome: HoldOutcome): Extract<HoldOutcome, { kind: 'held' }> {
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

function classify(err: unknown, timedOut: boolean): UpstreamError {
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
