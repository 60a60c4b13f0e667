import { once } from 'node:events';
import type { Response } from 'express';

/**
 * Writes Server-Sent Events to one response: headers of SPEC §6, one `data:` line per event,
 * honouring back-pressure (waits for 'drain'), and tells when the client has gone.
 */
export class SseWriter {
  private readonly closed = new AbortController();
  private started = false;

  constructor(private readonly res: Response) {
    // 'close' on the response fires when the client disconnects (or when we end it).
    res.once('close', () => this.closed.abort());
    // A client that left before we got here (while the call was being prepared) will not close again.
    if (res.destroyed || res.socket?.destroyed) this.closed.abort();
  }

  /** Aborts when the client disconnects. */
  get clientGone(): AbortSignal {
    return this.closed.signal;
  }

  get hasStarted(): boolean {
    return this.started;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.status(200);
    this.res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    this.res.setHeader('Cache-Control', 'no-cache');
    this.res.setHeader('Connection', 'keep-alive');
    this.res.setHeader('X-Accel-Buffering', 'no');
    this.res.flushHeaders();
  }

  /** Sends one event; resolves once the socket can take more (or the client is gone). */
  async send(data: unknown): Promise<void> {
    this.start();
    if (this.closed.signal.aborted) return;
    const ok = this.res.write(
      `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
    );
    if (!ok && !this.closed.signal.aborted) {
      // `signal` removes the drain listener when the client leaves instead of draining.
      await once(this.res, 'drain', { signal: this.closed.signal }).catch(() => undefined);
    }
  }

  /** Ends the stream with `data: [DONE]`. */
  async done(): Promise<void> {
    await this.send('[DONE]');
    this.res.end();
  }

  /** After the first byte an error can only travel inside the stream: error event, then [DONE]. */
  async fail(error: { message: string; type: string; code: string | null }): Promise<void> {
    await this.send({ error: { ...error, param: null } });
    await this.done();
  }
}
