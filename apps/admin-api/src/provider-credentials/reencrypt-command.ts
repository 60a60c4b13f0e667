import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { CredentialCipher } from '@app/auth';
import { TollgateConfig, TollgateConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import { reencryptCredentials } from './reencrypt-credentials';

/**
 * `node dist/apps/admin-api/main.js --reencrypt-credentials` (`npm run reencrypt-credentials`):
 * re-seals every provider credential under the current ENCRYPTION_KEY (ENCRYPTION_KEY_ID),
 * decrypting old rows with ENCRYPTION_KEYS_PREVIOUS. Configured by the same env vars as the
 * service, so it runs in the production image too; prints counts and ids, never a key.
 * Resolves to the exit code: 1 when some row could not be decrypted (it is left untouched).
 */
export async function runReencryptCommand(config: TollgateConfig): Promise<number> {
  @Module({
    imports: [TollgateConfigModule.forRoot('admin-api', config), DbModule],
    providers: [CredentialCipher],
  })
  class ReencryptModule {}

  const app = await NestFactory.createApplicationContext(ReencryptModule, {
    logger: ['error', 'warn'],
  });
  try {
    const result = await reencryptCredentials(app.get(DataSource), app.get(CredentialCipher));
    console.log(
      `Re-encrypted ${result.reencrypted} provider credential(s) under key id '${result.currentKeyId}'.`,
    );
    if (result.failed.length > 0) {
      console.error(
        `${result.failed.length} credential(s) could not be decrypted (add their key to ENCRYPTION_KEYS_PREVIOUS): ${result.failed.join(', ')}`,
      );
      return 1;
    }
    return 0;
  } finally {
    await app.close();
  }
}
