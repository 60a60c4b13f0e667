import { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1795363983038 implements MigrationInterface {
  name = 'Initial1795363983038';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "audit_log" ("audit_id" uuid NOT NULL DEFAULT gen_random_uuid(), "method" character varying(8) NOT NULL, "route" character varying(512) NOT NULL, "target_type" character varying(64), "target_id" character varying(255), "request_id" character varying(128), "status_code" integer NOT NULL, "summary" jsonb NOT NULL DEFAULT '{}'::jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_90d705dc65e834a7bfc79ea4df0" PRIMARY KEY ("audit_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_7368834c55d62d1853a7eef090" ON "audit_log" ("target_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_b85ba8b261143a9fcf1dfb5227" ON "audit_log" ("created_at", "audit_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "organizations" ("organization_id" character varying(128) NOT NULL, "name" character varying(255) NOT NULL, "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_256856c7ab20081dd27937d43ed" PRIMARY KEY ("organization_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "teams" ("team_id" character varying(128) NOT NULL, "organization_id" character varying(128) NOT NULL, "team_alias" character varying(255), "status" character varying(16) NOT NULL DEFAULT 'active', "budget_mode" character varying(32) NOT NULL DEFAULT 'job_based', "credits_per_dollar" double precision NOT NULL DEFAULT '10', "tokens_per_credit" integer NOT NULL DEFAULT '10000', "cost_markup_percentage" double precision NOT NULL DEFAULT '0', "rpm_limit" integer, "tpm_limit" integer, "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb, "credits_allocated" bigint NOT NULL DEFAULT '0', "credits_used" bigint NOT NULL DEFAULT '0', "credits_held" bigint NOT NULL DEFAULT '0', "auto_refill_enabled" boolean NOT NULL DEFAULT false, "auto_refill_amount" integer, "auto_refill_period" character varying(16), "next_refill_at" TIMESTAMP WITH TIME ZONE, "deleted_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "teams_held_non_negative" CHECK ("credits_held" >= 0), CONSTRAINT "teams_credits_non_negative" CHECK ("credits_allocated" - "credits_used" - "credits_held" >= 0), CONSTRAINT "PK_10ccce4d7d878c221ee7c5c8057" PRIMARY KEY ("team_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_fdc736f761896ccc179c823a78" ON "teams" ("organization_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_8ab9833044967e73f1d044718a" ON "teams" ("next_refill_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "credit_holds" ("hold_id" uuid NOT NULL DEFAULT gen_random_uuid(), "team_id" character varying(128) NOT NULL, "job_id" uuid, "key_id" uuid, "credits" bigint NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_9f35298986681e99ba25fed32e3" PRIMARY KEY ("hold_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_89a24d585f699c37747f7af75e" ON "credit_holds" ("team_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_2db22b9009edf8f4ee4c2a3f3d" ON "credit_holds" ("job_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_07310894eaf572af58aec9ebaa" ON "credit_holds" ("expires_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "credit_transactions" ("transaction_id" uuid NOT NULL DEFAULT gen_random_uuid(), "team_id" character varying(128) NOT NULL, "job_id" uuid, "key_id" uuid, "transaction_type" character varying(16) NOT NULL, "credits_amount" bigint NOT NULL, "credits_before" bigint NOT NULL, "credits_after" bigint NOT NULL, "reason" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_8729928830c0b5e20ad5b7790cf" PRIMARY KEY ("transaction_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_f5472de73b5567dc8e538daee3" ON "credit_transactions" ("job_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_fc2569fd7d57818c177c077ba1" ON "credit_transactions" ("team_id", "created_at", "transaction_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "idempotency_keys" ("scope" character varying(255) NOT NULL, "idempotency_key" character varying(255) NOT NULL, "request_hash" character(64) NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'in_progress', "response_status" integer, "response_body" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_bcdc8d32ac07ecba337980fe14f" PRIMARY KEY ("scope", "idempotency_key"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "jobs" ("job_id" uuid NOT NULL DEFAULT gen_random_uuid(), "team_id" character varying(128) NOT NULL, "key_id" uuid, "job_type" character varying(255) NOT NULL, "user_id" character varying(255), "status" character varying(16) NOT NULL DEFAULT 'pending', "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb, "error_message" text, "credits_charged" bigint NOT NULL DEFAULT '0', "credit_applied" boolean NOT NULL DEFAULT false, "completion_result" jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "started_at" TIMESTAMP WITH TIME ZONE, "completed_at" TIMESTAMP WITH TIME ZONE, "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_75f2e130e4b1372fea0b6248a17" PRIMARY KEY ("job_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_ca6807541bdab19c0b39f6a5b9" ON "jobs" ("status", "updated_at") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_47fee31a98bba733e8ca87ad1a" ON "jobs" ("team_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "llm_calls" ("call_id" uuid NOT NULL DEFAULT gen_random_uuid(), "job_id" uuid NOT NULL, "team_id" character varying(128) NOT NULL, "key_id" uuid, "model_requested" character varying(255) NOT NULL, "model_name" character varying(255), "model_id" uuid, "provider" character varying(32), "provider_model" character varying(255), "attempt" integer NOT NULL DEFAULT '1', "prompt_tokens" integer NOT NULL DEFAULT '0', "completion_tokens" integer NOT NULL DEFAULT '0', "total_tokens" integer NOT NULL DEFAULT '0', "provider_cost_usd" numeric(20,10) NOT NULL DEFAULT '0', "client_cost_usd" numeric(20,10) NOT NULL DEFAULT '0', "input_price_per_million" numeric(18,6), "output_price_per_million" numeric(18,6), "markup_percentage" double precision NOT NULL DEFAULT '0', "credits_charged" bigint NOT NULL DEFAULT '0', "latency_ms" integer NOT NULL DEFAULT '0', "status" character varying(16) NOT NULL, "error_class" character varying(64), "error_message" text, "purpose" character varying(255), "streamed" boolean NOT NULL DEFAULT false, "finish_reason" character varying(32), "call_metadata" jsonb NOT NULL DEFAULT '{}'::jsonb, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_79d97c523dce22dabdb084a2696" PRIMARY KEY ("call_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_c66981ae61d5f04a004e821ccc" ON "llm_calls" ("job_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_20bf6f0911b67eab3157ff6de5" ON "llm_calls" ("team_id", "created_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "provider_credentials" ("credential_id" uuid NOT NULL DEFAULT gen_random_uuid(), "organization_id" character varying(128), "provider" character varying(32) NOT NULL, "credential_name" character varying(255) NOT NULL, "api_key_encrypted" text, "encryption_key_id" character varying(32), "api_key_last4" character varying(8), "api_base" character varying(2048), "is_active" boolean NOT NULL DEFAULT true, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_28baafe01f281958ba6572c01c9" PRIMARY KEY ("credential_id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_9c14a34008119db02babe75d87" ON "provider_credentials" ("organization_id", "credential_name") `,
    );
    await queryRunner.query(
      `CREATE TABLE "model_deployments" ("model_id" uuid NOT NULL DEFAULT gen_random_uuid(), "model_name" character varying(255) NOT NULL, "provider" character varying(32) NOT NULL, "provider_model" character varying(255) NOT NULL, "credential_id" uuid, "api_base" character varying(2048), "input_price_per_million" numeric(18,6) NOT NULL, "output_price_per_million" numeric(18,6) NOT NULL, "weight" integer NOT NULL DEFAULT '1', "status" character varying(16) NOT NULL DEFAULT 'active', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_d9ca1eb6e8d529b8858128388d0" PRIMARY KEY ("model_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_98847d6f3fbde5415ec05f56dd" ON "model_deployments" ("model_name") `,
    );
    await queryRunner.query(
      `CREATE TABLE "model_groups" ("group_name" character varying(128) NOT NULL, "description" text, "models" text array NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_5717f564ecd0601ce4b63309275" PRIMARY KEY ("group_name"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "team_model_groups" ("team_id" character varying(128) NOT NULL, "group_name" character varying(128) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_1f4b39ea12f1af0639b994e32a7" PRIMARY KEY ("team_id", "group_name"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_f624b6a6127c2e5b8f4dbb0bd3" ON "team_model_groups" ("group_name") `,
    );
    await queryRunner.query(
      `CREATE TABLE "virtual_keys" ("key_id" uuid NOT NULL DEFAULT gen_random_uuid(), "team_id" character varying(128) NOT NULL, "key_hash" character(64) NOT NULL, "masked_key" character varying(32) NOT NULL, "key_alias" character varying(255), "models" text array NOT NULL DEFAULT '{}', "expires_at" TIMESTAMP WITH TIME ZONE, "max_budget" bigint, "budget_duration" character varying(16), "budget_window_start" TIMESTAMP WITH TIME ZONE, "spend" bigint NOT NULL DEFAULT '0', "spend_held" bigint NOT NULL DEFAULT '0', "total_spend" bigint NOT NULL DEFAULT '0', "rpm_limit" integer, "tpm_limit" integer, "metadata" jsonb NOT NULL DEFAULT '{}'::jsonb, "status" character varying(16) NOT NULL DEFAULT 'active', "revoked_at" TIMESTAMP WITH TIME ZONE, "grace_expires_at" TIMESTAMP WITH TIME ZONE, "rotated_to" uuid, "last_used_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_5376ec5f3b5018194028f2f8c7b" PRIMARY KEY ("key_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_166dd0791fd2bee0d87897fd26" ON "virtual_keys" ("team_id") `,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_9fba1ca4e37d52da52419af374" ON "virtual_keys" ("key_hash") `,
    );
    await queryRunner.query(
      `ALTER TABLE "teams" ADD CONSTRAINT "FK_fdc736f761896ccc179c823a785" FOREIGN KEY ("organization_id") REFERENCES "organizations"("organization_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "credit_holds" ADD CONSTRAINT "FK_89a24d585f699c37747f7af75e4" FOREIGN KEY ("team_id") REFERENCES "teams"("team_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "credit_transactions" ADD CONSTRAINT "FK_6b1c17ca25c9e764cd11d23c418" FOREIGN KEY ("team_id") REFERENCES "teams"("team_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "jobs" ADD CONSTRAINT "FK_b948d7fedbb365b56cc18825cdf" FOREIGN KEY ("team_id") REFERENCES "teams"("team_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "llm_calls" ADD CONSTRAINT "FK_c66981ae61d5f04a004e821ccc9" FOREIGN KEY ("job_id") REFERENCES "jobs"("job_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "provider_credentials" ADD CONSTRAINT "FK_3c1ff3fab70f7543c9235bb2f80" FOREIGN KEY ("organization_id") REFERENCES "organizations"("organization_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "model_deployments" ADD CONSTRAINT "FK_de0437489a53d8e7209fee3fa18" FOREIGN KEY ("credential_id") REFERENCES "provider_credentials"("credential_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "team_model_groups" ADD CONSTRAINT "FK_3c97459db72f6e2bd3d94410baf" FOREIGN KEY ("team_id") REFERENCES "teams"("team_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "team_model_groups" ADD CONSTRAINT "FK_f624b6a6127c2e5b8f4dbb0bd39" FOREIGN KEY ("group_name") REFERENCES "model_groups"("group_name") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "virtual_keys" ADD CONSTRAINT "FK_166dd0791fd2bee0d87897fd261" FOREIGN KEY ("team_id") REFERENCES "teams"("team_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "virtual_keys" DROP CONSTRAINT "FK_166dd0791fd2bee0d87897fd261"`,
    );
    await queryRunner.query(
      `ALTER TABLE "team_model_groups" DROP CONSTRAINT "FK_f624b6a6127c2e5b8f4dbb0bd39"`,
    );
    await queryRunner.query(
      `ALTER TABLE "team_model_groups" DROP CONSTRAINT "FK_3c97459db72f6e2bd3d94410baf"`,
    );
    await queryRunner.query(
      `ALTER TABLE "model_deployments" DROP CONSTRAINT "FK_de0437489a53d8e7209fee3fa18"`,
    );
    await queryRunner.query(
      `ALTER TABLE "provider_credentials" DROP CONSTRAINT "FK_3c1ff3fab70f7543c9235bb2f80"`,
    );
    await queryRunner.query(
      `ALTER TABLE "llm_calls" DROP CONSTRAINT "FK_c66981ae61d5f04a004e821ccc9"`,
    );
    await queryRunner.query(`ALTER TABLE "jobs" DROP CONSTRAINT "FK_b948d7fedbb365b56cc18825cdf"`);
    await queryRunner.query(
      `ALTER TABLE "credit_transactions" DROP CONSTRAINT "FK_6b1c17ca25c9e764cd11d23c418"`,
    );
    await queryRunner.query(
      `ALTER TABLE "credit_holds" DROP CONSTRAINT "FK_89a24d585f699c37747f7af75e4"`,
    );
    await queryRunner.query(`ALTER TABLE "teams" DROP CONSTRAINT "FK_fdc736f761896ccc179c823a785"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_9fba1ca4e37d52da52419af374"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_166dd0791fd2bee0d87897fd26"`);
    await queryRunner.query(`DROP TABLE "virtual_keys"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_f624b6a6127c2e5b8f4dbb0bd3"`);
    await queryRunner.query(`DROP TABLE "team_model_groups"`);
    await queryRunner.query(`DROP TABLE "model_groups"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_98847d6f3fbde5415ec05f56dd"`);
    await queryRunner.query(`DROP TABLE "model_deployments"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_9c14a34008119db02babe75d87"`);
    await queryRunner.query(`DROP TABLE "provider_credentials"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_20bf6f0911b67eab3157ff6de5"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_c66981ae61d5f04a004e821ccc"`);
    await queryRunner.query(`DROP TABLE "llm_calls"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_47fee31a98bba733e8ca87ad1a"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_ca6807541bdab19c0b39f6a5b9"`);
    await queryRunner.query(`DROP TABLE "jobs"`);
    await queryRunner.query(`DROP TABLE "idempotency_keys"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_fc2569fd7d57818c177c077ba1"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_f5472de73b5567dc8e538daee3"`);
    await queryRunner.query(`DROP TABLE "credit_transactions"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_07310894eaf572af58aec9ebaa"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_2db22b9009edf8f4ee4c2a3f3d"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_89a24d585f699c37747f7af75e"`);
    await queryRunner.query(`DROP TABLE "credit_holds"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_8ab9833044967e73f1d044718a"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_fdc736f761896ccc179c823a78"`);
    await queryRunner.query(`DROP TABLE "teams"`);
    await queryRunner.query(`DROP TABLE "organizations"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_b85ba8b261143a9fcf1dfb5227"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_7368834c55d62d1853a7eef090"`);
    await queryRunner.query(`DROP TABLE "audit_log"`);
  }
}
