import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every session of this database plans its prepared statements (and the foreign-key checks
 * PostgreSQL runs for each inserted row) with the table sizes of now, not those of the first
 * executions on the connection. A generic plan made while `jobs` held 60 rows checked every
 * inserted call row's `job_id` with a sequential scan of `jobs`, long after it held 30,000: a
 * journal batch of 500 records took 3 s instead of ~0.1, its row locks queued the gateway's other
 * statements, and throughput fell to ~100 req/s until autovacuum analyzed `jobs`
 * (docs/performance-profile.md). Custom plans scale a table's row estimate by its current size.
 * Without the right to alter the database (not its owner) the migration only says so: the
 * gateway works as before.
 */
export class CustomPlans1796900000000 implements MigrationInterface {
  name = 'CustomPlans1796900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DO $$
      BEGIN
        EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'plan_cache_mode not set on database %: %', current_database(), SQLERRM;
      END $$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DO $$
      BEGIN
        EXECUTE format('ALTER DATABASE %I RESET plan_cache_mode', current_database());
      EXCEPTION WHEN insufficient_privilege THEN
        NULL;
      END $$`);
  }
}
