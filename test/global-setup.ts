import { Client } from 'pg';
import Redis from 'ioredis';
import { runMigrations } from '../libs/db/src/migrate';

/** One fresh database per run, migrated once; Redis flushed. Specs use unique ids, not truncation. */
export default async function globalSetup(): Promise<void> {
  const base = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (!base || !redisUrl) {
    throw new Error('e2e specs need DATABASE_URL and REDIS_URL: run them with `npm test`');
  }
  const url = new URL(base);
  const name = 'tollgate_e2e';
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  url.pathname = `/${name}`;
  process.env.DATABASE_URL = url.toString();
  await runMigrations(process.env.DATABASE_URL);

  const redis = new Redis(redisUrl);
  await redis.flushall();
  redis.disconnect();
}
