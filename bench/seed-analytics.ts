/**
 * Seeds a database (migrations already run) with the analytics organization of `npm run bench`:
 * `node -r ts-node/register/transpile-only bench/seed-analytics.ts DATABASE_URL ORG [CALLS]`.
 */
import { Client } from 'pg';
import { insertCallHistory } from './seed';

async function main() {
  const [url, org, calls = '1000000'] = process.argv.slice(2);
  if (!url || !org) throw new Error('usage: seed-analytics.ts DATABASE_URL ORG [CALLS]');
  const pg = new Client({ connectionString: url });
  await pg.connect();
  try {
    await pg.query(
      `INSERT INTO organizations (organization_id, name) VALUES ($1, 'Bench analytics')`,
      [org],
    );
    const h = await insertCallHistory(pg, org, 20, Number(calls));
    console.log(JSON.stringify(h));
  } finally {
    await pg.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
