import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ENCRYPTION_KEY, MASTER_KEY } from '../../../test/helpers/apps';
import { eventually } from '../../../test/helpers/http';

const ROOT = join(__dirname, '../../..');
const MAIN = join(ROOT, 'dist/apps/team-gateway/main.js');

/** Newest modification time of the TypeScript sources under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** The real build (CI runs `npm run build` first); rebuilt when missing or older than the sources. */
export function ensureGatewayBuilt(): void {
  let built = 0;
  try {
    built = statSync(MAIN).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = Math.max(
    newestSource(join(ROOT, 'apps/team-gateway/src')),
    newestSource(join(ROOT, 'libs')),
  );
  if (built < sources) {
    execFileSync('npx', ['nest', 'build', 'team-gateway'], { cwd: ROOT, stdio: 'ignore' });
  }
}

function freePort(): Promise<number> {
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

/** `node dist/apps/team-gateway/main.js` against the test database and Redis, once healthy. */
export async function spawnGateway(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
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
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`gateway exited: ${output}`);
    return fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
  }, 30_000);
  return { url, process: child, exited, output: () => output };
}
