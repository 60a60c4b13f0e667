/**
 * What the measurements run against: a fresh database in the bench's PostgreSQL, the fake
 * upstream, admin-api, two team-gateway replicas (with the query counter), Portkey, and the
 * organization, model, group and teams created through the admin API as an operator would.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { BenchTeam } from './books';
import { CFG, log } from './config';
import { expectJson, http } from './load';
import { Portkey, startPortkey } from './portkey';
import { freePort, killAllNow, rssMb, start, stopAll, stopGracefully, waitReady } from './procs';
import { CREDITS_PER_DOLLAR, PRICES } from './targets';

const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:56379';

export interface Bench {
  /** Connected to the server's `postgres` database (creates and drops the bench database). */
  server: Client;
  /** Connected to the bench database. */
  db: Client;
  dbName: string;
  postgresql: string;
  upstreamUrl: string;
  adminUrl: string;
  adminHeaders: Record<string, string>;
  /** Gateway replicas A and B. */
  A: string;
  B: string;
  gwA: ChildProcess;
  gwB: ChildProcess;
  rssReady: { a: number | null; b: number | null };
  pk: Portkey;
  org: string;
  analyticsOrg: string;
  /** The one team (job_based), the spread teams (job_based), the cache-miss team (consumption_usd). */
  one: BenchTeam;
  many: BenchTeam[];
  keysTeam: BenchTeam;
}

/**
 * BENCH_GATEWAY_ENV="NAME=value NAME=value": extra environment of the gateways only (to try an
 * allocator or V8 setting without it reaching PostgreSQL, Redis or the load generator). A value
 * may hold spaces up to the next NAME= (e.g. `PGOPTIONS=--enable_seqscan=off --jit=off`).
 */
function gatewayEnv(): Record<string, string> {
  const raw = process.env.BENCH_GATEWAY_ENV?.trim();
  if (!raw) return {};
  return Object.fromEntries(
    raw.split(/\s+(?=[A-Z_][A-Z0-9_]*=)/).map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new Error(`BENCH_GATEWAY_ENV: expected NAME=value, got ${pair}`);
      return [pair.slice(0, eq), pair.slice(eq + 1)];
    }),
  );
}

export async function setUp(): Promise<Bench> {
  const server = new Client({ connectionString: PG_URL });
  await server.connect();
  const settings = await server.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings
      WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes',
                     'shared_buffers', 'max_wal_size')`,
  );
  const s = Object.fromEntries(settings.rows.map((r) => [r.name, r.setting]));
  const postgresql =
    `${s.server_version} (fsync=${s.fsync}, synchronous_commit=${s.synchronous_commit}, ` +
    `full_page_writes=${s.full_page_writes}, shared_buffers=${s.shared_buffers}×8kB, ` +
    `max_wal_size=${s.max_wal_size} MB)`;
  const dbName = `tollgate_bench_${process.pid}`;
  await server.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(PG_URL);
  dbUrl.pathname = `/${dbName}`;

  const [fakePort, adminPort, portA, portB] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const masterKey = `sk-admin-bench-${randomBytes(24).toString('hex')}`;
  const common = {
    NODE_ENV: 'production',
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    MASTER_KEY: masterKey,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: CFG.BENCH_LOG_LEVEL,
    HOST: '127.0.0.1',
  };
  const upstreamUrl = `http://127.0.0.1:${fakePort}`;
  const fake = start(
    'fake-upstream',
    [
      '-r',
      'ts-node/register/transpile-only',
      'bench/upstream.ts',
      String(fakePort),
      String(CFG.BENCH_STREAM_CHUNK_DELAY_MS),
    ],
    {},
  );
  const admin = start('admin-api', ['dist/apps/admin-api/main.js'], {
    ...common,
    PORT: String(adminPort),
  });
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await waitReady(`${adminUrl}/health/ready`, admin, 'admin-api'); // migrations run here
  const gateway = (name: string, port: number) =>
    start(
      name,
      [
        // BENCH_CPU_PROF=1 writes a V8 CPU profile of each gateway to bench/results/ on exit.
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', 'bench/results'] : []),
        '--expose-gc', // for the memory figures after a full collection
        // BENCH_QUERY_COUNTER=0 (bench:profile only): without the counter's AsyncLocalStorage,
        // whose promise hooks cost every call CPU the gateway alone would not spend
        ...(process.env.BENCH_QUERY_COUNTER === '0' ? [] : ['-r', './bench/query-counter.js']),
        'dist/apps/team-gateway/main.js',
      ],
      { ...common, ...gatewayEnv(), PORT: String(port) },
      { ipc: true },
    );
  const gwA = gateway('team-gateway-a', portA);
  const gwB = gateway('team-gateway-b', portB);
  const A = `http://127.0.0.1:${portA}`;
  const B = `http://127.0.0.1:${portB}`;
  await waitReady(`${upstreamUrl}/`, fake, 'fake upstream', { anyStatus: true });
  const [pk] = await Promise.all([
    startPortkey(upstreamUrl),
    waitReady(`${A}/health/ready`, gwA, 'team-gateway A'),
    waitReady(`${B}/health/ready`, gwB, 'team-gateway B'),
  ]);
  log(pk.available ? `Portkey ${pk.version} at ${pk.url}` : `Portkey unavailable: ${pk.reason}`);
  const rssReady = { a: rssMb(gwA.pid), b: rssMb(gwB.pid) };

  // Set-up through the admin API.
  const adminHeaders = { 'x-admin-key': masterKey };
  const adminPost = async (path: string, body: unknown) =>
    expectJson(await http(`${adminUrl}${path}`, 'POST', body, adminHeaders), 201, path);
  const org = `bench-${randomBytes(3).toString('hex')}`;
  await adminPost('/api/organizations/create', { organization_id: org, name: 'Bench' });
  const credential = await adminPost('/api/provider-credentials/create', {
    organization_id: org,
    provider: 'openai-compatible',
    credential_name: 'fake',
    api_key: `sk-fake-${randomBytes(8).toString('hex')}`,
    api_base: `${upstreamUrl}/v1`,
  });
  for (const model of ['bench-model', 'bench-stream']) {
    await adminPost('/api/models/create', {
      model_name: model,
      provider: 'openai-compatible',
      provider_model: model,
      credential_id: credential.credential_id,
      input_price_per_million: PRICES.input,
      output_price_per_million: PRICES.output,
    });
  }
  const group = `bench-${org}`;
  await adminPost('/api/model-groups/create', {
    group_name: group,
    models: ['bench-model', 'bench-stream'],
  });
  const createTeam = async (id: string, mode: BenchTeam['mode']): Promise<BenchTeam> => {
    const body = await adminPost('/api/teams/create', {
      organization_id: org,
      team_id: id,
      model_groups: [group],
      credits_allocated: 1_000_000_000,
      budget_mode: mode,
      credits_per_dollar: CREDITS_PER_DOLLAR,
    });
    return { id, key: body.virtual_key as string, mode, served: 0, unclear: 0 };
  };
  const one = await createTeam(`${org}-one`, 'job_based');
  const many: BenchTeam[] = [];
  for (let i = 0; i < CFG.BENCH_TEAMS; i++) {
    many.push(await createTeam(`${org}-team-${i}`, 'job_based'));
  }
  const keysTeam = await createTeam(`${org}-keys`, 'consumption_usd');
  const analyticsOrg = `${org}-analytics`;
  await adminPost('/api/organizations/create', {
    organization_id: analyticsOrg,
    name: 'Bench analytics',
  });

  const db = new Client({ connectionString: dbUrl.toString() });
  await db.connect();
  return {
    server,
    db,
    dbName,
    postgresql,
    upstreamUrl,
    adminUrl,
    adminHeaders,
    A,
    B,
    gwA,
    gwB,
    rssReady,
    pk,
    org,
    analyticsOrg,
    one,
    many,
    keysTeam,
  };
}

/** Stops both replicas gracefully (a CPU profile is written on exit), then the rest, and closes the connections. */
export async function tearDown(b: Bench): Promise<void> {
  await stopGracefully(b.gwA, 30_000);
  await stopGracefully(b.gwB, 30_000);
  await stopAll();
  await b.db.end();
  await b.server.end();
}

/** Runs a bench entry point (`npm run bench:<name>`); a failure kills what it started and exits 1. */
export function runBench(name: string, main: () => Promise<void>): void {
  main().catch((err: Error) => {
    console.error(`bench:${name} failed: ${err.stack ?? err.message}`);
    killAllNow();
    process.exit(1);
  });
}
