import { hello, World } from './gateway-fixtures';

describe('credits under concurrency', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start();
  });
  afterAll(() => w.stop());

  it('200 concurrent one-call jobs on 50 credits: exactly 50 succeed and are charged', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 50 });
    const upstreamBefore = w.fake.requests.length;
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        w.gw('POST', '/api/jobs/create-and-call', key, {
          job_type: 'race',
          model,
          messages: hello,
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 403);
    expect(ok).toHaveLength(50);
    expect(refused).toHaveLength(150);
    for (const r of refused) {
      expect(r.body).toEqual({ detail: 'Insufficient credits', code: 'INSUFFICIENT_CREDITS' });
    }

    expect(await w.settled(teamId)).toEqual({
      allocated: 50,
      used: 50,
      held: 0,
      ledger_sum: 0,
      holds: 0,
    });
    const ledger = await w.pg.query(
      `SELECT count(*)::int AS n, min(credits_after)::int AS lowest,
              count(DISTINCT job_id)::int AS jobs
         FROM credit_transactions WHERE team_id = $1 AND transaction_type = 'deduction'`,
      [teamId],
    );
    expect(ledger.rows[0]).toEqual({ n: 50, lowest: 0, jobs: 50 });
    const jobs = await w.pg.query(
      `SELECT status, count(*)::int AS n FROM jobs WHERE team_id = $1 GROUP BY status ORDER BY status`,
      [teamId],
    );
    expect(jobs.rows).toEqual([
      { status: 'completed', n: 50 },
      { status: 'failed', n: 150 },
    ]);
    // each refused job made no upstream request
    const calls = await w.pg.query('SELECT count(*)::int AS n FROM llm_calls WHERE team_id = $1', [
      teamId,
    ]);
    expect(calls.rows[0].n).toBe(50);
    expect(w.fake.requests.length - upstreamBefore).toBe(50); // as the upstream itself counted
  });

  it('consumption_tokens under concurrency: the balance never goes below zero and the ledger matches', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({
      groups: [group],
      credits: 30,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 5,
    });
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        w.gw('POST', '/api/jobs/create-and-call', key, {
          job_type: 'race',
          model,
          messages: hello,
          max_tokens: 5,
        }),
      ),
    );
    expect(results.every((r) => r.status === 200 || r.status === 403)).toBe(true);
    expect(results.some((r) => r.status === 403)).toBe(true);
    const row = await w.settled(teamId);
    expect(row.held).toBe(0);
    expect(row.holds).toBe(0);
    expect(row.used).toBeLessThanOrEqual(30);
    expect(row.ledger_sum).toBe(row.allocated - row.used);
    const sum = await w.pg.query(
      'SELECT COALESCE(sum(credits_charged), 0)::int AS charged FROM llm_calls WHERE team_id = $1',
      [teamId],
    );
    expect(sum.rows[0].charged).toBe(row.used);
  });
  it('many concurrent calls on ONE job, racing its completion, never deadlock and stay ledgered', async () => {
    // The hold locks the job then the team; a settle locks the team and then (through the
    // llm_calls and ledger foreign keys) key-shares the job. The job lock must not conflict
    // with that key-share, or 2+ calls on one job deadlock (found by `npm run bench`).
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({
      groups: [group],
      credits: 1_000_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });
    const job = await w.gw('POST', '/api/jobs/create', key, { job_type: 'one-job-race' });
    expect(job.status).toBe(201);
    const jobId = job.body.job_id as string;
    const calls = Array.from({ length: 64 }, () =>
      w.gw('POST', `/api/jobs/${jobId}/llm-call`, key, { model, messages: hello, max_tokens: 8 }),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200));

    // now calls racing the completion: each is either answered or refused as closed (409)
    const racing = await Promise.all([
      ...Array.from({ length: 16 }, () =>
        w.gw('POST', `/api/jobs/${jobId}/llm-call`, key, { model, messages: hello, max_tokens: 8 }),
      ),
      w.gw('POST', `/api/jobs/${jobId}/complete`, key, { status: 'completed' }),
    ]);
    for (const r of racing) expect([200, 409]).toContain(r.status);

    // a busy team's calls on the job are metered from a lease: the books once it is given back
    const row = await w.settled(teamId);
    expect(row).toMatchObject({ held: 0, holds: 0, ledger_sum: row.allocated - row.used });
    const charged = await w.pg.query(
      `SELECT COALESCE(sum(credits_charged), 0)::int AS charged, count(*)::int AS n
         FROM llm_calls WHERE job_id = $1`,
      [jobId],
    );
    expect(charged.rows[0].charged).toBe(row.used);
    expect(charged.rows[0].n).toBe(64 + racing.filter((r) => r.status === 200).length - 1);
  });
});
