/**
 * `npm run reencrypt-credentials`: re-seals every provider credential under the current
 * ENCRYPTION_KEY (ENCRYPTION_KEY_ID), decrypting old rows with ENCRYPTION_KEYS_PREVIOUS.
 * Configured by the same env vars as the services; prints counts, never a key.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { CredentialCipher } from '@app/auth';
import { loadConfig, TollgateConfigModule } from '@app/config';
import { DbModule } from '@app/db';
import { reencryptCredentials } from '../apps/admin-api/src/provider-credentials/reencrypt-credentials';

async function main(): Promise<number> {
  const config = loadConfig('admin-api');
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

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
