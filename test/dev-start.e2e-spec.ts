import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../apps/team-gateway/test/gateway-process';
import { ENCRYPTION_KEY, MASTER_KEY } from './helpers/apps';
import { builtMain } from './helpers/build';
import { eventually } from './helpers/http';

const ROOT = join(__dirname, '..');

/**
 * The dev run's own database: the log lines counted here are the run's own, not what its sweeps
 * and journal would say about the jobs, leases and records of specs running beside it on the
 * shared test database (a journal adopting another spec's orphaned records logs a warning).
 */
const DEV_DB = `tollgate_dev_start_${process.pid}`;
const serverUrl = () => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = '/postgres';
  return url.toString();
};
const devDatabaseUrl = () => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${DEV_DB}`;
  return url.toString();
};
async function onServer(sql: string): Promise<void> {
  const server = new Client({ connectionString: serverUrl() });
  await server.connect();
  try {
    await server.query(sql);
  } finally {
    await server.end();
  }
}

interface DevRun {
  adminPort: number;
  gatewayPort: number;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** `npm start` (scripts/dev.js) on free ports against the test database, once it says it runs. */
async function startDev(env: Record<string, string>): Promise<DevRun> {
  const [adminPort, gatewayPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(process.execPath, ['scripts/dev.js'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      ADMIN_PORT: String(adminPort),
      GATEWAY_PORT: String(gatewayPort),
      DATABASE_URL: devDatabaseUrl(),
      REDIS_URL: process.env.REDIS_URL,
      TOLLGATE_DATA_DIR: '.test-services/data',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await eventually(() => {
    if (child.exitCode !== null) throw new Error(`dev.js exited: ${output}`);
    return Promise.resolve(output.includes('Ctrl-C stops both'));
  }, 60_000);
  return {
    adminPort,
    gatewayPort,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

describe('npm start (scripts/dev.js) logs', () => {
  beforeAll(async () => {
    builtMain('admin-api');
    builtMain('team-gateway');
    await onServer(`DROP DATABASE IF EXISTS ${DEV_DB} WITH (FORCE)`);
    await onServer(`CREATE DATABASE ${DEV_DB}`);
  });
  afterAll(() => onServer(`DROP DATABASE IF EXISTS ${DEV_DB} WITH (FORCE)`));

  it('prints both URLs and a few readable lines, without the JSON and Nest boot chatter', async () => {
    const dev = await startDev({ NODE_ENV: 'development', LOG_LEVEL: 'info' });
    // a request shows as one line: method, path, status, duration
    await fetch(`http://127.0.0.1:${dev.adminPort}/api/teams`);
    await eventually(() => Promise.resolve(dev.output().includes('GET /api/teams → 401')));
    expect(await dev.stop()).toBe(0);
    const out = dev.output();

    expect(out).toContain(`admin-api     http://localhost:${dev.adminPort}`);
    expect(out).toContain(`team-gateway  http://localhost:${dev.gatewayPort}`);
    expect(out).toContain(`http://localhost:${dev.gatewayPort}/v1`);
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: admin-api +admin-api listening on http/m);
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: team-gateway +team-gateway listening on http/m);
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: admin-api +GET \/api\/teams → 401 \(\d+ ms\)$/m);
    // the stop is printed too, through the same formatter
    expect(out).toMatch(/INFO: team-gateway +\[Shutdown\] Shut down cleanly/);
    expect(lines(out).filter((l) => l.trimStart().startsWith('{'))).toEqual([]);
    expect(out).not.toMatch(/RouterExplorer|InstanceLoader|Mapped \{/);
    expect(lines(out).length).toBeLessThan(30);
  });

  it('keeps JSON logs in production', async () => {
    const dev = await startDev({
      NODE_ENV: 'production',
      MASTER_KEY,
      ENCRYPTION_KEY,
      LOG_LEVEL: 'info',
    });
    expect(await dev.stop()).toBe(0);
    const out = dev.output();
    expect(out).toContain(`admin-api     http://localhost:${dev.adminPort}`);
    const logs = lines(out)
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; service: string; msg: string });
    expect(logs.length).toBeGreaterThan(10);
    expect(logs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 30,
          service: 'team-gateway',
          msg: expect.stringContaining('team-gateway listening on http'),
        }),
      ]),
    );
    expect(out).not.toMatch(/^\[\d\d:\d\d:\d\d\] INFO/m);
    expect(out).not.toContain(MASTER_KEY);
  });
});
