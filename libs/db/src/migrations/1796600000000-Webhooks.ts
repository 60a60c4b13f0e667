import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Records an event and queues one delivery per enabled webhook subscribed to it (scope: its
 * organization and team, or all); a repeated dedupe_key records nothing. Returns the event id.
 */
const EMIT_FUNCTION = `
CREATE FUNCTION tollgate_emit_webhook_event(p_type text, p_org text, p_team text, p_data jsonb, p_dedupe text)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_event uuid;
BEGIN
  INSERT INTO webhook_events (event_type, organization_id, team_id, data, dedupe_key)
  VALUES (p_type, p_org, p_team, p_data, p_dedupe)
  ON CONFLICT (dedupe_key) DO NOTHING
  RETURNING event_id INTO v_event;
  IF v_event IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO webhook_deliveries (webhook_id, event_id)
  SELECT w.webhook_id, v_event FROM webhooks w
   WHERE w.enabled AND p_type = ANY (w.events)
     AND (w.organization_id IS NULL OR w.organization_id = p_org)
     AND (w.team_id IS NULL OR w.team_id = p_team);
  RETURN v_event;
END $$`;

/**
 * On every change of a team's balance (allocated − used), threshold or status, under the row
 * lock the UPDATE holds: team.suspended when the status becomes suspended; team.balance_low when
 * an armed team's balance is below its threshold (disarms), re-armed at or above it. Concurrent
 * writers queue on the row lock and each sees the flag the previous one left: one event per
 * crossing. Holds and leases are reservations, not spend: they do not count (they would flap).
 */
const TEAM_ALERTS_FUNCTION = `
CREATE FUNCTION tollgate_team_alerts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_balance bigint := NEW.credits_allocated - NEW.credits_used;
BEGIN
  IF NEW.status = 'suspended' AND OLD.status IS DISTINCT FROM 'suspended' THEN
    PERFORM tollgate_emit_webhook_event('team.suspended', NEW.organization_id, NEW.team_id,
      jsonb_build_object('team_id', NEW.team_id, 'organization_id', NEW.organization_id,
                         'previous_status', OLD.status), NULL);
  END IF;
  IF NEW.balance_low_threshold IS NULL THEN
    NEW.balance_low_armed := true;
  ELSIF NEW.balance_low_armed AND v_balance < NEW.balance_low_threshold THEN
    NEW.balance_low_armed := false;
    PERFORM tollgate_emit_webhook_event('team.balance_low', NEW.organization_id, NEW.team_id,
      jsonb_build_object('team_id', NEW.team_id, 'organization_id', NEW.organization_id,
                         'balance', v_balance, 'threshold', NEW.balance_low_threshold,
                         'credits_allocated', NEW.credits_allocated, 'credits_used', NEW.credits_used), NULL);
  ELSIF NOT NEW.balance_low_armed AND v_balance >= NEW.balance_low_threshold THEN
    NEW.balance_low_armed := true;
  END IF;
  RETURN NEW;
END $$`;

/** credits.added for every grant: an admin allocation or an auto-refill (its ledger row). */
const CREDITS_ADDED_FUNCTION = `
CREATE FUNCTION tollgate_credits_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM tollgate_emit_webhook_event('credits.added', t.organization_id, NEW.team_id,
    jsonb_build_object('team_id', NEW.team_id, 'organization_id', t.organization_id,
                       'transaction_id', NEW.transaction_id, 'transaction_type', NEW.transaction_type,
                       'credits', NEW.credits_amount, 'balance', NEW.credits_after, 'reason', NEW.reason), NULL)
    FROM teams t WHERE t.team_id = NEW.team_id;
  RETURN NULL;
END $$`;

export class Webhooks1796600000000 implements MigrationInterface {
  name = 'Webhooks1796600000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "webhook_events" ("event_id" uuid NOT NULL DEFAULT gen_random_uuid(), "event_type" character varying(64) NOT NULL, "organization_id" character varying(128), "team_id" character varying(128), "data" jsonb NOT NULL DEFAULT '{}'::jsonb, "dedupe_key" character varying(255), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_eca7d9af1d5bb2184a201ed250d" PRIMARY KEY ("event_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_eede2cd60dee388f06ea3f9b4d" ON "webhook_events" ("team_id") `,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_c64daa91cce26db387bc965e00" ON "webhook_events" ("dedupe_key") `,
    );
    await queryRunner.query(
      `CREATE TABLE "webhooks" ("webhook_id" uuid NOT NULL DEFAULT gen_random_uuid(), "url" character varying(2048) NOT NULL, "events" text array NOT NULL, "organization_id" character varying(128), "team_id" character varying(128), "description" character varying(255), "enabled" boolean NOT NULL DEFAULT true, "secret_encrypted" text NOT NULL, "encryption_key_id" character varying(32) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_10ff19207b489550b9c7c9d7872" PRIMARY KEY ("webhook_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_1263da9f2a66fe09006bd86130" ON "webhooks" ("organization_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_26d42440c87400a846e3660806" ON "webhooks" ("team_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_50b23a5bafc244337cc500cb84" ON "webhooks" ("created_at", "webhook_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "webhook_deliveries" ("delivery_id" uuid NOT NULL DEFAULT gen_random_uuid(), "webhook_id" uuid NOT NULL, "event_id" uuid NOT NULL, "status" character varying(16) NOT NULL DEFAULT 'pending', "attempts" integer NOT NULL DEFAULT '0', "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_attempt_at" TIMESTAMP WITH TIME ZONE, "last_status_code" integer, "last_error" character varying(500), "delivered_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_6c1db1ec505a69c927e3c4dcee4" PRIMARY KEY ("delivery_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_27d1ee90033bdafe0ffe8f1be6" ON "webhook_deliveries" ("event_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_webhook_deliveries_due" ON "webhook_deliveries" ("next_attempt_at") WHERE "status" = 'pending'`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_08da689824f3b97fa480338bac" ON "webhook_deliveries" ("webhook_id", "event_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_61dcefd4aa35299767ab99a51e" ON "webhook_deliveries" ("webhook_id", "created_at", "delivery_id") `,
    );
    await queryRunner.query(`ALTER TABLE "teams" ADD "balance_low_threshold" bigint`);
    await queryRunner.query(
      `ALTER TABLE "teams" ADD "balance_low_armed" boolean NOT NULL DEFAULT true`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhooks" ADD CONSTRAINT "FK_1263da9f2a66fe09006bd86130e" FOREIGN KEY ("organization_id") REFERENCES "organizations"("organization_id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhooks" ADD CONSTRAINT "FK_26d42440c87400a846e3660806f" FOREIGN KEY ("team_id") REFERENCES "teams"("team_id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "FK_a0286aeb96db651efd1ae2966f2" FOREIGN KEY ("webhook_id") REFERENCES "webhooks"("webhook_id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "FK_27d1ee90033bdafe0ffe8f1be6f" FOREIGN KEY ("event_id") REFERENCES "webhook_events"("event_id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
    // The outbox and the alerts live in SQL so that every writer (admin-api, each gateway
    // replica, the journal's batches) emits them in the transaction of the change itself,
    // exactly once, without a statement of its own: see docs/design/webhooks.md.
    await queryRunner.query(`${EMIT_FUNCTION}`);
    await queryRunner.query(`${TEAM_ALERTS_FUNCTION}`);
    await queryRunner.query(
      `CREATE TRIGGER "teams_webhook_alerts" BEFORE UPDATE OF "credits_allocated", "credits_used", "balance_low_threshold", "status" ON "teams" FOR EACH ROW WHEN (NEW."balance_low_threshold" IS NOT NULL OR OLD."balance_low_threshold" IS NOT NULL OR NEW."status" IS DISTINCT FROM OLD."status") EXECUTE FUNCTION tollgate_team_alerts()`,
    );
    await queryRunner.query(`${CREDITS_ADDED_FUNCTION}`);
    await queryRunner.query(
      `CREATE TRIGGER "credit_transactions_webhook_credits_added" AFTER INSERT ON "credit_transactions" FOR EACH ROW WHEN (NEW."transaction_type" IN ('allocation', 'refill')) EXECUTE FUNCTION tollgate_credits_added()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DROP TRIGGER "credit_transactions_webhook_credits_added" ON "credit_transactions"`,
    );
    await queryRunner.query(`DROP TRIGGER "teams_webhook_alerts" ON "teams"`);
    await queryRunner.query(`DROP FUNCTION tollgate_credits_added()`);
    await queryRunner.query(`DROP FUNCTION tollgate_team_alerts()`);
    await queryRunner.query(
      `DROP FUNCTION tollgate_emit_webhook_event(text, text, text, jsonb, text)`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "FK_27d1ee90033bdafe0ffe8f1be6f"`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "FK_a0286aeb96db651efd1ae2966f2"`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhooks" DROP CONSTRAINT "FK_26d42440c87400a846e3660806f"`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhooks" DROP CONSTRAINT "FK_1263da9f2a66fe09006bd86130e"`,
    );
    await queryRunner.query(`ALTER TABLE "teams" DROP COLUMN "balance_low_armed"`);
    await queryRunner.query(`ALTER TABLE "teams" DROP COLUMN "balance_low_threshold"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_61dcefd4aa35299767ab99a51e"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_08da689824f3b97fa480338bac"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_webhook_deliveries_due"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_27d1ee90033bdafe0ffe8f1be6"`);
    await queryRunner.query(`DROP TABLE "webhook_deliveries"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_50b23a5bafc244337cc500cb84"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_26d42440c87400a846e3660806"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_1263da9f2a66fe09006bd86130"`);
    await queryRunner.query(`DROP TABLE "webhooks"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_c64daa91cce26db387bc965e00"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_eede2cd60dee388f06ea3f9b4d"`);
    await queryRunner.query(`DROP TABLE "webhook_events"`);
  }
}
