import { CallDrain } from './shutdown-drain';

describe('CallDrain', () => {
  it('cuts every call in flight when the shutdown deadline passes, and calls started after it', () => {
    const deadline = new AbortController();
    const drain = new CallDrain(deadline.signal);
    const first = drain.enter();
    const second = drain.enter();
    second.leave();
    expect(first.cut).toBe(false);
    deadline.abort();
    expect(first.cut).toBe(true);
    expect(second.cut).toBe(false); // already settled: nothing to cut
    expect(drain.enter().cut).toBe(true);
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
    ticket.onCut(() => {
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

  it('calls back the listeners of a cut call once, not those taken back, and at once after the cut', () => {
    const deadline = new AbortController();
    const drain = new CallDrain(deadline.signal);
    const ticket = drain.enter();
    const heard: string[] = [];
    const taken = () => heard.push('taken back');
    ticket.onCut(() => heard.push('first'));
    ticket.onCut(taken);
    ticket.offCut(taken);
    deadline.abort();
    drain.cut(); // again: nothing more
    ticket.onCut(() => heard.push('late'));
    expect(heard).toEqual(['first', 'late']);
    const { leave } = ticket; // bound: settle code passes it as is
    leave();
    expect(drain.size).toBe(0);
  });
});
