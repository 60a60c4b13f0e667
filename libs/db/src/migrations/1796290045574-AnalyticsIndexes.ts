import { MigrationInterface, QueryRunner } from 'typeorm';

// Covering indexes for the organization analytics (apps/admin-api/src/analytics), and planner
// statistics on the UTC day they group by (without them Postgres expects a group per row and sorts).
export class AnalyticsIndexes1796290045574 implements MigrationInterface {
  name = 'AnalyticsIndexes1796290045574';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_20bf6f0911b67eab3157ff6de5"`);
    await queryRunner.query(
      `CREATE INDEX "IDX_llm_calls_team_created_usage" ON "llm_calls" ("team_id", "created_at") INCLUDE ("prompt_tokens", "completion_tokens", "total_tokens", "latency_ms", "credits_charged", "job_id", "client_cost_usd", "provider_cost_usd", "status", "model_name", "model_requested")`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_llm_calls_team_model_job" ON "llm_calls" ("team_id", (COALESCE("model_name", "model_requested")), "job_id") INCLUDE ("created_at", "model_name", "model_requested")`,
    );
    await queryRunner.query(`DROP INDEX "public"."IDX_47fee31a98bba733e8ca87ad1a"`);
    await queryRunner.query(
      `CREATE INDEX "IDX_jobs_team_created_usage" ON "jobs" ("team_id", "created_at") INCLUDE ("status")`,
    );
    await queryRunner.query(`DROP INDEX "public"."IDX_fc2569fd7d57818c177c077ba1"`);
    await queryRunner.query(
      `CREATE INDEX "IDX_credit_transactions_team_created_usage" ON "credit_transactions" ("team_id", "created_at", "transaction_id") INCLUDE ("transaction_type", "credits_amount")`,
    );
    for (const table of ['llm_calls', 'jobs', 'credit_transactions']) {
      await queryRunner.query(
        `CREATE STATISTICS "STAT_${table}_utc_day" ON (date_bin('1 day', "created_at", '2000-01-01 00:00:00+00')) FROM "${table}"`,
      );
      await queryRunner.query(`ANALYZE "${table}"`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['llm_calls', 'jobs', 'credit_transactions']) {
      await queryRunner.query(`DROP STATISTICS "public"."STAT_${table}_utc_day"`);
    }
    await queryRunner.query(`DROP INDEX "public"."IDX_credit_transactions_team_created_usage"`);
    await queryRunner.query(
      `CREATE INDEX "IDX_fc2569fd7d57818c177c077ba1" ON "credit_transactions" ("team_id", "created_at", "transaction_id") `,
    );
    await queryRunner.query(`DROP INDEX "public"."IDX_jobs_team_created_usage"`);
    await queryRunner.query(
      `CREATE INDEX "IDX_47fee31a98bba733e8ca87ad1a" ON "jobs" ("team_id", "created_at") `,
    );
    await queryRunner.query(`DROP INDEX "public"."IDX_llm_calls_team_model_job"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_llm_calls_team_created_usage"`);
    await queryRunner.query(
      `CREATE INDEX "IDX_20bf6f0911b67eab3157ff6de5" ON "llm_calls" ("team_id", "created_at") `,
    );
  }
}
