import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { CallRecord, JobCallEntry } from '../../../libs/billing/src';
import { JobsSweep } from '../src/jobs/jobs.sweep';
import { CallJournal } from '../src/metering/call-journal';
import { RunningApp, startGateway } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { requestRoundTrips } from '../../../test/helpers/round-trips';
import { hello, World } from './gateway-fixtures';

/** Every team is leased from its first call (the default leases only busy teams). */
const LEASED = { LEASE_MIN_CALLS_PER_SECOND: '0', LEASE_IDLE_MS: '300' };
/** Each call costs exactly 1 credit (ceil(tokens / 1,000,000)). */
const ONE_PER_CALL = { budget_mode: 'consumption_tokens', tokens_per_credit: 1_000_000 } as const;

interface Completion {
  status: string;
  costs: {
    total_calls: number;
    successful_calls: number;
    credits_charged: number;
    credits_remaining: number;
  };
}

/**
 * Calls on explicit jobs (`POST /api/jobs/create`, then `/api/jobs/{id}/llm-call`) on credit
 * leases and the call journal, across two replicas sharing the jobs' state in Redis
 * (docs/design/metering.md, "Explicit jobs on leases").
 */
describe('explicit jobs on credit leases across two replicas', () => {
  let w: World;
  let replicas: RunningApp[];
  let model: string;
  let group: string;

  beforeAll(async () => {
    w = await World.start(LEASED);
    replicas = [w.gateway, await startGateway(LEASED)];
    ({ model, group } = await w.modelInGroup());
  });
  afterAll(async () => {
    await replicas[1].close();
    await w.stop();
  });
  afterEach(() => w.fake.reset());

  const open = async (replica: RunningApp, key: string): Promise<string> => {
    const res = await call<{ job_id: string }>(replica.url, 'POST', '/api/jobs/create', {
      bearer: key,
      body: { job_type: 'explicit' },
    });
    expect(res.status).toBe(201);
    return res.body.job_id;
  };
  const llmCall = (replica: RunningApp, key: string, jobId: string) =>
    call(replica.url, 'POST', `/api/jobs/${jobId}/llm-call`, {
      bearer: key,
      body: { model, messages: hello, max_tokens: 5 },
    });
  const complete = (replica: RunningApp, key: string, jobId: string) =>
    call<Completion>(replica.url, 'POST', `/api/jobs/${jobId}/complete`, {
      bearer: key,
      body: { status: 'completed' },
    });
  const leases = async (teamId: string) =>
    (
      await w.pg.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM credit_leases WHERE team_id = $1',
        [teamId],
      )
    ).rows[0].n;
  const deductions = async (teamId: string) =>
    (
      await w.pg.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM credit_transactions
          WHERE team_id = $1 AND transaction_type = 'deduction'`,
        [teamId],
      )
    ).rows[0].n;

  /** Leases given back, the journal written: the books as the SPEC states them. */
  async function settledBooks(teamId: string) {
    const row = await w.settled(teamId);
    expect(row.ledger_sum).toBe(row.allocated - row.used);
    return row;
  }

  it('a call on an explicit job makes no synchronous PostgreSQL round trip once its team is leased', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 1000, ...ONE_PER_CALL });
    const jobId = await open(replicas[0], key);
    // the first call finds no lease yet: the exact path (a hold and a settle), which starts a grant
    const first = requestRoundTrips();
    expect((await llmCall(replicas[0], key, jobId)).status).toBe(200);
    expect(first.count()).toBeGreaterThanOrEqual(2);
    await eventually(async () => (await leases(teamId)) > 0, 5000);
    const trips = requestRoundTrips();
    for (let i = 0; i < 10; i++) expect((await llmCall(replicas[0], key, jobId)).status).toBe(200);
    expect(trips.count()).toBe(0);
    const done = await complete(replicas[0], key, jobId);
    expect(done.status).toBe(200);
    expect(done.body.costs).toMatchObject({
      total_calls: 11,
      successful_calls: 11,
      credits_charged: 11,
    });
    expect(await settledBooks(teamId)).toMatchObject({ allocated: 1000, used: 11, held: 0 });
    expect(await deductions(teamId)).toBe(11);
  });

  it('job_based: once the team is leased, a job’s first call takes its credit from the lease (no round trip), the later ones cost nothing', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 10 });
    const jobId = await open(replicas[0], key);
    // no lease yet: the exact hold (with, for a team this replica has not seen, its settings and
    // model groups), which starts a grant
    const first = requestRoundTrips();
    expect((await llmCall(replicas[0], key, jobId)).status).toBe(200);
    expect(first.count()).toBeGreaterThanOrEqual(2);
    await eventually(async () => (await leases(teamId)) > 0, 5000);
    const trips = requestRoundTrips();
    for (let i = 0; i < 10; i++) expect((await llmCall(replicas[0], key, jobId)).status).toBe(200);
    expect(trips.count()).toBe(0);
    // a second job: its first call reserves the job's credit from the lease, in memory
    const second = await open(replicas[0], key);
    const secondTrips = requestRoundTrips();
    for (let i = 0; i < 5; i++) expect((await llmCall(replicas[0], key, second)).status).toBe(200);
    expect(secondTrips.count()).toBe(0);
    // the journal moves that credit from the lease to the job's hold; the job starts
    const holdOf = async (id: string) =>
      (
        await w.pg.query<{ status: string; holds: number }>(
          `SELECT status, (SELECT count(*)::int FROM credit_holds WHERE job_id = $1) AS holds
             FROM jobs WHERE job_id = $1`,
          [id],
        )
      ).rows[0];
    await eventually(async () => (await holdOf(second)).holds === 1, 5000);
    expect(await holdOf(second)).toEqual({ status: 'in_progress', holds: 1 });
    for (const [id, calls] of [
      [jobId, 11],
      [second, 5],
    ] as const) {
      const done = await complete(replicas[0], key, id);
      expect(done.body.costs).toMatchObject({ total_calls: calls, credits_charged: 1 });
    }
    expect(await settledBooks(teamId)).toMatchObject({ used: 2, held: 0 });
    expect(await deductions(teamId)).toBe(2);
  });

  it('complete waits for calls in flight on another replica; its totals include them; later calls get 409', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 1000, ...ONE_PER_CALL });
    const jobId = await open(replicas[0], key);
    // replica 1 takes a lease for the team
    expect((await llmCall(replicas[1], key, jobId)).status).toBe(200);
    await eventually(async () => (await leases(teamId)) > 0, 5000);
    expect((await llmCall(replicas[1], key, jobId)).status).toBe(200);
    const leasedTrips = requestRoundTrips();
    expect((await llmCall(replicas[1], key, jobId)).status).toBe(200);
    expect(leasedTrips.count()).toBe(0);

    w.fake.setBehavior({ perModel: { [model]: { mode: 'slow', delayMs: 1500 } } });
    const sent = w.fake.requests.length;
    const inFlight = Array.from({ length: 3 }, () => llmCall(replicas[1], key, jobId));
    // the three calls are reserved and waiting upstream
    await eventually(() => Promise.resolve(w.fake.requests.length - sent === 3), 5000, 10);
    const done = await complete(replicas[0], key, jobId);
    expect(done.status).toBe(200);
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(done.body.costs).toMatchObject({
      total_calls: 6,
      successful_calls: 6,
      credits_charged: 6,
    });
    w.fake.setBehavior({ perModel: {} });
    for (const replica of replicas) {
      const late = await llmCall(replica, key, jobId);
      expect(late.status).toBe(409);
    }
    expect(await settledBooks(teamId)).toMatchObject({ used: 6, held: 0 });
    expect(await deductions(teamId)).toBe(6);
  });

  it('complete writes the job’s records another replica left in the stream (answered, not yet written) first', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 100, ...ONE_PER_CALL });
    const jobId = await open(replicas[0], key);
    expect((await llmCall(replicas[0], key, jobId)).status).toBe(200);
    // a replica appended a call's record and answered, then died before its journal wrote it
    const journal = replicas[1].app.get(CallJournal);
    const orphan: JobCallEntry = {
      joined: { job_id: jobId, team_id: teamId, key_id: null },
      leaseId: null,
      charge: 1,
      reason: 'LLM call orphan',
      calls: [orphanCall(jobId, teamId)],
    };
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      await redis.xadd(journal.streamKey, '*', 'p', JSON.stringify(orphan));
      await redis.hset(`tollgate:job:${journal.tag}:${jobId}`, 'leased', '1');
    } finally {
      redis.disconnect();
    }
    const done = await complete(replicas[0], key, jobId);
    expect(done.status).toBe(200);
    expect(done.body.costs).toMatchObject({ total_calls: 2, credits_charged: 2 });
    expect(await settledBooks(teamId)).toMatchObject({ used: 2, held: 0 });
    expect(await deductions(teamId)).toBe(2);
  });

  it('a call whose replica died does not hold up a close, and the sweep passes over a job with a call running', async () => {
    const { key } = await w.team({ groups: [group], credits: 100, ...ONE_PER_CALL });
    const { tag } = replicas[0].app.get(CallJournal);
    const calls = (jobId: string) => `tollgate:job:${tag}:${jobId}:calls`;
    const status = async (jobId: string) =>
      (await w.pg.query<{ status: string }>('SELECT status FROM jobs WHERE job_id = $1', [jobId]))
        .rows[0].status;
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      // a replica killed mid-call leaves its entry: started long before the close's wait
      const dead = await open(replicas[0], key);
      expect((await llmCall(replicas[0], key, dead)).status).toBe(200);
      await redis.zadd(calls(dead), 0, 'killed-mid-call');
      expect((await complete(replicas[1], key, dead)).status).toBe(200); // no wait for it

      // past JOB_TTL: one job has a call running right now, the other none
      const [busy, idle] = [await open(replicas[0], key), await open(replicas[0], key)];
      for (const jobId of [busy, idle]) {
        expect((await llmCall(replicas[0], key, jobId)).status).toBe(200);
      }
      await w.pg.query(
        `UPDATE jobs SET created_at = now() - interval '30 days' WHERE job_id = ANY($1)`,
        [[busy, idle]],
      );
      const [seconds, micros] = await redis.time();
      await redis.zadd(
        calls(busy),
        Number(seconds) * 1000 + Math.floor(Number(micros) / 1000),
        'running',
      );
      const sweep = replicas[0].app.get(JobsSweep);
      await sweep.tick();
      await eventually(async () => (await status(idle)) === 'completed', 10_000);
      expect(await status(busy)).toBe('in_progress'); // passed over: still open
      await redis.zrem(calls(busy), 'running'); // the call ended: the next tick closes the job
      await sweep.tick();
      await eventually(async () => (await status(busy)) === 'completed', 10_000);
    } finally {
      redis.disconnect();
    }
  });

  it('job_based: many concurrent calls over two replicas charge the job’s credit once', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 3 });
    const jobId = await open(replicas[1], key);
    for (let round = 0; round < 2; round++) {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => llmCall(replicas[i % 2], key, jobId)),
      );
      expect(results.filter((r) => r.status !== 200).map((r) => r.body as unknown)).toEqual([]);
    }
    const done = await complete(replicas[0], key, jobId);
    expect(done.body.costs).toMatchObject({
      total_calls: 80,
      successful_calls: 80,
      credits_charged: 1,
    });
    expect(await settledBooks(teamId)).toMatchObject({ allocated: 3, used: 1, held: 0 });
    expect(await deductions(teamId)).toBe(1);
  });

  it('exhaustion: a job’s calls over two replicas spend the team down to exactly 0, never below', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 20, ...ONE_PER_CALL });
    const jobId = await open(replicas[0], key);
    const before = w.fake.requests.length;
    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) => llmCall(replicas[i % 2], key, jobId)),
    );
    const ok = results.filter((r) => r.status === 200).length;
    const other = results.filter((r) => r.status !== 200 && r.status !== 403);
    expect(other.map((r) => ({ status: r.status, body: r.body as unknown }))).toEqual([]);
    expect(ok).toBe(20);
    expect(w.fake.requests.length - before).toBe(20);
    const done = await complete(replicas[1], key, jobId);
    expect(done.body.costs).toMatchObject({
      total_calls: 20,
      successful_calls: 20,
      credits_charged: 20,
    });
    expect(await settledBooks(teamId)).toMatchObject({ allocated: 20, used: 20, held: 0 });
    expect(await deductions(teamId)).toBe(20);
  });
});

/** A successful call's row as a replica records it (1 credit under ONE_PER_CALL). */
function orphanCall(jobId: string, teamId: string): CallRecord {
  return {
    call_id: randomUUID(),
    job_id: jobId,
    team_id: teamId,
    key_id: null,
    model_requested: 'orphan',
    model_name: 'orphan',
    model_id: null,
    provider: 'openai-compatible',
    provider_model: 'orphan',
    attempt: 1,
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
    cached_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    provider_cost_usd: 0.0001,
    client_cost_usd: 0.0001,
    input_price_per_million: 2,
    output_price_per_million: 8,
    markup_percentage: 0,
    latency_ms: 20,
    status: 'success',
    error_class: null,
    error_message: null,
    purpose: null,
    streamed: false,
    finish_reason: 'stop',
    call_metadata: {},
    charged: true,
  };
}
