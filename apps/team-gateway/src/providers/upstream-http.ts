import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createParser, EventSourceMessage } from 'eventsource-parser';
import { Agent, buildConnector, Dispatcher, request } from 'undici';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { UpstreamError } from './provider.types';
import { classifyFailure, statusError } from './upstream-errors';

const ERROR_BODY_LIMIT = 16 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;

export interface UpstreamCall {
  url: string;
  headers: Record<string, string>;
  body: unknown;
  signal: AbortSignal;
  /** The provider key, scrubbed from every error message. */
  secret: string | null;
  /** The exact body bytes to send instead of JSON.stringify(body) (e.g. when they are signed). */
  rawBody?: string;
  /** The provider's own reading of a non-2xx answer (default: by status, see statusError). */
  errorFor?: (
    status: number,
    body: string,
    headers: Dispatcher.ResponseData['headers'],
  ) => UpstreamError;
}

/**
 * The one pooled HTTP client every adapter shares (undici keep-alive Agent). The read timeout
 * (`UPSTREAM_TIMEOUT_MS`) bounds both the wait for headers and every gap between body chunks.
 */
@Injectable()
export class UpstreamHttp implements OnApplicationShutdown {
  private readonly agent: Agent;

  constructor(
    @Inject(TOLLGATE_CONFIG) config: { upstream: Pick<TollgateConfig['upstream'], 'timeoutMs'> },
  ) {
    const connect = buildConnector({ timeout: CONNECT_TIMEOUT_MS });
    // Silence longer than any in-flight timeout means the socket serves nobody: close it. This
    // also reaps the unused connection undici opens after an aborted response (undici#5845).
    const idleSocketMs = config.upstream.timeoutMs + 1000;
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connect: (options, callback) =>
        connect(options, (err, socket) => {
          if (err || !socket) return callback(err ?? new Error('connect failed'), null);
          socket.setTimeout(idleSocketMs, () => socket.destroy());
          callback(null, socket);
        }),
      headersTimeout: config.upstream.timeoutMs,
      bodyTimeout: config.upstream.timeoutMs,
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.destroy();
  }

  /** POSTs JSON and returns the parsed JSON answer; non-2xx and bad JSON become UpstreamErrors. */
  async postJson(call: UpstreamCall): Promise<unknown> {
    const res = await this.send(call, 'application/json');
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw this.failure(err, call);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UpstreamError('malformed_response', 'Upstream answered with invalid JSON', 200);
    }
  }

  /**
   * POSTs JSON and yields the server-sent events of the answer as they arrive, never buffering
   * the whole stream. Stopping the iteration (or aborting the signal) closes the connection.
   * A JSON answer instead of a stream is yielded as one event named `json`.
   */
  async *postStream(call: UpstreamCall): AsyncGenerator<EventSourceMessage> {
    const res = await this.send(call, 'text/event-stream');
    const queue: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => queue.push(event) });
    const decoder = new TextDecoder();
    const contentType = String(res.headers['content-type'] ?? '');
    try {
      if (contentType.includes('application/json')) {
        yield { event: 'json', data: await res.body.text() };
        return;
      }
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        while (queue.length > 0) yield queue.shift() as EventSourceMessage;
      }
      parser.feed(decoder.decode() + '\n\n');
      while (queue.length > 0) yield queue.shift() as EventSourceMessage;
    } catch (err) {
      throw this.failure(err, call);
    } finally {
      // Not read to the end (consumer stopped, error): destroying the body closes the socket.
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  /**
   * POSTs JSON and yields the raw bytes of the answer as they arrive (binary stream framings
   * such as AWS event streams). Stopping the iteration or aborting closes the connection.
   */
  async *postBytes(call: UpstreamCall, accept: string): AsyncGenerator<Buffer> {
    const res = await this.send(call, accept);
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) yield chunk;
    } catch (err) {
      throw this.failure(err, call);
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
  }

  private async send(call: UpstreamCall, accept: string): Promise<Dispatcher.ResponseData> {
    call.signal.throwIfAborted();
    let res: Dispatcher.ResponseData;
    try {
      res = await request(call.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', accept, ...call.headers },
        body: call.rawBody ?? JSON.stringify(call.body),
        signal: call.signal,
      });
    } catch (err) {
      throw this.failure(err, call);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await readCapped(res.body, ERROR_BODY_LIMIT).catch(() => '');
      throw call.errorFor
        ? call.errorFor(res.statusCode, text, res.headers)
        : statusError(res.statusCode, text, call.secret, res.headers['retry-after']);
    }
    return res;
  }

  /** A caller's abort stays an abort; anything else becomes a classified, scrubbed UpstreamError. */
  private failure(err: unknown, call: UpstreamCall): unknown {
    if (call.signal.aborted) return call.signal.reason;
    return classifyFailure(err, call.secret);
  }
}

/** Reads at most `limit` bytes of a body (error pages can be huge), then drops the rest. */
async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    parts.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(parts).toString('utf8').slice(0, limit);
}
