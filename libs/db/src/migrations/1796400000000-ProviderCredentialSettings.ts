import { MigrationInterface, QueryRunner } from 'typeorm';

/** Non-secret provider settings on credentials: azure-openai api_version, bedrock region. */
export class ProviderCredentialSettings1796400000000 implements MigrationInterface {
  name = 'ProviderCredentialSettings1796400000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "provider_credentials" ADD "settings" jsonb NOT NULL DEFAULT '{}'::jsonb`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "provider_credentials" DROP COLUMN "settings"`);
  }
}
