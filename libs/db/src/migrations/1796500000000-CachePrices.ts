import { MigrationInterface, QueryRunner } from 'typeorm';

// Cache-aware prices (SPEC §9): a deployment's cached-read and cache-write input prices (null =
// the input price), and each call's cached, cache-write and reasoning token counts.
export class CachePrices1796500000000 implements MigrationInterface {
  name = 'CachePrices1796500000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "model_deployments" ADD "cached_input_price_per_million" numeric(18,6), ADD "cache_write_price_per_million" numeric(18,6)`,
    );
    await queryRunner.query(
      `ALTER TABLE "llm_calls" ADD "cached_tokens" integer NOT NULL DEFAULT 0, ADD "cache_write_tokens" integer NOT NULL DEFAULT 0, ADD "reasoning_tokens" integer NOT NULL DEFAULT 0`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "llm_calls" DROP COLUMN "reasoning_tokens", DROP COLUMN "cache_write_tokens", DROP COLUMN "cached_tokens"`,
    );
    await queryRunner.query(
      `ALTER TABLE "model_deployments" DROP COLUMN "cache_write_price_per_million", DROP COLUMN "cached_input_price_per_million"`,
    );
  }
}
