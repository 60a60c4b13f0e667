import { CallDrain } from './shutdown-drain';

describe('CallDrain', () => {
  it('cuts every call in flight when the shutdown deadline passes, and calls started after it', () => {
    const deadline = new AbortController();
    const drain = new CallDrain(deadline.signal);
    const first = drain.enter();
    const second = drain.enter();
    second.leave();
    expect(first.cut.aborted).toBe(false);
    deadline.abort();
    expect(first.cut.aborted).toBe(true);
    expect(second.cut.aborted).toBe(false); // already settled: nothing to cut
    expect(drain.enter().cut.aborted).toBe(true);
  });

  it('counts tracked work until it ends, failed or not', async () => {
    const drain = new CallDrain(new AbortController().signal);
    let fail!: (err: Error) => void;
    const work = drain.track(new Promise((_, reject) => (fail = reject)));
    expect(drain.size).toBe(1);
    fail(new Error('boom'));
    await expect(work).rejects.toThrow('boom');
    expect(drain.size).toBe(0);
  });

  it('on close, cuts what still runs and waits until it is settled', async () => {
    const drain = new CallDrain(new AbortController().signal);
    const ticket = drain.enter();
    const events: string[] = [];
    // a call that settles (leaves) once it is cut, a little later
    ticket.cut.addEventListener('abort', () => {
      events.push('cut');
      setImmediate(() => {
        events.push('settled');
        ticket.leave();
        ticket.leave(); // twice is harmless
      });
    });
    await drain.close();
    events.push('closed');
    expect(events).toEqual(['cut', 'settled', 'closed']);
    expect(drain.size).toBe(0);
  });
});
