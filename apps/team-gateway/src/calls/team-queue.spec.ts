import { TeamQueue } from './team-queue';

describe('TeamQueue', () => {
  it('runs one team’s work in order, one at a time, other teams alongside, and forgets idle teams', async () => {
    const queue = new TeamQueue();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const job = (team: string, n: number, fail = false) =>
      queue.run(team, async () => {
        running += 1;
        most = Math.max(most, running);
        log.push(`${team}${n}+`);
        await new Promise((r) => setTimeout(r, 5));
        log.push(`${team}${n}-`);
        running -= 1;
        if (fail) throw new Error('boom');
        return n;
      });
    const results = await Promise.allSettled([
      job('a', 1),
      job('a', 2, true),
      job('a', 3),
      job('b', 1),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    const a = log.filter((l) => l.startsWith('a'));
    expect(a).toEqual(['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
    expect(most).toBe(2); // a and b side by side, never two of a
    await new Promise((r) => setTimeout(r, 0));
    expect((queue as unknown as { tails: Map<string, unknown> }).tails.size).toBe(0);
  });
});
