import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { RunningApp, startAdmin, startGateway, uid } from './helpers/apps';
import { call, eventually } from './helpers/http';
import { writeReport } from './helpers/report';

/** A private redis-server this spec may hang (SIGSTOP), kill and start again on the same port. */
class PrivateRedis {
  private process: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    server.close();
    const redis = new PrivateRedis(port);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ];
    this.process = spawn('redis-server', args, { stdio: 'ignore' });
    await eventually(() => this.answers(), 5000, 50);
  }

  hang(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async kill(): Promise<void> {
    const dying = this.process;
    if (!dying || dying.exitCode !== null || dying.signalCode !== null) return;
    dying.kill('SIGKILL');
    await once(dying, 'exit');
    this.process = null;
  }

  /** PING over a raw socket, 300 ms at most. */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = createConnection({ port: this.port, host: '127.0.0.1' });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(300, () => done(false));
      socket.on('error', () => done(false));
      socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
      socket.write('PING\r\n');
    });
  }
}

/**
 * How long Redis stays away, from the first hang to the restart: 8 s in `npm test`;
 * `npm run test:reliability` sets OUTAGE_SECONDS=30 (the goal is measured over 30 s).
 */
const OUTAGE_MS = Math.max(8, Number(process.env.OUTAGE_SECONDS ?? 8) || 8) * 1000;
jest.setTimeout(OUTAGE_MS + 100_000);

interface Sample {
  sentAt: number;
  ms: number;
  status: number;
  kind: string;
}

/** Sends `send` again and again from `loops` concurrent loops until stopped (or the caps). */
function steadyLoad(
  loops: number,
  send: (loop: number, n: number) => { kind: string; status: Promise<number> },
) {
  const samples: Sample[] = [];
  let stopped = false;
  const deadline = Date.now() + OUTAGE_MS + 80_000; // a cap: the test stops it
  const run = async (loop: number) => {
    for (let n = 0; n < 20_000 && !stopped && Date.now() < deadline; n++) {
      const sentAt = Date.now();
      const request = send(loop, n);
      const status = await request.status.catch(() => 0);
      samples.push({ sentAt, ms: Date.now() - sentAt, status, kind: request.kind });
    }
  };
  const running = Promise.all(Array.from({ length: loops }, (_, i) => run(i)));
  return {
    samples,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

/**
 * Redis hangs, comes back, hangs again and dies, then comes back on the same port: the apps keep
 * serving valid keys (key lookups from PostgreSQL, per-replica rate limits, journal written
 * through), admin changes succeed and still reach every replica within 1 s, readiness says
 * Redis is down, and everything is shared again once it returns, without restarting anything.
 */
describe('a Redis outage', () => {
  let redis: PrivateRedis;
  let admin: RunningApp;
  let gateways: RunningApp[];
  let pg: Client;
  const org = uid('org');
  const model = uid('model');
  const group = uid('group');

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const env = { REDIS_URL: redis.url };
    // credit leases from 2 calls/s: the leased calls' records go through the Redis journal
    const gatewayEnv = { ...env, LEASE_MIN_CALLS_PER_SECOND: '2' };
    [admin, ...gateways] = await Promise.all([
      startAdmin(env),
      startGateway(gatewayEnv),
      startGateway(gatewayEnv),
    ]);
    pg = new Client({ connectionString: process.env.DATABASE_URL });
    await pg.connect();
    const setup: Array<[string, unknown]> = [
      ['/api/organizations/create', { organization_id: org, name: org }],
      [
        '/api/models/create',
        {
          model_name: model,
          provider: 'mock',
          provider_model: 'mock-1',
          input_price_per_million: 1,
          output_price_per_million: 2,
        },
      ],
      ['/api/model-groups/create', { group_name: group, models: [model] }],
    ];
    for (const [path, body] of setup) {
      const res = await call(admin.url, 'POST', path, { admin: true, body });
      if (res.status !== 201) throw new Error(`${path}: ${JSON.stringify(res.body)}`);
    }
  });

  afterAll(async () => {
    redis.resume();
    await Promise.all([admin, ...gateways].map((a) => a?.close()));
    await pg?.end();
    await redis.kill();
  });

  async function newTeam(extra: Record<string, unknown> = {}) {
    const teamId = uid('team');
    const res = await call(admin.url, 'POST', '/api/teams/create', {
      admin: true,
      body: {
        organization_id: org,
        team_id: teamId,
        model_groups: [group],
        credits_allocated: 1_000_000,
        ...extra,
      },
    });
    expect(res.status).toBe(201);
    return { teamId, key: res.body.virtual_key as string, keyId: res.body.key_id as string };
  }

  /**
   * GET /api/teams/verify; sent again once when the connection fails before any answer (a
   * keep-alive socket the server closed just as it was reused, seen on a starved machine):
   * what the gateway answers is what is asserted, never the transport race.
   */
  const verify = (gw: RunningApp, key: string) => {
    const once = () => call(gw.url, 'GET', '/api/teams/verify', { bearer: key });
    return once()
      .catch(once)
      .then((r) => r.status);
  };
  const oneCall = (gw: RunningApp, key: string) =>
    call(gw.url, 'POST', '/api/jobs/create-and-call', {
      bearer: key,
      body: { job_type: 'outage', model, messages: [{ role: 'user', content: 'hi' }] },
    }).then((r) => r.status);
  const ready = (app: RunningApp) => call(app.url, 'GET', '/health/ready');
  const allReady = async () =>
    (await Promise.all([admin, ...gateways].map(ready))).every((r) => r.status === 200);

  /** How long each admin change took to answer (the refusal times count from its answer). */
  const changeMs: number[] = [];

  /**
   * Polls `key` on both gateways while `change` is made, then for 2 s: every request sent
   * 1 s or more after the change answered must get `refused`. Returns when the first did.
   */
  async function refusedWithin1s(key: string, change: () => Promise<number>, refused: number) {
    let changedAt = 0;
    const polls = gateways.map(async (gw) => {
      const seen: Array<{ sentAt: number; doneAt: number; status: number }> = [];
      const poll = async () => {
        const sentAt = Date.now();
        const status = await verify(gw, key);
        seen.push({ sentAt, doneAt: Date.now(), status });
        await sleep(20);
      };
      for (let n = 0; n < 400 && !changedAt; n++) await poll();
      // 2 s, and at least 3 answers to requests sent 1 s or more after the change (slow machines)
      const late = () => seen.filter((s) => s.sentAt >= changedAt + 1000).length;
      while (Date.now() < changedAt + 2000 || late() < 3) await poll();
      return seen;
    });
    await sleep(300); // the key is in use on both replicas when it changes
    const changing = Date.now();
    expect(await change()).toBe(200);
    changedAt = Date.now();
    changeMs.push(changedAt - changing);
    const firstRefused: number[] = [];
    for (const seen of await Promise.all(polls)) {
      const before = seen.filter((s) => s.doneAt < changing).map((s) => s.status);
      expect(before.filter((status) => status !== 200)).toEqual([]);
      const late = seen.filter((s) => s.sentAt >= changedAt + 1000).map((s) => s.status);
      expect(late.length).toBeGreaterThan(0);
      expect(late.filter((status) => status !== refused)).toEqual([]);
      const first = seen.find((s) => s.sentAt >= changing && s.status === refused)!;
      firstRefused.push(first.sentAt - changedAt);
    }
    return firstRefused;
  }

  /** 2xx answers of `samples` sent in [from, to), and the failures by status. */
  function served(samples: Sample[], from: number, to: number) {
    const window = samples.filter((s) => s.sentAt >= from && s.sentAt < to);
    const ok = window.filter((s) => s.status >= 200 && s.status < 300).length;
    const failures: Record<number, number> = {};
    for (const s of window)
      if (s.status < 200 || s.status >= 300) failures[s.status] = (failures[s.status] ?? 0) + 1;
    const latencies = window.map((s) => s.ms).sort((a, b) => a - b);
    return {
      total: window.length,
      ok,
      share: window.length ? ok / window.length : 0,
      failures,
      p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
      max: latencies[latencies.length - 1] ?? 0,
    };
  }

  it('keeps serving valid keys and refusing revoked ones, and recovers by itself', async () => {
    const main = await newTeam();
    const hungVictim = await newTeam();
    const deadVictim = await newTeam();
    const suspended = await newTeam();
    const lateVictim = await newTeam();
    for (const gw of gateways) {
      for (const k of [main, hungVictim, deadVictim, suspended, lateVictim])
        expect(await verify(gw, k.key)).toBe(200);
    }
    expect(await allReady()).toBe(true);

    const load = steadyLoad(20, (loop, n) => {
      const gw = gateways[(loop + n) % 2];
      return n % 2 === 0
        ? {
            kind: 'models',
            status: call(gw.url, 'GET', '/v1/models', { bearer: main.key }).then((r) => r.status),
          }
        : { kind: 'call', status: oneCall(gw, main.key) };
    });
    const report: Record<string, unknown> = {};
    try {
      await sleep(1000);

      // 1. Redis hangs: it accepts connections and answers nothing
      const outageStart = Date.now();
      redis.hang();
      await sleep(300);
      report.hungRevoke = await refusedWithin1s(
        hungVictim.key,
        async () =>
          (await call(admin.url, 'DELETE', `/api/keys/${hungVictim.keyId}`, { admin: true }))
            .status,
        401,
      );
      const hungReady = await ready(gateways[0]);
      expect(hungReady.status).toBe(503);
      expect(JSON.stringify(hungReady.body)).toContain('redis');

      // 2. it answers again with its data: the revoked key's shared cache entry must not come back
      redis.resume();
      report.firstRecoveryMs = await eventually(allReady, 5000, 50);
      for (const gw of gateways) {
        for (let i = 0; i < 10; i++) expect(await verify(gw, hungVictim.key)).toBe(401);
      }

      // 3. it hangs, then dies
      redis.hang();
      await sleep(1000);
      await redis.kill();
      await sleep(300);
      report.deadRotate = await refusedWithin1s(
        deadVictim.key,
        async () =>
          (
            await call(admin.url, 'POST', `/api/keys/${deadVictim.keyId}/rotate`, {
              admin: true,
              body: { grace_period: '0s' },
            })
          ).status,
        401,
      );
      report.deadSuspend = await refusedWithin1s(
        suspended.key,
        async () =>
          (
            await call(admin.url, 'PUT', `/api/teams/${suspended.teamId}/suspend`, {
              admin: true,
            })
          ).status,
        403,
      );
      for (const app of [admin, ...gateways]) {
        const res = await ready(app);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBeTruthy();
        expect(res.body).toMatchObject({
          code: 'CACHE_UNAVAILABLE',
          error: { redis: { status: 'down' } },
        });
        expect((await call(app.url, 'GET', '/health')).status).toBe(200);
      }
      // rate limits hold per replica: 4 rpm on each gateway
      const limited = await newTeam({ rpm_limit: 4 });
      const perReplica: number[] = [];
      for (const gw of gateways)
        for (let i = 0; i < 6; i++) perReplica.push(await oneCall(gw, limited.key));
      expect(perReplica).toEqual([200, 200, 200, 200, 429, 429, 200, 200, 200, 200, 429, 429]);
      // late in the outage (after the in-process caches have long been refilled from Postgres)
      await sleep(Math.max(0, outageStart + OUTAGE_MS - 2600 - Date.now()));
      report.lateRevoke = await refusedWithin1s(
        lateVictim.key,
        async () =>
          (await call(admin.url, 'DELETE', `/api/keys/${lateVictim.keyId}`, { admin: true }))
            .status,
        401,
      );
      await sleep(Math.max(0, outageStart + OUTAGE_MS - Date.now()));

      // 4. it comes back on the same port, empty
      await redis.restart();
      const restartedAt = Date.now();
      report.recoveryMs = await eventually(allReady, 8000, 50);
      const outageEnd = Date.now();
      // at least 20 answers to requests sent after it (however slow the machine is)
      await eventually(
        () => Promise.resolve(load.samples.filter((x) => x.sentAt >= outageEnd).length >= 20),
        30_000,
      );
      await load.stop();

      const before = served(load.samples, 0, outageStart);
      const during = served(load.samples, outageStart, outageEnd);
      const after = served(load.samples, outageEnd, Date.now());
      Object.assign(report, {
        before,
        during,
        after,
        outageMs: outageEnd - outageStart,
        changeMs,
        restartedAt: restartedAt - outageStart,
      });
      expect(during.total).toBeGreaterThan(200);
      expect(during.failures[401] ?? 0).toBe(0);
      expect(during.share).toBeGreaterThanOrEqual(0.999);
      expect(after.share).toBe(1);

      // shared again: 4 rpm across both gateways together
      const shared = await newTeam({ rpm_limit: 4 });
      const together: number[] = [];
      for (let i = 0; i < 3; i++)
        for (const gw of gateways) together.push(await oneCall(gw, shared.key));
      expect(together.filter((s) => s === 200)).toHaveLength(4);
      expect(together.filter((s) => s === 429)).toHaveLength(2);
      for (const gw of gateways) {
        expect(await verify(gw, hungVictim.key)).toBe(401);
        expect(await verify(gw, deadVictim.key)).toBe(401);
        expect(await verify(gw, lateVictim.key)).toBe(401);
        expect(await verify(gw, suspended.key)).toBe(403);
        expect(await oneCall(gw, main.key)).toBe(200);
      }

      // every call answered 200 is in Postgres and charged once (the journal wrote through)
      const calls = load.samples.filter((s) => s.kind === 'call' && s.status === 200).length + 2;
      const books = async () =>
        (
          await pg.query(
            `SELECT (SELECT count(*)::int FROM jobs WHERE team_id = $1 AND status = 'completed') AS jobs,
                    t.credits_used::int AS used, t.credits_held::int AS held,
                    (SELECT count(*)::int FROM credit_leases WHERE team_id = $1) AS leases
               FROM teams t WHERE t.team_id = $1`,
            [main.teamId],
          )
        ).rows[0] as { jobs: number; used: number; held: number; leases: number };
      await eventually(async () => (await books()).leases === 0, 45_000, 200);
      expect(await books()).toEqual({ jobs: calls, used: calls, held: 0, leases: 0 });
      report.calls = calls;
    } finally {
      await load.stop();
      console.log(`redis outage: ${JSON.stringify(report)}`);
      writeReport('redis-outage', report);
    }
  });

  it('a job closed while Redis is away: the close is taken, counts the leased calls and charges the job once', async () => {
    const { teamId, key } = await newTeam();
    const [a, b] = gateways;
    const opened = await call<{ job_id: string }>(a.url, 'POST', '/api/jobs/create', {
      bearer: key,
      body: { job_type: 'outage-close' },
    });
    expect(opened.status).toBe(201);
    const jobId = opened.body.job_id;
    const llmCall = (gw: RunningApp) =>
      call(gw.url, 'POST', `/api/jobs/${jobId}/llm-call`, {
        bearer: key,
        body: { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 },
      }).then((r) => r.status);
    const leases = async () =>
      (
        await pg.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM credit_leases WHERE team_id = $1',
          [teamId],
        )
      ).rows[0].n;
    // busy on replica a until it leases the team, then calls that run on the lease
    let answered = 0;
    for (let i = 0; i < 100 && (await leases()) === 0; i++) {
      expect(await llmCall(a)).toBe(200);
      answered += 1;
    }
    expect(await leases()).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(await llmCall(a)).toBe(200);
    answered += 5;
    const written = async () =>
      (
        await pg.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM llm_calls WHERE job_id = $1',
          [jobId],
        )
      ).rows[0].n;
    await eventually(async () => (await written()) === answered, 10_000, 50);

    await redis.kill();
    try {
      const done = await call<{ costs: { total_calls: number; credits_charged: number } }>(
        b.url,
        'POST',
        `/api/jobs/${jobId}/complete`,
        { bearer: key, body: { status: 'completed' } },
      );
      expect(done.status).toBe(200);
      expect(done.body.costs).toMatchObject({ total_calls: answered, credits_charged: 1 });
      // the job is closed in Postgres: a replica that cannot ask Redis refuses a call on it there
      expect(await llmCall(a)).toBe(409);
    } finally {
      await redis.restart();
    }
    const books = async () =>
      (
        await pg.query(
          `SELECT credits_used::int AS used, credits_held::int AS held,
                  (SELECT count(*)::int FROM credit_leases WHERE team_id = $1) AS leases,
                  (SELECT COALESCE(sum(credits_amount), 0)::int FROM credit_transactions
                    WHERE team_id = $1 AND transaction_type = 'deduction') AS deducted
             FROM teams WHERE team_id = $1`,
          [teamId],
        )
      ).rows[0] as { used: number; held: number; leases: number; deducted: number };
    await eventually(async () => (await books()).leases === 0, 45_000, 200);
    expect(await books()).toEqual({ used: 1, held: 0, leases: 0, deducted: -1 });
  });
});
