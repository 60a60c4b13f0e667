import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { SseWriter } from './sse-writer';

/** A response double recording writes, with controllable back-pressure. */
class FakeResponse extends EventEmitter {
  headers: Record<string, string> = {};
  chunks: string[] = [];
  statusCode = 0;
  ended = false;
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
    this.emit('close');
  }
}

describe('SseWriter', () => {
  it('sets the SSE headers and frames events, ending with [DONE]', async () => {
    const res = new FakeResponse();
    const sse = new SseWriter(res as unknown as Response);
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
    const sse = new SseWriter(res as unknown as Response);
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
    const sse = new SseWriter(res as unknown as Response);
    res.full = true;
    const pending = sse.send({ n: 1 });
    res.emit('close');
    await pending;
    expect(sse.clientGone.aborted).toBe(true);
  });

  it('sends an error event then [DONE] after the first byte', async () => {
    const res = new FakeResponse();
    const sse = new SseWriter(res as unknown as Response);
    await sse.send({ ok: true });
    await sse.fail({ message: 'upstream failed', type: 'api_error', code: 'upstream_error' });
    expect(res.chunks.slice(1)).toEqual([
      'data: {"error":{"message":"upstream failed","type":"api_error","code":"upstream_error","param":null}}\n\n',
      'data: [DONE]\n\n',
    ]);
  });
});
