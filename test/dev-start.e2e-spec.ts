import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../apps/team-gateway/test/gateway-process';
import { ENCRYPTION_KEY, MASTER_KEY } from './helpers/apps';
import { builtMain } from './helpers/build';
import { eventually } from './helpers/http';

const ROOT = join(__dirname, '..');

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
      DATABASE_URL: process.env.DATABASE_URL,
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
  beforeAll(() => {
    builtMain('admin-api');
    builtMain('team-gateway');
  });

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
