/**
 * `npm run bench`: boots the built admin-api and team-gateway as real processes on real Postgres
 * and Redis, with the fake upstream in a third process, and measures what the gateway adds:
 * latency and throughput against the upstream called directly, time to first stream chunk,
 * database round trips per call, and the gateway's memory. Every figure is a ratio or a
 * difference measured in the same run, so a noisy shared machine shifts both sides alike.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { Agent, request } from 'undici';

const ROOT = join(__dirname, '..');
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:56379';
const MASTER_KEY = `sk-admin-bench-${randomBytes(24).toString('hex')}`;
const SEQUENTIAL = Number(process.env.BENCH_REQUESTS ?? 300);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000 });
const children: ChildProcess[] = [];

interface Reply {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

async function http(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await request(url, {
    method: method as 'GET',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (SSE)
  }
  return { status: res.statusCode, body: parsed, headers: res.headers };
}

function expectStatus(reply: Reply, status: number, what: string): Reply {
  if (reply.status !== status) {
    throw new Error(
      `${what}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`,
    );
  }
  return reply;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits for a 200 from `url` (or any HTTP answer when `anyStatus`). */
async function waitReady(
  url: string,
  child: ChildProcess,
  what: string,
  anyStatus = false,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const { status } = await http(url, 'GET');
      if (status === 200 || anyStatus) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not become ready at ${url}`);
}

function start(
  what: string,
  args: string[],
  env: Record<string, string>,
  ipc = false,
): ChildProcess {
  // Each process logs to bench/results/<name>.log, so a failed run can be read afterwards.
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const log = openSync(join(ROOT, `bench/results/${what.replace(/\W+/g, '-')}.log`), 'w');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ipc ? ['ignore', log, log, 'ipc'] : ['ignore', log, log],
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal === null && !stopping) console.error(`${what} exited with ${code}`);
  });
  children.push(child);
  return child;
}

let stopping = false;

function queriesOf(gateway: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (message: { type?: string; queries?: number }) => {
      if (message?.type !== 'queries') return;
      gateway.off('message', onMessage);
      resolve(message.queries ?? 0);
    };
    gateway.on('message', onMessage);
    gateway.send({ type: 'queries' });
  });
}

function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 102.4) / 10;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function timeSequential(n: number, fn: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

/** Requests per second with `CONCURRENCY` workers for `LOAD_SECONDS`. */
async function throughput(fn: () => Promise<void>): Promise<number> {
  const until = performance.now() + LOAD_SECONDS * 1000;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await fn();
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

/** Milliseconds until the first SSE event carrying content, and until the stream ends. */
async function streamTimes(
  url: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ first: number; total: number }> {
  const t0 = performance.now();
  const res = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (res.statusCode !== 200)
    throw new Error(`stream ${url}: ${res.statusCode} ${await res.body.text()}`);
  let first = 0;
  for await (const chunk of res.body) {
    if (!first && String(chunk).includes('"content"')) first = performance.now() - t0;
  }
  return { first, total: performance.now() - t0 };
}

async function main(): Promise<void> {
  const dbName = `tollgate_bench_${process.pid}`;
  const pg = new Client({ connectionString: PG_URL });
  await pg.connect();
  await pg.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(PG_URL);
  dbUrl.pathname = `/${dbName}`;

  const [fakePort, adminPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  const common = {
    NODE_ENV: 'production',
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    MASTER_KEY,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
  };
  const fake = start(
    'fake upstream',
    ['-r', 'ts-node/register/transpile-only', 'test/fake-upstream/main.ts', String(fakePort)],
    {},
  );
  const admin = start('admin-api', ['dist/apps/admin-api/main.js'], {
    ...common,
    PORT: String(adminPort),
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const fakeUrl = `http://127.0.0.1:${fakePort}`;
  await waitReady(`${adminUrl}/health/ready`, admin, 'admin-api');
  const gateway = start(
    'team-gateway',
    [
      // BENCH_CPU_PROF=1 writes a V8 CPU profile of the gateway to bench/results/ on exit.
      ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', 'bench/results'] : []),
      '-r',
      './bench/query-counter.js',
      'dist/apps/team-gateway/main.js',
    ],
    { ...common, PORT: String(gatewayPort), JOB_SWEEP_INTERVAL_MS: '3600000' },
    true,
  );
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  await Promise.all([
    waitReady(`${gatewayUrl}/health/ready`, gateway, 'team-gateway'),
    waitReady(`${fakeUrl}/`, fake, 'fake upstream', true),
  ]);

  // Set-up through the admin API, as an operator would.
  const adminHeaders = { 'x-admin-key': MASTER_KEY };
  const org = `bench-${randomBytes(3).toString('hex')}`;
  expectStatus(
    await http(
      `${adminUrl}/api/organizations/create`,
      'POST',
      { organization_id: org, name: 'Bench' },
      adminHeaders,
    ),
    201,
    'organization',
  );
  const credential = expectStatus(
    await http(
      `${adminUrl}/api/provider-credentials/create`,
      'POST',
      {
        organization_id: org,
        provider: 'openai-compatible',
        credential_name: 'fake',
        api_key: `sk-fake-${randomBytes(8).toString('hex')}`,
        api_base: `${fakeUrl}/v1`,
      },
      adminHeaders,
    ),
    201,
    'credential',
  ).body as { credential_id: string };
  expectStatus(
    await http(
      `${adminUrl}/api/models/create`,
      'POST',
      {
        model_name: 'bench-model',
        provider: 'openai-compatible',
        provider_model: 'bench-model',
        credential_id: credential.credential_id,
        input_price_per_million: 1,
        output_price_per_million: 2,
      },
      adminHeaders,
    ),
    201,
    'model',
  );
  expectStatus(
    await http(
      `${adminUrl}/api/model-groups/create`,
      'POST',
      { group_name: `bench-${org}`, models: ['bench-model'] },
      adminHeaders,
    ),
    201,
    'model group',
  );
  const createTeam = async (teamId: string) =>
    (
      expectStatus(
        await http(
          `${adminUrl}/api/teams/create`,
          'POST',
          {
            organization_id: org,
            team_id: teamId,
            model_groups: [`bench-${org}`],
            credits_allocated: 1_000_000_000,
            budget_mode: 'consumption_usd',
            credits_per_dollar: 1000,
          },
          adminHeaders,
        ),
        201,
        'team',
      ).body as { virtual_key: string }
    ).virtual_key;
  const team = { virtual_key: await createTeam(`${org}-team`) };
  const bearer = { authorization: `Bearer ${team.virtual_key}` };
  const job = expectStatus(
    await http(`${gatewayUrl}/api/jobs/create`, 'POST', { job_type: 'bench' }, bearer),
    201,
    'job',
  ).body as { job_id: string };

  const messages = [{ role: 'user', content: 'Benchmark: say something short.' }];
  const direct = { model: 'bench-model', messages, max_tokens: 64 };
  const viaJob = { model: 'bench-model', messages, max_tokens: 64 };
  const callDirect = async () =>
    void expectStatus(await http(`${fakeUrl}/v1/chat/completions`, 'POST', direct), 200, 'direct');
  const callGateway = async () =>
    void expectStatus(
      await http(`${gatewayUrl}/api/jobs/${job.job_id}/llm-call`, 'POST', viaJob, bearer),
      200,
      'llm-call',
    );
  const oneCallJob = async () =>
    void expectStatus(
      await http(
        `${gatewayUrl}/api/jobs/create-and-call`,
        'POST',
        { job_type: 'bench', ...viaJob },
        bearer,
      ),
      200,
      'create-and-call',
    );

  const results: Record<string, unknown> = {};
  const rssStart = rssMb(gateway.pid);

  // Warm-up: JIT, pools, the routing catalog and the key cache.
  await timeSequential(30, callDirect);
  await timeSequential(30, callGateway);

  const directTimes = await timeSequential(SEQUENTIAL, callDirect);
  const q0 = await queriesOf(gateway);
  const gatewayTimes = await timeSequential(SEQUENTIAL, callGateway);
  const q1 = await queriesOf(gateway);
  const oneCallTimes = await timeSequential(Math.ceil(SEQUENTIAL / 2), oneCallJob);
  const q2 = await queriesOf(gateway);
  results.latency_ms = {
    direct_p50: round(percentile(directTimes, 50)),
    direct_p95: round(percentile(directTimes, 95)),
    llm_call_p50: round(percentile(gatewayTimes, 50)),
    llm_call_p95: round(percentile(gatewayTimes, 95)),
    llm_call_added_p50: round(percentile(gatewayTimes, 50) - percentile(directTimes, 50)),
    create_and_call_p50: round(percentile(oneCallTimes, 50)),
  };
  results.db_round_trips_per_call = {
    llm_call: round((q1 - q0) / SEQUENTIAL, 2),
    create_and_call: round((q2 - q1) / Math.ceil(SEQUENTIAL / 2), 2),
  };

  const rpsDirect = await throughput(callDirect);
  const rpsGateway = await throughput(callGateway);
  // The same load spread over 8 teams: one team's calls serialize on its balance row (every hold
  // and settle locks it), other teams' calls do not wait on it.
  const spread: Array<{ bearer: Record<string, string>; jobId: string }> = [];
  for (let i = 0; i < 8; i++) {
    const key = await createTeam(`${org}-spread-${i}`);
    const b = { authorization: `Bearer ${key}` };
    const j = expectStatus(
      await http(`${gatewayUrl}/api/jobs/create`, 'POST', { job_type: 'bench' }, b),
      201,
      'job',
    ).body as { job_id: string };
    spread.push({ bearer: b, jobId: j.job_id });
  }
  let next = 0;
  const callSpread = async () => {
    const t = spread[next++ % spread.length];
    expectStatus(
      await http(`${gatewayUrl}/api/jobs/${t.jobId}/llm-call`, 'POST', viaJob, t.bearer),
      200,
      'llm-call (8 teams)',
    );
  };
  await timeSequential(16, callSpread);
  const rpsSpread = await throughput(callSpread);
  results.throughput_rps = {
    concurrency: CONCURRENCY,
    direct: round(rpsDirect, 0),
    llm_call_one_team: round(rpsGateway, 0),
    llm_call_8_teams: round(rpsSpread, 0),
    ratio_one_team: round(rpsGateway / rpsDirect, 3),
    ratio_8_teams: round(rpsSpread / rpsDirect, 3),
  };

  // Streaming: time to first content chunk, through the gateway and direct.
  const streamBody = { ...direct, stream: true, stream_options: { include_usage: true } };
  const probe = await http(
    `${gatewayUrl}/api/jobs/${job.job_id}/llm-call-stream`,
    'POST',
    viaJob,
    bearer,
  );
  if (probe.status === 200) {
    const n = Math.ceil(SEQUENTIAL / 3);
    const directStreams: Array<{ first: number; total: number }> = [];
    const gatewayStreams: Array<{ first: number; total: number }> = [];
    for (let i = 0; i < n; i++) {
      directStreams.push(await streamTimes(`${fakeUrl}/v1/chat/completions`, streamBody, {}));
      gatewayStreams.push(
        await streamTimes(`${gatewayUrl}/api/jobs/${job.job_id}/llm-call-stream`, viaJob, bearer),
      );
    }
    const p50 = (rows: Array<{ first: number }>) =>
      percentile(
        rows.map((r) => r.first),
        50,
      );
    results.stream_ttfc_ms = {
      direct_p50: round(p50(directStreams)),
      gateway_p50: round(p50(gatewayStreams)),
      added_p50: round(p50(gatewayStreams) - p50(directStreams)),
      gateway_p95: round(
        percentile(
          gatewayStreams.map((r) => r.first),
          95,
        ),
      ),
      gateway_total_p50: round(
        percentile(
          gatewayStreams.map((r) => r.total),
          50,
        ),
      ),
    };
  } else {
    results.stream_ttfc_ms = `skipped: llm-call-stream answered ${probe.status}`;
  }

  results.gateway_rss_mb = { start: rssStart, end: rssMb(gateway.pid) };
  // The money must still add up after the load.
  const benchDb = new Client({ connectionString: dbUrl.toString() });
  await benchDb.connect();
  const books = await benchDb.query<{
    ledger: string;
    allocated_minus_used: string;
    held: string;
    open_holds: number;
  }>(
    `SELECT (SELECT COALESCE(sum(credits_amount), 0) FROM credit_transactions WHERE team_id = t.team_id) AS ledger,
            t.credits_allocated - t.credits_used AS allocated_minus_used, t.credits_held AS held,
            (SELECT count(*)::int FROM credit_holds h WHERE h.team_id = t.team_id) AS open_holds
       FROM teams t WHERE t.team_id = $1`,
    [`${org}-team`],
  );
  await benchDb.end();
  const b = books.rows[0];
  results.books = {
    ledger_equals_balance: b !== undefined && Number(b.ledger) === Number(b.allocated_minus_used),
    credits_held: Number(b?.held ?? -1),
    open_holds: b?.open_holds ?? -1,
  };

  console.log(JSON.stringify(results, null, 2));
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/latest.json'),
    `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`,
  );

  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map((c) =>
      c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)),
    ),
  );
  await agent.close();
  await pg.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await pg.end();
}

main().catch((err: unknown) => {
  console.error(err);
  stopping = true;
  for (const child of children) child.kill('SIGKILL');
  process.exit(1);
});
