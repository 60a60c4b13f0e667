import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ENCRYPTION_KEY, MASTER_KEY } from '../../../test/helpers/apps';
import { builtMain } from '../../../test/helpers/build';
import { eventually } from '../../../test/helpers/http';

const ROOT = join(__dirname, '../../..');
type ServiceName = 'admin-api' | 'team-gateway';
const mainOf = (app: ServiceName) => join(ROOT, `dist/apps/${app}/main.js`);

/** The real build, made once per run by the e2e global setup. */
export function ensureGatewayBuilt(): void {
  builtMain('team-gateway');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface GatewayProcess {
  url: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/**
 * `node dist/apps/team-gateway/main.js` against the test database and Redis, once healthy. The
 * port is a free one the OS named; another process may take it before the gateway binds it, so a
 * gateway that fails with EADDRINUSE is started again on a fresh port.
 */
export function spawnGateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  return spawnService('team-gateway', env);
}

/** `node dist/apps/<app>/main.js` (either service), as spawnGateway does it. */
export async function spawnService(
  app: ServiceName,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  for (let attempt = 1; ; attempt++) {
    const started = await startOn(app, await freePort(), env);
    if (started) return started;
    if (attempt >= 5) throw new Error(`${app}: no free port after 5 attempts`);
  }
}

/** The service on `port`, once healthy; null when the port was taken meanwhile. */
async function startOn(
  app: ServiceName,
  port: number,
  env: Record<string, string>,
): Promise<GatewayProcess | null> {
  const child = spawn(process.execPath, [mainOf(app)], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: process.env.DATABASE_URL,
      REDIS_URL: process.env.REDIS_URL,
      MASTER_KEY,
      ENCRYPTION_KEY,
      LOG_LEVEL: 'info',
      TOLLGATE_DATA_DIR: '.test-services/data',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  let taken = false;
  await eventually(async () => {
    if (child.exitCode !== null) {
      if (/EADDRINUSE/.test(output)) return (taken = true);
      throw new Error(`${app} exited: ${output}`);
    }
    return fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
  }, 30_000);
  if (taken) return null;
  return { url, process: child, exited, output: () => output };
}
