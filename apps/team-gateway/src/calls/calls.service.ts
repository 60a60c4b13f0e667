import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { TeamPrincipal } from '@app/auth';
import {
  BudgetSettings,
  callCosts,
  CallRecord,
  consumptionCredits,
  holdForCall,
  HoldOutcome,
  HoldRequest,
  holdKeyBudget,
  JobCallEntry,
  JournalJob,
  settle,
  SettleInput,
  Settlement,
  teamHasLeases,
} from '@app/billing';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { retryingLockConflicts } from '@app/db';
import { ShutdownCoordinator, TollgateError } from '@app/http';
import { KeyBudgetAlerts } from '../alerts/key-budget-alerts';
import { JobCompletionService, CompletionResult } from '../jobs/job-completion.service';
import { assertOwnTeam, insertJob, NewJob } from '../jobs/job-rows';
import { CallJournal } from '../metering/call-journal';
import { JobGate, JobTicket } from '../metering/job-gate';
import { Reservation } from '../metering/lease-book';
import { LeasesService } from '../metering/leases.service';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import type {
  ChatRequest,
  ChatResult,
  FinishReason,
  Passthrough,
  ProviderTarget,
  Usage,
} from '../providers/provider.types';
import { UpstreamError } from '../providers/provider.types';
import { ProvidersService } from '../providers/providers.service';
import { RateLimitService, RateTicket } from '../rate-limits/rate-limit.service';
import type { Deployment } from '../routing/resolver';
import { RoutingService } from '../routing/routing.service';
import { CallDrain, DrainTicket } from '../shutdown-drain';
import {
  AttemptSpan,
  answeredBy,
  endFailedAttempt,
  startAttemptSpan,
  traceSettlement,
} from './attempt-spans';
import {
  assertHeld,
  capToHold,
  classify,
  completionOf,
  toGatewayError,
  ZERO_USAGE,
} from './call-outcomes';
import { LlmCallDto } from './dto/llm-call.dto';
import { DeferredCloses } from './deferred-closes';
import { HoldRenewal } from './hold-renewal';
import { TeamQueue } from './team-queue';
import { UpstreamSignal } from './upstream-signal';
import { DEFAULT_COMPLETION_CAP, estimatePromptTokens } from './estimate';

/** At most this many upstream attempts per call (deployments, then group models). */
const MAX_ATTEMPTS = 5;
/** An exact hold refused while other replicas lease the team's credits is tried again after a recall. */
const RECALL_RETRIES = 3;

/** What any upstream operation answers, as far as the pipeline meters it. */
export interface Metered {
  usage: Usage;
  finish_reason?: FinishReason | null;
}

/**
 * A call that is not a chat completion (embeddings, legacy text completions): which deployments
 * can serve it and what its hold assumes. Without one, a call is a chat completion.
 */
export interface CallSpec {
  /** The operation, for the 400 when no deployment of the model can serve it. */
  operation: string;
  /** Whether a deployment of this provider can serve it (others are left out of the plan). */
  canServe(provider: Deployment['provider']): boolean;
  /** Prompt tokens the hold and the tpm limit assume (default: estimated from the messages). */
  promptTokens?: number;
}

/** A non-chat call and the upstream request that makes it. */
export interface CallSurface<T extends Metered> extends CallSpec {
  run(target: ProviderTarget, request: ChatRequest, signal: AbortSignal): Promise<T>;
}
/**
 * A call's body as a surface builds it: the checked options, plus (never from a client) its own
 * body for an adapter that speaks the surface's API (see Passthrough).
 */
export type CallBody = LlmCallDto & {
  passthrough?: Passthrough;
  anthropicPassthrough?: ChatRequest['anthropicPassthrough'];
};

/** A one-call job opened in memory for a leased call; the journal writes it with its call. */
export type MemoryJob = Omit<JournalJob, 'status' | 'error_message' | 'completed_at'>;

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
  /** Reserved from this replica's lease (no database on the way); null = held in Postgres. */
  lease: Reservation | null;
  /** The leased call's one-call job (null: the job is a row in Postgres). */
  memoryJob: MemoryJob | null;
  /**
   * A call on an explicit job shared across replicas (JobGate): its place in the job's inflight,
   * left by its settle. `journaled`: settled into the journal (leased, or a job_based job's later
   * call, which moves no credit); else settled in Postgres. `takesJobCredit`: a job_based job's
   * first call, which reserved the job's credit from the lease (its record moves it to the job's
   * hold).
   */
  job?: { ticket: JobTicket; journaled: boolean; takesJobCredit?: boolean };
  /** A non-chat call's operation (CallSpec.operation), for its trace. */
  operation?: string;
  /** With tracing on: the answering attempt's span, ended when the call is settled. */
  span?: AttemptSpan;
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
  /** A stream delivered generated content (an aborted one with output completes its job). */
  hasOutput?: boolean;
}

/** The deployment that answered; usage is the result's (zero until a stream reports it). */
export type Answered = Omit<CallSuccess, 'finishReason' | 'status' | 'error' | 'hasOutput'>;

export interface SettledCall extends Settlement {
  callId: string;
  clientCostUsd: number;
  /** Every attempt's row, as stored. */
  calls: CallRecord[];
  /** A leased one-call job's completion, as the journal writes it. */
  completion?: CompletionResult;
}

/** What a finished non-streaming call gives its surface. */
export interface FinishedCall<T extends Metered = ChatResult> {
  jobId: string;
  value: T;
  answered: CallSuccess;
  settled: SettledCall;
}

/**
 * The one owner of an LLM call: route (cached catalog) → rate limits → reserve credits (from the
 * replica's lease in memory, else an exact hold in Postgres) → attempts across deployments →
 * settle (into the lease and the durable journal, else one SQL statement). Surfaces (/v1, job
 * routes, streams) are thin around prepare / attempt / settle.
 */
@Injectable()
export class CallsService implements BeforeApplicationShutdown {
  /** Every call from its hold to its settlement, so shutdown can cut and settle them. */
  readonly drain: CallDrain;
  /** The exact path's statements of one team, one at a time on this replica. */
  private readonly teams = new TeamQueue();
  /** Exact one-call jobs Postgres could not close mid-outage, closed once it is back. */
  private readonly deferred = new DeferredCloses();
  /** Each team's budget settings as its last hold saw them: the next hold skips reading them. */
  private readonly settingsSeen = new Map<string, BudgetSettings>();
  /** A job_based job's hold lives as long as the job may stay open, and an hour more. */
  private get jobHoldSeconds(): number {
    return this.config.jobs.ttlSeconds + 3600;
  }

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
    private readonly routing: RoutingService,
    private readonly rateLimits: RateLimitService,
    private readonly providers: ProvidersService,
    private readonly metrics: GatewayMetrics,
    private readonly completion: JobCompletionService,
    private readonly leases: LeasesService,
    private readonly journal: CallJournal,
    private readonly holds: HoldRenewal,
    private readonly keyBudgetAlerts: KeyBudgetAlerts,
    private readonly jobGate: JobGate,
    shutdown: ShutdownCoordinator,
  ) {
    this.drain = new CallDrain(shutdown.deadline);
  }

  /** Calls cut at the deadline settle first; then the journal is written and the leases go back. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain.close();
    await this.deferred.flush();
    await this.journal.close();
    await this.leases.close();
  }

  /** A non-streaming call inside an open job (a chat completion unless `surface` says). */
  async call(principal: TeamPrincipal, jobId: string, body: LlmCallDto): Promise<FinishedCall>;
  async call<T extends Metered>(
    principal: TeamPrincipal,
    jobId: string,
    body: LlmCallDto,
    surface: CallSurface<T>,
  ): Promise<FinishedCall<T>>;
  async call(
    principal: TeamPrincipal,
    jobId: string,
    body: LlmCallDto,
    surface?: CallSurface<Metered>,
  ): Promise<FinishedCall<Metered>> {
    return this.complete(await this.prepare(principal, jobId, body, false, surface), surface);
  }

  /**
   * A non-streaming one-call job: opened, called, and closed as completed (or failed, with the
   * error's detail, when the call fails). `onJob` learns the job id as soon as there is one.
   */
  async callOneCallJob(
    principal: TeamPrincipal,
    job: NewJob,
    body: LlmCallDto,
    onJob?: (jobId: string) => void,
  ): Promise<FinishedCall & { completion: CompletionResult }>;
  async callOneCallJob<T extends Metered>(
    principal: TeamPrincipal,
    job: NewJob,
    body: LlmCallDto,
    onJob: (jobId: string) => void,
    surface: CallSurface<T>,
  ): Promise<FinishedCall<T> & { completion: CompletionResult }>;
  async callOneCallJob(
    principal: TeamPrincipal,
    job: NewJob,
    body: LlmCallDto,
    onJob: (jobId: string) => void = () => undefined,
    surface?: CallSurface<Metered>,
  ): Promise<FinishedCall<Metered> & { completion: CompletionResult }> {
    const prepared = await this.prepareOneCall(principal, job, body, false, onJob, surface);
    let finished: FinishedCall<Metered>;
    try {
      finished = await this.complete(prepared, surface);
    } catch (err) {
      if (!prepared.memoryJob) await this.closeJob(prepared, failedWith(err));
      throw err;
    }
    // the call is recorded and settled: its answer is delivered even if the close must wait
    const completion =
      finished.settled.completion ??
      (await this.closeJob(prepared, { status: 'completed' })) ??
      completionOf(
        prepared.jobId,
        'completed',
        new Date().toISOString(),
        finished.settled.calls,
        finished.settled.charged + (prepared.settings.budgetMode === 'job_based' ? 1 : 0),
        finished.settled.remaining,
      );
    return Object.assign({}, finished, { completion });
  }

  /** Attempts (a chat completion unless `surface` says), then settle. */
  private async complete(
    prepared: PreparedCall,
    surface?: CallSurface<Metered>,
  ): Promise<FinishedCall<Metered>> {
    const { value, success } = await this.attempt<Metered>(
      prepared,
      surface
        ? (target, request, signal) => surface.run(target, request, signal)
        : (target, request, signal) =>
            this.providers.adapterFor(target.provider).complete(target, request, signal),
    );
    const answered: CallSuccess = Object.assign({}, success, {
      finishReason: value.finish_reason ?? null,
    });
    const settled = await this.settle(prepared, answered);
    return { jobId: prepared.jobId, value, answered, settled };
  }

  /**
   * A call on an explicit job. Access and resolution (no DB), rate limits (Redis), the job's
   * shared state (one Redis script: refused once the job is closing), then the credits: from the
   * replica's lease (consumption modes; no database round trip), nothing (a job_based job whose
   * credit is held already), else the exact hold (one SQL statement; a budgeted key adds its
   * conditional UPDATE in the same transaction). Throws before any upstream request when the call
   * is not allowed or cannot be paid.
   */
  async prepare(
    principal: TeamPrincipal,
    jobId: string,
    body: LlmCallDto,
    streamed: boolean,
    spec?: CallSpec,
  ): Promise<PreparedCall> {
    const routed = await this.route(principal, body, spec);
    const ticket = await this.jobGate.start(principal.teamId, jobId).catch((err: unknown) => {
      this.rateLimits.settle(routed.ticket, 0);
      throw err;
    });
    if (!ticket) return this.holdExactly(principal, jobId, body, streamed, routed);
    try {
      const shared = this.joinShared(principal, jobId, body, streamed, routed, ticket);
      if (shared) return shared;
      const prepared = await this.holdExactly(principal, jobId, body, streamed, routed);
      return Object.assign({}, prepared, { job: { ticket, journaled: false } });
    } catch (err) {
      await this.jobGate.end(ticket, false);
      throw err;
    }
  }

  /**
   * A call on an explicit job without a database round trip, or null (the exact hold), for a team
   * this replica leases (a busy team, as for one-call jobs): a consumption call that fits the
   * lease; a job_based job's first call reserves the job's credit from the lease (its journal
   * record moves it to the job's hold), the later ones reserve and cost nothing.
   */
  private joinShared(
    principal: TeamPrincipal,
    jobId: string,
    body: LlmCallDto,
    streamed: boolean,
    routed: Routed,
    ticket: JobTicket,
  ): PreparedCall | null {
    const lease = this.leases.reserve(principal, (s) =>
      s.budgetMode === 'job_based'
        ? Number(!ticket.credited)
        : fullEstimate(s, routed.promptTokens, body, routed.plan),
    );
    const settings = lease?.lease.settings;
    if (!lease || !settings) return null;
    const takesJobCredit = settings.budgetMode === 'job_based' && !ticket.credited;
    return {
      principal,
      jobId,
      body,
      streamed,
      plan: routed.plan,
      ticket: routed.ticket,
      holdId: null,
      attempts: [],
      memoryJob: null,
      operation: routed.operation,
      settings,
      inFlight: this.drain.enter(),
      lease,
      job: { ticket, journaled: true, takesJobCredit },
    };
  }

  /**
   * A one-call job's call. A busy team's call reserves from this replica's lease and its job
   * stays in memory until the journal writes both (no database round trip); otherwise the job
   * row is inserted and the call held in Postgres (a refused job is closed as failed).
   */
  async prepareOneCall(
    principal: TeamPrincipal,
    job: NewJob,
    body: LlmCallDto,
    streamed: boolean,
    onJob: (jobId: string) => void,
    spec?: CallSpec,
  ): Promise<PreparedCall> {
    assertOwnTeam(principal, job.team_id);
    const routed = await this.route(principal, body, spec);
    const lease = this.leases.reserve(principal, (settings) =>
      fullEstimate(settings, routed.promptTokens, body, routed.plan),
    );
    if (lease?.lease.settings) {
      const now = new Date().toISOString();
      const jobId = randomUUID();
      onJob(jobId);
      return Object.assign({}, routed, {
        principal,
        jobId,
        body,
        streamed,
        holdId: null,
        settings: lease.lease.settings,
        attempts: [],
        inFlight: this.drain.enter(),
        lease,
        memoryJob: {
          job_id: jobId,
          team_id: principal.teamId,
          key_id: principal.keyId,
          job_type: job.job_type,
          user_id: job.user_id ?? null,
          metadata: job.metadata ?? {},
          created_at: now,
          started_at: now,
        },
      });
    }
    const { job_id: jobId } = await this.teams.run(principal.teamId, () =>
      insertJob(this.db, principal, job),
    );
    onJob(jobId);
    try {
      return await this.holdExactly(principal, jobId, body, streamed, routed);
    } catch (err) {
      const failed = failedWith(err);
      await this.deferred.now(jobId, failed, () =>
        this.completion.complete(principal.teamId, jobId, failed),
      );
      throw err;
    }
  }

  /**
   * Closes an exact one-call job (its row and hold are in Postgres). Postgres away: the close is
   * retried until it is back, and this returns null.
   */
  async closeJob(
    prepared: PreparedCall,
    completion: { status: 'completed' | 'failed'; error_message?: string },
  ): Promise<CompletionResult | null> {
    const teamId = prepared.principal.teamId;
    const close = async () => {
      const result = await this.teams.run(teamId, () =>
        this.completion.complete(teamId, prepared.jobId, completion),
      );
      if (!result) throw new TollgateError('NOT_FOUND', 'Job not found');
      return result;
    };
    return this.deferred.now(prepared.jobId, completion, close);
  }

  /**
   * The plan (catalog in memory; a non-chat call's only of deployments that can serve it, else a
   * 400), the prompt estimate and the rate-limit ticket (Redis).
   */
  private async route(
    principal: TeamPrincipal,
    body: LlmCallDto,
    spec?: CallSpec,
  ): Promise<Routed> {
    let plan = await this.routing.plan(principal, body.model);
    if (spec) {
      const unable = plan.find((d) => !spec.canServe(d.provider));
      plan = plan.filter((d) => spec.canServe(d.provider));
      if (plan.length === 0) {
        throw new TollgateError(
          'VALIDATION_ERROR',
          `Model '${body.model}' does not support ${spec.operation} (its provider ${unable?.provider ?? ''} cannot serve it)`,
        );
      }
    }
    plan = plan.slice(0, MAX_ATTEMPTS);
    const promptTokens = spec?.promptTokens ?? estimatePromptTokens(body.messages, body.tools);
    const ticket = await this.rateLimits.take(principal, promptTokens + (body.max_tokens ?? 0));
    return { plan, promptTokens, ticket, operation: spec?.operation };
  }

  private async holdExactly(
    principal: TeamPrincipal,
    jobId: string,
    body: LlmCallDto,
    streamed: boolean,
    { plan, promptTokens, ticket, operation }: Routed,
  ): Promise<PreparedCall> {
    const hold = {
      jobId,
      teamId: principal.teamId,
      promptTokens,
      completionTokens: body.max_tokens ?? DEFAULT_COMPLETION_CAP,
      // without max_tokens the team must afford the prompt and at least one token of answer
      requiredCompletionTokens: body.max_tokens ?? 1,
      inputPricePerMillion: Math.max(...plan.map(dearestInputPrice)),
      outputPricePerMillion: Math.max(...plan.map((d) => d.outputPricePerMillion)),
      // renewed while this replica lives (streams included): a dead replica's expire
      callHoldSeconds: this.holds.ttlSeconds,
      jobHoldSeconds: this.jobHoldSeconds,
      budgetKeyId: principal.maxBudget !== null ? (principal.budgetKeyId ?? principal.keyId) : null,
      settings: this.settingsSeen.get(principal.teamId),
    };
    const held = await this.hold(hold).catch((err: unknown) => {
      // refused before any upstream request: the tokens it reserved go back to the tpm buckets
      this.rateLimits.settle(ticket, 0);
      this.keyBudgetAlerts.refused(err, hold.budgetKeyId);
      throw err;
    });
    if (this.settingsSeen.size >= 10_000) this.settingsSeen.clear();
    this.settingsSeen.set(principal.teamId, held.settings);
    const holdId = held.settings.budgetMode === 'job_based' ? null : held.holdId;
    if (holdId) this.holds.keep(holdId);
    return {
      principal,
      jobId,
      body: capToHold(body, held, promptTokens, hold),
      streamed,
      plan,
      // A job_based hold is the job's credit: the job's completion settles it, not the call.
      holdId,
      settings: held.settings,
      ticket,
      attempts: [],
      inFlight: this.drain.enter(),
      lease: null,
      memoryJob: null,
      operation,
    };
  }

  /**
   * The hold (one statement; a budgeted key adds its conditional UPDATE in one transaction).
   * Refused for credits while replicas lease the team's balance: they are asked to give their
   * leases' free credits back and the hold is tried again, so the team can spend down to 0.
   */
  private async hold(hold: HoldRequest): Promise<Extract<HoldOutcome, { kind: 'held' }>> {
    for (let retry = 0; ; retry++) {
      const outcome = await this.holdOnce(hold);
      const recall =
        outcome.kind === 'insufficient' &&
        retry < RECALL_RETRIES &&
        this.leases.book.enabled &&
        (await teamHasLeases(this.db, hold.teamId));
      if (!recall) return assertHeld(outcome);
      await this.leases.recall(hold.teamId);
      await sleep(10 * 2 ** retry);
    }
  }

  private holdOnce(hold: HoldRequest): Promise<HoldOutcome> {
    return this.teams.run(hold.teamId, () => this.holdStatement(hold));
  }

  private holdStatement(hold: HoldRequest): Promise<HoldOutcome> {
    const budgetKeyId = hold.budgetKeyId;
    if (budgetKeyId === null) return retryingLockConflicts(() => holdForCall(this.db, hold));
    return retryingLockConflicts(() =>
      this.db.transaction(async (manager) => {
        const held = await holdForCall(manager, hold);
        if (held.kind === 'held' && held.credits > 0) {
          if (!(await holdKeyBudget(manager, budgetKeyId, held.credits))) {
            throw new TollgateError('KEY_BUDGET_EXCEEDED', 'Key budget exceeded');
          }
        }
        return held;
      }),
    );
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
    const stopped = () => clientSignal?.aborted === true || prepared.inFlight.cut;
    const upstream = new UpstreamSignal(prepared.inFlight, clientSignal);
    for (const [index, deployment] of prepared.plan.entries()) {
      if (index > 0) await sleep(50 + Math.random() * 150);
      if (index > 0 && stopped()) break;
      const started = Date.now();
      const signal = upstream.forAttempt();
      const timer = setTimeout(() => upstream.timeOut(), this.config.upstream.timeoutMs);
      const request = this.request(prepared.body, deployment);
      const span = startAttemptSpan(prepared, deployment, request);
      try {
        const value = await run(this.routing.target(deployment), request, signal);
        if (span) prepared.span = answeredBy(span, value);
        const usage = (value as Partial<ChatResult>).usage ?? ZERO_USAGE;
        this.metrics.recordUpstream(deployment.provider, 'success', (Date.now() - started) / 1000);
        this.routing.reportSuccess(deployment);
        return { value, success: { deployment, usage, latencyMs: Date.now() - started } };
      } catch (err) {
        last = classify(err, upstream.timedOut);
        const latencyMs = Date.now() - started;
        const outcome = stopped() ? 'aborted' : last.kind;
        this.metrics.recordUpstream(deployment.provider, outcome, latencyMs / 1000);
        const row = this.record(prepared, deployment, null, latencyMs, last);
        if (stopped()) {
          Object.assign(row, { status: 'aborted', error_class: null, error_message: null });
        }
        prepared.attempts.push(row);
        endFailedAttempt(span, row, last.status);
        if (last.retryable && !stopped()) {
          this.routing.reportFailure(deployment, last.retryAfterMs);
        }
        if (!last.retryable || stopped()) break;
      } finally {
        clearTimeout(timer);
      }
    }
    const error = prepared.inFlight.cut
      ? new TollgateError('SERVICE_UNAVAILABLE', 'Server is shutting down')
      : toGatewayError(last);
    await this.settle(prepared, null, error.detail);
    throw error;
  }

  /**
   * Records the call (every attempt) and settles what it reserved to the actual amount: into the
   * lease and the journal (a leased one-call job is closed with it), else in one SQL statement.
   * `success` null = no attempt answered: the hold is released and only attempts are stored.
   */
  async settle(
    prepared: PreparedCall,
    success: CallSuccess | null,
    failure = 'Call failed',
  ): Promise<SettledCall> {
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
    const answer = success ? calls[calls.length - 1] : undefined;
    const settlement = await traceSettlement(
      prepared.span,
      answer,
      prepared.job?.journaled
        ? this.settleJobCall(prepared, prepared.job.ticket, calls, due, callId)
        : prepared.lease
          ? this.settleLeased(prepared, prepared.lease, success, calls, due, callId, failure)
          : this.settleExactly(prepared, {
              teamId: prepared.principal.teamId,
              keyId: prepared.principal.keyId,
              jobId: prepared.jobId,
              holdId: prepared.holdId,
              due,
              reason: `LLM call ${callId}`,
              calls,
              // job_based: the hold took (or found) the job's credit, held from now on
            }).finally(
              () =>
                prepared.job &&
                this.jobGate.end(prepared.job.ticket, prepared.settings.budgetMode === 'job_based'),
            ),
    ).finally(prepared.inFlight.leave);
    this.metrics.recordCredits(prepared.settings.budgetMode, settlement.charged);
    this.metrics.recordMetering(prepared.lease ? 'lease' : 'exact');
    this.rateLimits.settle(prepared.ticket, success?.usage.total_tokens ?? 0);
    return Object.assign({}, settlement, { callId, clientCostUsd, calls });
  }

  private async settleExactly(prepared: PreparedCall, input: SettleInput): Promise<Settlement> {
    try {
      return await this.teams.run(prepared.principal.teamId, () =>
        retryingLockConflicts(() => settle(this.db, input)),
      );
    } finally {
      // settled, or not: then the hold is left to expire (and the sweep to release it)
      this.holds.release(prepared.holdId);
    }
  }

  /**
   * A call on an explicit job settled without a database round trip: a consumption call's charge
   * into its lease, a job_based call's nothing (the job's credit is settled by its close); its
   * record (attempts, charge) is appended to the journal and the job's inflight lowered in one
   * Redis script before the client hears back.
   */
  private async settleJobCall(
    prepared: PreparedCall,
    ticket: JobTicket,
    calls: CallRecord[],
    callDue: number,
    callId: string,
  ): Promise<Settlement> {
    const lease = prepared.lease;
    const jobBased = prepared.settings.budgetMode === 'job_based';
    // the job's credit stays out of the lease's free part until its record moves it to the hold
    // (a call that made no attempt writes no record: the credit is free again)
    const wantedJobCredit = prepared.job?.takesJobCredit === true;
    const takesJobCredit = wantedJobCredit && calls.length > 0;
    const due = jobBased ? Number(takesJobCredit) : callDue;
    const settled = lease ? this.leases.book.settle(lease, due) : 0;
    const charge = jobBased ? 0 : settled;
    const entry: JobCallEntry | null =
      calls.length === 0
        ? null
        : {
            joined: {
              job_id: prepared.jobId,
              team_id: prepared.principal.teamId,
              key_id: prepared.principal.keyId,
            },
            leaseId: lease?.lease.leaseId ?? null,
            charge,
            reason: `LLM call ${callId}`,
            calls,
            ...(takesJobCredit ? { jobHoldSeconds: this.jobHoldSeconds } : {}),
          };
    // job_based: the job's credit is held from here on (by the exact hold of an earlier call, or
    // by this record, which the job's close writes before it settles)
    await this.jobGate.end(ticket, jobBased && takesJobCredit === wantedJobCredit, entry);
    const remaining = lease ? this.leases.remainingEstimate(lease.lease) : 0;
    return { charged: charge, released: lease?.credits ?? 0, remaining };
  }

  /**
   * A leased call settles in memory and its record (one-call job, attempts, charge) goes to the
   * durable journal before the client hears back. job_based: the job's credit when it completes.
   */
  private async settleLeased(
    prepared: PreparedCall,
    lease: Reservation,
    success: CallSuccess | null,
    calls: CallRecord[],
    callDue: number,
    callId: string,
    failure: string,
  ): Promise<Settlement & { completion: CompletionResult }> {
    const job = prepared.memoryJob!;
    const completed =
      success !== null &&
      !success.error &&
      (success.status !== 'aborted' || success.hasOutput === true);
    const jobBased = prepared.settings.budgetMode === 'job_based';
    const charge = this.leases.book.settle(lease, jobBased ? Number(completed) : callDue);
    const status: JournalJob['status'] = completed ? 'completed' : 'failed';
    const completedAt = new Date().toISOString();
    await this.journal.record({
      job: Object.assign({}, job, {
        status,
        error_message: completed ? null : failure,
        completed_at: completedAt,
      }),
      leaseId: lease.lease.leaseId!,
      charge,
      reason: jobBased ? `Job ${job.job_id} completed` : `LLM call ${callId}`,
      calls,
    });
    const remaining = this.leases.remainingEstimate(lease.lease);
    return {
      charged: charge,
      released: lease.credits,
      remaining,
      completion: completionOf(job.job_id, status, completedAt, calls, charge, remaining),
    };
  }

  private request(body: CallBody, deployment: Deployment): ChatRequest {
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
      passthrough: body.passthrough,
      anthropicPassthrough: body.anthropicPassthrough,
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
      cachedInputPerMillion: deployment.cachedInputPricePerMillion,
      cacheWritePerMillion: deployment.cacheWritePricePerMillion,
    };
    const kinds = tokenKinds(usage);
    const costs = callCosts(
      usage.prompt_tokens,
      usage.completion_tokens,
      prices,
      prepared.settings.markupPercentage,
      { cached: kinds.cached_tokens, cacheWrite: kinds.cache_write_tokens },
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
      ...kinds,
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

/** A call's plan, prompt estimate and rate-limit ticket (CallsService.route). */
interface Routed {
  plan: Deployment[];
  promptTokens: number;
  ticket: RateTicket;
  operation?: string;
}

/**
 * What a leased call reserves: the whole estimate (prompt + max_tokens, or the default cap, at the
 * dearest deployment of the plan), in the same units the exact hold uses; job_based: the job's 1.
 */
function fullEstimate(
  settings: BudgetSettings,
  promptTokens: number,
  body: LlmCallDto,
  plan: Deployment[],
): number {
  if (settings.budgetMode === 'job_based') return 1;
  const completionTokens = body.max_tokens ?? DEFAULT_COMPLETION_CAP;
  const prices = {
    inputPerMillion: Math.max(...plan.map(dearestInputPrice)),
    outputPerMillion: Math.max(...plan.map((d) => d.outputPricePerMillion)),
  };
  const cost = callCosts(promptTokens, completionTokens, prices, settings.markupPercentage);
  return Math.max(
    1,
    consumptionCredits(settings, cost.clientCostUsd, promptTokens + completionTokens),
  );
}

/** The most one prompt token may cost at a deployment (a cache write may cost more than input). */
function dearestInputPrice(d: Deployment): number {
  return Math.max(
    d.inputPricePerMillion,
    d.cachedInputPricePerMillion ?? 0,
    d.cacheWritePricePerMillion ?? 0,
  );
}

/** The usage's token kinds as stored, bounded so cached + cache-write never exceed the prompt. */
export function tokenKinds(usage: Usage) {
  const count = (n: number | undefined) => Math.max(0, Math.floor(n ?? 0));
  const cached = Math.min(count(usage.prompt_tokens_details?.cached_tokens), usage.prompt_tokens);
  const cacheWrite = Math.min(
    count(usage.prompt_tokens_details?.cache_write_tokens),
    usage.prompt_tokens - cached,
  );
  return {
    cached_tokens: cached,
    cache_write_tokens: cacheWrite,
    reasoning_tokens: Math.min(
      count(usage.completion_tokens_details?.reasoning_tokens),
      usage.completion_tokens,
    ),
  };
}

function failedWith(err: unknown): { status: 'failed'; error_message: string } {
  return {
    status: 'failed',
    error_message: err instanceof TollgateError ? err.detail : 'Call failed',
  };
}
