import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@app/db';

/**
 * The entities are the schema's definition (`npm run migration:generate` diffs them against the
 * database): the migrated schema must be exactly what they describe, so a migration and its
 * entity cannot drift, and an entity no query names still earns its place.
 */
describe('entities and migrations', () => {
  it('describe the same schema: TypeORM finds nothing to change after the migrations', async () => {
    const db = new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 1));
    await db.initialize();
    try {
      const { upQueries } = await db.driver.createSchemaBuilder().log();
      // TypeORM compares a function default `() => "'{}'::jsonb"` as text and always sees a change
      const real = upQueries
        .map((q) => q.query)
        .filter((q) => !/ALTER COLUMN "\w+" SET DEFAULT '\{\}'::jsonb$/.test(q));
      expect(real).toEqual([]);
    } finally {
      await db.destroy();
    }
  });

  it('plans every statement for the tables as they are now (custom plans): a session opened after the migrations', async () => {
    const db = new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 1));
    await db.initialize();
    try {
      const [row] = await db.query(`SELECT current_setting('plan_cache_mode') AS mode`);
      expect(row.mode).toBe('force_custom_plan');
    } finally {
      await db.destroy();
    }
  });
});
