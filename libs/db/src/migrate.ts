import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source';

// Any constant both services agree on; serialises migrations when they boot together.
const MIGRATION_LOCK_ID = 724_201_117;

/** Runs pending migrations under a Postgres advisory lock, before the service listens. */
export async function runMigrations(url: string): Promise<void> {
  const logger = new Logger('Migrations');
  const ds = new DataSource({ ...dataSourceOptions(url, 2) });
  await ds.initialize();
  const lock = ds.createQueryRunner();
  try {
    await lock.connect();
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    if (applied.length > 0) logger.log(`Applied ${applied.map((m) => m.name).join(', ')}`);
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
  } finally {
    await lock.release();
    await ds.destroy();
  }
}
