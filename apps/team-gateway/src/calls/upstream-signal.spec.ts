import { CallDrain, DrainTicket } from '../shutdown-drain';
import { UpstreamSignal } from './upstream-signal';

/** A call's drain ticket, and the shutdown deadline that cuts it. */
function call(): { deadline: AbortController; ticket: DrainTicket } {
  const deadline = new AbortController();
  return { deadline, ticket: new CallDrain(deadline.signal).enter() };
}

const cutReason = (signal: AbortSignal) => (signal.reason as DOMException).message;

describe('UpstreamSignal (one abort signal per call for its upstream attempts)', () => {
  it('is not aborted while nothing stops the call', () => {
    const upstream = new UpstreamSignal(call().ticket, undefined);
    const signal = upstream.forAttempt();
    expect(signal.aborted).toBe(false);
    expect(upstream.forAttempt()).toBe(signal); // no timeout: the same signal for the next attempt
    expect(upstream.timedOut).toBe(false);
  });

  it('aborts with the reason of the source that stopped the call, after the attempt returned too', () => {
    const { deadline, ticket } = call();
    const client = new AbortController();
    const upstream = new UpstreamSignal(ticket, client.signal);
    const signal = upstream.forAttempt();
    const reason = new Error('client gone');
    client.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(upstream.timedOut).toBe(false);
    deadline.abort();
    expect(ticket.cut).toBe(true);
    expect(signal.reason).toBe(reason); // the first reason stays
  });

  it('the shutdown deadline aborts it with an AbortError, and leaves the client signal alone', () => {
    const { deadline, ticket } = call();
    const client = new AbortController();
    const signal = new UpstreamSignal(ticket, client.signal).forAttempt();
    deadline.abort();
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DOMException).name).toBe('AbortError');
    expect(cutReason(signal)).toMatch(/shutdown deadline/);
    expect(client.signal.aborted).toBe(false);
  });

  it('a timeout aborts that attempt with a TimeoutError; the next attempt gets a live signal', () => {
    const { deadline, ticket } = call();
    const upstream = new UpstreamSignal(ticket);
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
    deadline.abort();
    expect(second.aborted).toBe(true);
    expect(cutReason(second)).toMatch(/shutdown deadline/);
  });

  it('a timeout after the call was cut still counts as timed out, the cut stays the reason', () => {
    const { deadline, ticket } = call();
    const upstream = new UpstreamSignal(ticket);
    const signal = upstream.forAttempt();
    deadline.abort();
    upstream.timeOut();
    expect(upstream.timedOut).toBe(true);
    expect(cutReason(signal)).toMatch(/shutdown deadline/);
  });

  it('starts aborted when a source is aborted already, and so does an attempt after a timeout', () => {
    const client = new AbortController();
    client.abort(new Error('gone before'));
    const upstream = new UpstreamSignal(call().ticket, client.signal);
    expect(upstream.forAttempt().aborted).toBe(true);
    upstream.timeOut();
    const next = upstream.forAttempt();
    expect(next.aborted).toBe(true);
    expect((next.reason as Error).message).toBe('gone before');

    const { deadline, ticket } = call();
    deadline.abort();
    expect(new UpstreamSignal(ticket).forAttempt().aborted).toBe(true);
  });
});
