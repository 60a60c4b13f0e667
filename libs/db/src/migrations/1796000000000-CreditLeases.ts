import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreditLeases1796000000000 implements MigrationInterface {
  name = 'CreditLeases1796000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "credit_leases" ("lease_id" uuid NOT NULL DEFAULT gen_random_uuid(), "team_id" character varying(128) NOT NULL, "replica_id" character varying(128) NOT NULL, "credits" bigint NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "credit_leases_credits_non_negative" CHECK ("credits" >= 0), CONSTRAINT "PK_4801c78f81452753de577f9dc52" PRIMARY KEY ("lease_id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_f67ad5ce53b860ecd093c1ca5a" ON "credit_leases" ("team_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_6f064a450bd82513717410a321" ON "credit_leases" ("replica_id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_e3010cf3ccbec10fac5153693c" ON "credit_leases" ("expires_at") `,
    );
    await queryRunner.query(
      `ALTER TABLE "credit_leases" ADD CONSTRAINT "FK_f67ad5ce53b860ecd093c1ca5a3" FOREIGN KEY ("team_id") REFERENCES "teams"("team_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "credit_leases" DROP CONSTRAINT "FK_f67ad5ce53b860ecd093c1ca5a3"`,
    );
    await queryRunner.query(`DROP INDEX "public"."IDX_e3010cf3ccbec10fac5153693c"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_6f064a450bd82513717410a321"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_f67ad5ce53b860ecd093c1ca5a"`);
    await queryRunner.query(`DROP TABLE "credit_leases"`);
  }
}
