import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TeamPrincipal } from '@app/auth';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { TollgateError } from '@app/http';
import { Answered, CallsService, CallSpec, PreparedCall } from '../calls/calls.service';
import { LlmCallDto } from '../calls/dto/llm-call.dto';
import { NewJob } from '../jobs/job-rows';
import { toOpenAiError } from '../openai/openai-error';
import type { ChatRequest, ProviderTarget, StreamChunk } from '../providers/provider.types';
import { UpstreamError } from '../providers/provider.types';
import { ProvidersService } from '../providers/providers.service';
import { classifyFailure } from '../providers/upstream-errors';
import { SseWriter } from './sse-writer';
import { StreamEncoder, StreamFailure } from './stream-encoder';
import { StreamMeter } from './stream-meter';

export interface StreamOptions {
  /** Send OpenAI's final usage chunk to the client (`stream_options.include_usage`). The gateway ALWAYS asks the upstream for usage regardless. */
  includeUsage: boolean;
  /** Extra response headers set before the first byte (e.g. `X-Job-Id`). */
  headers?: Record<string, string>;
  /** The client surface's stream format; OpenAI chat.completion chunks when absent. */
  encoder?: StreamEncoder;
  /** A stream that is not a chat completion (legacy completions): its deployments and request. */
  surface?: StreamSurface;
}

/** A non-chat stream: which deployments can serve it, and the upstream stream it opens. */
export interface StreamSurface extends CallSpec {
  stream(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): AsyncIterable<StreamChunk>;
}

export interface StreamOutcome {
  callId: string;
  status: 'success' | 'failed' | 'aborted';
}

export type OneCallJob = NewJob;

/** Why the gateway stopped reading an upstream stream before its end. */
class StreamStop extends Error {
  constructor(readonly why: 'client' | 'shutdown' | 'idle') {
    super(`Stream stopped: ${why}`);
    this.name = 'StreamStop';
  }
}

type Chunks = AsyncIterator<StreamChunk, void>;
interface Opened {
  chunks: Chunks;
  first: IteratorResult<StreamChunk, void>;
}
type BeforeEnd = (outcome: StreamOutcome, hasOutput: boolean) => Promise<void>;

const SHUTDOWN_ERROR = {
  message: 'The gateway is shutting down; the stream was cut',
  type: 'api_error',
  code: 'shutting_down',
};

/**
 * Streams LLM calls to clients as SSE: resolution, rate limits and the hold first (errors there
 * are ordinary HTTP errors), then the first chunk with fallback across deployments, then every
 * chunk as it arrives. Whatever happens next (end, upstream failure, idle upstream, client gone,
 * shutdown deadline) the upstream request is closed and the call recorded and settled.
 */
@Injectable()
export class StreamCallService {
  private readonly logger = new Logger('Streams');

  constructor(
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
    private readonly calls: CallsService,
    private readonly providers: ProvidersService,
  ) {}

  /** Streams one call inside an open job to `res` as SSE (OpenAI chunks, then `data: [DONE]`), settling billing whatever happens. Throws TollgateError BEFORE any byte is written (auth, model access, credits, rate limit, all deployments failed before first byte → 502/504, cut by the shutdown deadline → 503) so the caller's exception filter renders it. */
  async stream(
    principal: TeamPrincipal,
    jobId: string,
    body: LlmCallDto,
    req: IncomingMessage,
    res: ServerResponse,
    options: StreamOptions,
  ): Promise<StreamOutcome> {
    for (const [name, value] of Object.entries(options.headers ?? {})) res.setHeader(name, value);
    const prepared = await this.calls.prepare(principal, jobId, body, true, options.surface);
    // in flight until its job is closed too, so the pools outlive the stream's billing
    return this.calls.drain.track(this.run(prepared, res, options));
  }

  /** A one-call job (create-and-call-stream, and /v1 without X-Job-Id): opens the job, streams, then closes it (`completed` on success or aborted-with-output, `failed` otherwise) before [DONE]. `X-Job-Id` header set to the new job id. A leased call's job is closed by its settle (the journal writes both). */
  async streamOneCallJob(
    principal: TeamPrincipal,
    job: OneCallJob,
    body: LlmCallDto,
    req: IncomingMessage,
    res: ServerResponse,
    options: StreamOptions,
  ): Promise<StreamOutcome & { jobId: string }> {
    for (const [name, value] of Object.entries(options.headers ?? {})) res.setHeader(name, value);
    const prepared = await this.calls.prepareOneCall(
      principal,
      job,
      body,
      true,
      (id) => res.setHeader('X-Job-Id', id),
      options.surface,
    );
    // The job is closed before [DONE], so a client that reads the job afterwards sees it closed.
    const closeJob: BeforeEnd | undefined = prepared.memoryJob
      ? undefined
      : async (outcome, hasOutput) => {
          const done = outcome.status === 'success' || (outcome.status === 'aborted' && hasOutput);
          await this.calls.closeJob(
            prepared,
            done ? { status: 'completed' } : { status: 'failed', error_message: 'Stream failed' },
          );
        };
    try {
      const outcome = await this.calls.drain.track(this.run(prepared, res, options, closeJob));
      return Object.assign({}, outcome, { jobId: prepared.jobId });
    } catch (err) {
      if (!prepared.memoryJob) {
        const detail = err instanceof TollgateError ? err.detail : 'Call failed';
        await this.calls.closeJob(prepared, { status: 'failed', error_message: detail });
      }
      throw err;
    }
  }

  private async run(
    prepared: PreparedCall,
    res: ServerResponse,
    options: StreamOptions,
    beforeEnd?: BeforeEnd,
  ): Promise<StreamOutcome> {
    const started = Date.now();
    const stop = new AbortController();
    // a client that does not read for as long as an upstream may stay silent is gone
    const writer = new SseWriter(res, stop.signal, this.config.upstream.streamIdleTimeoutMs);
    const onClientGone = () => stop.abort(new StreamStop('client'));
    const onCut = () => stop.abort(new StreamStop('shutdown'));
    writer.clientGone.addEventListener('abort', onClientGone);
    if (writer.clientGone.aborted) onClientGone();
    prepared.inFlight.onCut(onCut);
    try {
      let opened: { value: Opened; success: Answered };
      try {
        opened = await this.calls.attempt(
          prepared,
          (target, request, signal) => this.open(target, request, signal, options.surface),
          stop.signal,
        );
      } catch (err) {
        // Nobody is left to read an error: the attempts are recorded and the hold released.
        if (stopReason(stop.signal) !== 'client') throw err;
        const outcome: StreamOutcome = {
          callId: prepared.attempts.at(-1)?.call_id ?? '',
          status: 'aborted',
        };
        await beforeEnd?.(outcome, false);
        return outcome;
      }
      return await this.pump(prepared, opened, writer, stop, started, options, beforeEnd);
    } finally {
      writer.clientGone.removeEventListener('abort', onClientGone);
      prepared.inFlight.offCut(onCut);
    }
  }

  /** Opens the upstream stream and waits for its first chunk (what fallback is decided on). */
  private async open(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
    surface?: StreamSurface,
  ): Promise<Opened> {
    const stream = surface
      ? surface.stream(target, request, signal)
      : this.providers.adapterFor(target.provider).stream(target, request, signal);
    const chunks = stream[Symbol.asyncIterator]() as Chunks;
    return { chunks, first: await chunks.next() };
  }

  /** Forwards chunks until the end or a stop, then settles and ends the SSE stream. */
  private async pump(
    prepared: PreparedCall,
    opened: { value: Opened; success: Answered },
    writer: SseWriter,
    stop: AbortController,
    started: number,
    options: StreamOptions,
    beforeEnd?: BeforeEnd,
  ): Promise<StreamOutcome> {
    const { chunks } = opened.value;
    const { deployment } = opened.success;
    const meter = new StreamMeter(
      prepared.body.messages,
      deployment.modelName,
      options.includeUsage,
    );
    let failure: UpstreamError | null = null;
    let next = opened.value.first;
    try {
      while (!next.done) {
        const out = meter.forward(next.value);
        if (options.encoder) {
          const chunk = Object.assign({}, next.value, { model: deployment.modelName });
          for (const event of options.encoder.chunk(chunk)) await writer.sendEvent(event);
        } else if (out) await writer.send(out);
        if (stop.signal.aborted) break;
        next = await this.nextWithin(chunks, stop);
      }
    } catch (err) {
      if (!stop.signal.aborted) failure = classifyFailure(err, null);
    } finally {
      // Stops the adapter's generator (its finally destroys the undici body) if it is mid-stream.
      if (!next.done) await chunks.return?.().catch(() => undefined);
    }
    const why = stopReason(stop.signal);
    if (why === 'idle') failure = new UpstreamError('timeout', 'Upstream stream went idle');
    const aborted = why === 'client' || why === 'shutdown';
    let outcome: StreamOutcome;
    try {
      const settled = await this.calls.settle(prepared, {
        deployment,
        usage: meter.usage(),
        finishReason: meter.finishReason,
        latencyMs: Date.now() - started,
        status: aborted ? 'aborted' : 'success',
        error: failure ?? undefined,
        hasOutput: meter.hasOutput,
      });
      outcome = {
        callId: settled.callId,
        status: failure ? 'failed' : aborted ? 'aborted' : 'success',
      };
      await beforeEnd?.(outcome, meter.hasOutput);
    } catch (err) {
      this.logger.error(
        `Settling the stream of job ${prepared.jobId} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      failure ??= new UpstreamError('server_error', 'The call could not be recorded');
      outcome = { callId: '', status: 'failed' };
      // its one-call job is closed as failed all the same (later, if Postgres is away)
      await beforeEnd?.(outcome, false).catch((closing: Error) =>
        this.logger.error(`Closing the stream's job ${prepared.jobId} failed: ${closing.message}`),
      );
    }
    await this.end(writer, meter, failure, why, options.encoder);
    return outcome;
  }

  private async end(
    writer: SseWriter,
    meter: StreamMeter,
    failure: UpstreamError | null,
    why: StreamStop['why'] | null,
    encoder: StreamEncoder | undefined,
  ): Promise<void> {
    if (why === 'client') return;
    const error = endingError(failure, why);
    if (encoder) {
      const events = error ? encoder.fail(error) : encoder.end(meter.usage(), meter.finishReason);
      for (const event of events) await writer.sendEvent(event);
      return writer.close();
    }
    if (error) return writer.fail({ message: error.message, type: error.type, code: error.code });
    const usage = meter.usageChunk();
    if (usage) await writer.send(usage);
    await writer.done();
  }

  /** The next chunk, or a StreamStop('idle') abort when the upstream stays silent too long. */
  private async nextWithin(
    chunks: Chunks,
    stop: AbortController,
  ): Promise<IteratorResult<StreamChunk, void>> {
    const timer = setTimeout(
      () => stop.abort(new StreamStop('idle')),
      this.config.upstream.streamIdleTimeoutMs,
    );
    try {
      return await chunks.next();
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The error a stream ends with, if any (OpenAI's wording; encoders translate it). */
function endingError(
  failure: UpstreamError | null,
  why: StreamStop['why'] | null,
): StreamFailure | null {
  if (why === 'shutdown') return Object.assign({}, SHUTDOWN_ERROR, { kind: 'shutdown' as const });
  if (!failure) return null;
  const timeout = failure.kind === 'timeout';
  const { message, type, code } = toOpenAiError(
    timeout ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_ERROR',
    failure.message,
  ).error;
  return { message, type, code, kind: timeout ? 'timeout' : 'upstream' };
}

function stopReason(signal: AbortSignal): StreamStop['why'] | null {
  return signal.aborted && signal.reason instanceof StreamStop ? signal.reason.why : null;
}
