import { Client } from 'pg';
import Redis from 'ioredis';
import { runMigrations } from '../libs/db/src/migrate';
import { buildStaleApps, buildStaleConsole } from './helpers/build';

/**
 * One fresh database per run, migrated once; Redis flushed; the apps built when their dist is
 * stale. Specs use unique ids, not truncation.
 */
export default async function globalSetup(): Promise<void> {
  const base = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!base || !redisUrl) {
    throw new Error('e2e specs need DATABASE_URL and REDIS_URL: run them with `npm test`');
  }
  const url = new URL(base);
  // Unique per run, so several runs (or engineers) can share one server.
  const name = `tollgate_e2e_${process.pid}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  const stale: Array<{ datname: string }> = (
    await admin.query(
      `SELECT datname FROM pg_database WHERE datname LIKE 'tollgate_e2e_%' AND datname <> $1`,
      [name],
    )
  ).rows;
  for (const { datname } of stale) {
    const pid = Number(datname.slice('tollgate_e2e_'.length));
    if (!isAlive(pid)) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  }
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  url.pathname = `/${name}`;
  process.env.DATABASE_URL = url.toString();
  await runMigrations(process.env.DATABASE_URL);

  const redis = new Redis(redisUrl);
  await redis.ping();
  redis.disconnect();

  // Specs that run `node dist/apps/…/main.js` use this one build; none builds on its own.
  buildStaleApps();
  buildStaleConsole();
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
