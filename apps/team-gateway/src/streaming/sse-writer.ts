import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { SseEvent } from './stream-encoder';

/** Once the gateway has stopped a stream itself, the client gets this long to take the rest. */
const FINAL_FLUSH_MS = 1000;

/**
 * Writes Server-Sent Events to one response: headers of SPEC §6, one `data:` line per event,
 * honouring back-pressure (waits for 'drain'), and tells when the client has gone. A client that
 * takes nothing for `stallMs` while the socket is full counts as gone: its socket is destroyed,
 * so a reader that stopped reading cannot pin the upstream stream and its credit hold.
 */
export class SseWriter {
  private readonly closed = new AbortController();
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    /** Aborts when the gateway stops the stream itself (shutdown deadline, idle upstream). */
    private readonly stop: AbortSignal,
    private readonly stallMs: number,
  ) {
    // 'close' on the response fires when the client disconnects (or when we end it).
    res.once('close', () => this.closed.abort());
    // A client that left before we got here (while the call was being prepared) will not close again.
    if (res.destroyed || res.socket?.destroyed) this.closed.abort();
  }

  /** Aborts when the client disconnects or is dropped for not reading. */
  get clientGone(): AbortSignal {
    return this.closed.signal;
  }

  get hasStarted(): boolean {
    return this.started;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.statusCode = 200;
    this.res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    this.res.setHeader('Cache-Control', 'no-cache');
    this.res.setHeader('Connection', 'keep-alive');
    this.res.setHeader('X-Accel-Buffering', 'no');
    // no flushHeaders(): start() runs right before the first write or the end, and Node sends the
    // headers with that first chunk, one socket write (and one wake-up of the client) instead of two
  }

  /** Sends one `data:` event; resolves once the socket can take more, the client is gone, or the stream stopped. */
  async send(data: unknown): Promise<void> {
    await this.sendEvent({ data });
  }

  /** Sends one event, named when `event` is set (Anthropic's and the Responses API's streams). */
  async sendEvent({ event, data }: SseEvent): Promise<void> {
    this.start();
    if (this.closed.signal.aborted) return;
    const name = event ? `event: ${event}\n` : '';
    const ok = this.res.write(
      `${name}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
    );
    if (!ok) await this.drained();
  }

  /** Ends the stream with `data: [DONE]`; a client that never takes the rest loses its socket. */
  async done(): Promise<void> {
    await this.send('[DONE]');
    this.close();
  }

  /** Ends the stream (after the surface's own closing events); a client that never takes the rest loses its socket. */
  close(): void {
    this.start();
    this.res.end();
    if (this.closed.signal.aborted || this.res.writableFinished) return;
    const grace = this.stop.aborted ? Math.min(FINAL_FLUSH_MS, this.stallMs) : this.stallMs;
    const timer = setTimeout(() => this.drop(), grace);
    this.res.once('close', () => clearTimeout(timer));
  }

  /** After the first byte an error can only travel inside the stream: error event, then [DONE]. */
  async fail(error: { message: string; type: string; code: string | null }): Promise<void> {
    await this.send({ error: Object.assign({}, error, { param: null }) });
    await this.done();
  }

  private async drained(): Promise<void> {
    const stalled = new AbortController();
    const timer = setTimeout(() => stalled.abort(), this.stallMs);
    // `signal` removes the drain listener when waiting ends some other way.
    const signal = AbortSignal.any([this.closed.signal, this.stop, stalled.signal]);
    try {
      await once(this.res, 'drain', { signal });
    } catch {
      if (stalled.signal.aborted) this.drop();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Gives up on the client: no more writes, and its socket is closed. */
  private drop(): void {
    this.closed.abort();
    this.res.destroy();
  }
}
