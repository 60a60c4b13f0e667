import { UpstreamSignal } from './upstream-signal';

describe('UpstreamSignal (one abort signal per call for its upstream attempts)', () => {
  it('is not aborted while nothing stops the call', () => {
    const cut = new AbortController();
    const upstream = new UpstreamSignal(cut.signal, undefined);
    const signal = upstream.forAttempt();
    expect(signal.aborted).toBe(false);
    expect(upstream.forAttempt()).toBe(signal); // no timeout: the same signal for the next attempt
    expect(upstream.timedOut).toBe(false);
  });

  it('aborts with the reason of the source that stopped the call, after the attempt returned too', () => {
    const cut = new AbortController();
    const client = new AbortController();
    const upstream = new UpstreamSignal(cut.signal, client.signal);
    const signal = upstream.forAttempt();
    const reason = new Error('client gone');
    client.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(upstream.timedOut).toBe(false);
    cut.abort(new Error('later'));
    expect(signal.reason).toBe(reason); // the first reason stays
  });

  it('a timeout aborts that attempt with a TimeoutError; the next attempt gets a live signal', () => {
    const cut = new AbortController();
    const upstream = new UpstreamSignal(cut.signal);
    const first = upstream.forAttempt();
    upstream.timeOut();
    expect(first.aborted).toBe(true);
    expect((first.reason as DOMException).name).toBe('TimeoutError');
    expect(upstream.timedOut).toBe(true);

    const second = upstream.forAttempt();
    expect(second).not.toBe(first);
    expect(second.aborted).toBe(false);
    expect(upstream.timedOut).toBe(false);
    // the sources still reach the renewed signal
    const reason = new Error('shutdown');
    cut.abort(reason);
    expect(second.reason).toBe(reason);
  });

  it('a timeout after the call was cut still counts as timed out, the cut stays the reason', () => {
    const cut = new AbortController();
    const upstream = new UpstreamSignal(cut.signal);
    const signal = upstream.forAttempt();
    cut.abort(new Error('shutdown'));
    upstream.timeOut();
    expect(upstream.timedOut).toBe(true);
    expect((signal.reason as Error).message).toBe('shutdown');
  });

  it('starts aborted when a source is aborted already, and so does an attempt after a timeout', () => {
    const cut = new AbortController();
    cut.abort(new Error('cut before'));
    const upstream = new UpstreamSignal(cut.signal);
    expect(upstream.forAttempt().aborted).toBe(true);
    upstream.timeOut();
    const next = upstream.forAttempt();
    expect(next.aborted).toBe(true);
    expect((next.reason as Error).message).toBe('cut before');
  });
});
