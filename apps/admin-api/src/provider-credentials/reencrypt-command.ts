import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { CredentialCipher } from '@app/auth';
import { TollgateConfig, TollgateConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import {
  PROVIDER_CREDENTIAL_KEYS,
  reencryptCredentials,
  WEBHOOK_SECRETS,
} from './reencrypt-credentials';

/**
 * `node dist/apps/admin-api/main.js --reencrypt-credentials` (`npm run reencrypt-credentials`):
 * re-seals every provider credential and webhook secret under the current ENCRYPTION_KEY
 * (ENCRYPTION_KEY_ID), decrypting old rows with ENCRYPTION_KEYS_PREVIOUS. Configured by the same env vars as the
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
    let failed = 0;
    for (const sealed of [PROVIDER_CREDENTIAL_KEYS, WEBHOOK_SECRETS]) {
      const result = await reencryptCredentials(
        app.get(DataSource),
        app.get(CredentialCipher),
        sealed,
      );
      console.log(
        `Re-encrypted ${result.reencrypted} ${sealed.noun}(s) under key id '${result.currentKeyId}'.`,
      );
      if (result.failed.length > 0) {
        console.error(
          `${result.failed.length} ${sealed.noun}(s) could not be decrypted (add their key to ENCRYPTION_KEYS_PREVIOUS): ${result.failed.join(', ')}`,
        );
        failed += result.failed.length;
      }
    }
    return failed > 0 ? 1 : 0;
  } finally {
    await app.close();
  }
}
