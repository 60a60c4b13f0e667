import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { SseWriter } from './sse-writer';

/** A response double recording writes, with controllable back-pressure. */
class FakeResponse extends EventEmitter {
  headers: Record<string, string> = {};
  chunks: string[] = [];
  statusCode = 0;
  ended = false;
  destroyed = false;
  writableFinished = false;
  full = false;
  status(code: number) {
    this.statusCode = code;
    return this;
  }
  setHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  flushHeaders() {}
  write(chunk: string) {
    this.chunks.push(chunk);
    return !this.full;
  }
  end() {
    this.ended = true;
    // a full socket keeps the end queued until the client reads
    if (this.full) return;
    this.writableFinished = true;
    this.emit('close');
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
}

const writer = (res: FakeResponse, stop = new AbortController().signal, stallMs = 60_000) =>
  new SseWriter(res as unknown as Response, stop, stallMs);
const tick = () => new Promise((r) => setImmediate(r));

describe('SseWriter', () => {
  it('sets the SSE headers and frames events, ending with [DONE]', async () => {
    const res = new FakeResponse();
    const sse = writer(res);
    await sse.send({ a: 1 });
    await sse.done();
    expect(res.statusCode).toBe(200);
    expect(res.headers['Content-Type']).toMatch(/^text\/event-stream/);
    expect(res.headers['Cache-Control']).toBe('no-cache');
    expect(res.headers['X-Accel-Buffering']).toBe('no');
    expect(res.chunks).toEqual(['data: {"a":1}\n\n', 'data: [DONE]\n\n']);
    expect(res.ended).toBe(true);
  });

  it('waits for drain when the socket is full', async () => {
    const res = new FakeResponse();
    const sse = writer(res);
    res.full = true;
    let resolved = false;
    const pending = sse.send({ n: 1 }).then(() => (resolved = true));
    await new Promise((r) => setImmediate(r));
    expect(resolved).toBe(false);
    res.full = false;
    res.emit('drain');
    await pending;
    expect(resolved).toBe(true);
  });

  it('reports a client that went away and stops waiting', async () => {
    const res = new FakeResponse();
    const sse = writer(res);
    res.full = true;
    const pending = sse.send({ n: 1 });
    res.emit('close');
    await pending;
    expect(sse.clientGone.aborted).toBe(true);
  });

  it('sends an error event then [DONE] after the first byte', async () => {
    const res = new FakeResponse();
    const sse = writer(res);
    await sse.send({ ok: true });
    await sse.fail({ message: 'upstream failed', type: 'api_error', code: 'upstream_error' });
    expect(res.chunks.slice(1)).toEqual([
      'data: {"error":{"message":"upstream failed","type":"api_error","code":"upstream_error","param":null}}\n\n',
      'data: [DONE]\n\n',
    ]);
  });

  it('stops waiting for drain when the gateway stops the stream (shutdown deadline)', async () => {
    const res = new FakeResponse();
    const stop = new AbortController();
    const sse = writer(res, stop.signal);
    res.full = true;
    let resolved = false;
    const pending = sse.send({ n: 1 }).then(() => (resolved = true));
    await tick();
    expect(resolved).toBe(false);
    stop.abort();
    await pending;
    // the client is not dropped for that: the error event and [DONE] still go out
    expect(sse.clientGone.aborted).toBe(false);
    expect(res.destroyed).toBe(false);
  });

  it('drops a client that takes nothing for the stall timeout, as gone', async () => {
    const res = new FakeResponse();
    const sse = writer(res, new AbortController().signal, 20);
    res.full = true;
    await sse.send({ n: 1 });
    expect(res.destroyed).toBe(true);
    expect(sse.clientGone.aborted).toBe(true);
    await sse.send({ n: 2 });
    expect(res.chunks).toHaveLength(1);
  });

  it('destroys a response whose end the client never takes', async () => {
    const res = new FakeResponse();
    const stop = new AbortController();
    const sse = writer(res, stop.signal, 60_000);
    await sse.send({ n: 1 });
    res.full = true;
    stop.abort();
    // after a stop, the last events get a short grace, not the whole stall timeout
    jest.useFakeTimers();
    try {
      await sse.fail({ message: 'shutting down', type: 'api_error', code: 'shutting_down' });
      expect(res.ended).toBe(true);
      expect(res.destroyed).toBe(false);
      jest.advanceTimersByTime(1000);
      expect(res.destroyed).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});
