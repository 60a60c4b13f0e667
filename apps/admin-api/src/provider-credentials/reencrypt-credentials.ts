import type { DataSource } from 'typeorm';
import type { CredentialCipher } from '@app/auth';
import { returning } from '@app/db';

export interface ReencryptResult {
  /** Rows now sealed under the current key. */
  reencrypted: number;
  /** Rows that could not be decrypted (their key id is not configured); ids only. */
  failed: string[];
  currentKeyId: string;
}

/** A table holding sealed secrets: its id and ciphertext columns (an encryption_key_id beside). */
export interface SealedSecrets {
  table: string;
  id: string;
  ciphertext: string;
  /** What one row is, for the command's output. */
  noun: string;
}

export const PROVIDER_CREDENTIAL_KEYS: SealedSecrets = {
  table: 'provider_credentials',
  id: 'credential_id',
  ciphertext: 'api_key_encrypted',
  noun: 'provider credential',
};

export const WEBHOOK_SECRETS: SealedSecrets = {
  table: 'webhooks',
  id: 'webhook_id',
  ciphertext: 'secret_encrypted',
  noun: 'webhook secret',
};

interface SealedRow {
  id: string;
  ciphertext: string;
  encryption_key_id: string | null;
}

/**
 * Re-seals every secret of `sealed` (default: provider credentials) not under the current
 * ENCRYPTION_KEY id. Each row is a compare-and-swap on its old ciphertext, so a concurrent update
 * (a new api_key, a rotated webhook secret) is never undone.
 */
export async function reencryptCredentials(
  db: DataSource,
  cipher: CredentialCipher,
  sealed: SealedSecrets = PROVIDER_CREDENTIAL_KEYS,
): Promise<ReencryptResult> {
  const currentKeyId = cipher.currentKeyId;
  const { table, id, ciphertext } = sealed;
  const rows: SealedRow[] = await db.query(
    `SELECT ${id} AS id, ${ciphertext} AS ciphertext, encryption_key_id FROM ${table}
      WHERE ${ciphertext} IS NOT NULL AND encryption_key_id IS DISTINCT FROM $1
      ORDER BY created_at, ${id}`,
    [currentKeyId],
  );
  const result: ReencryptResult = { reencrypted: 0, failed: [], currentKeyId };
  for (const row of rows) {
    let plaintext: string;
    try {
      plaintext = cipher.decrypt({
        ciphertext: row.ciphertext,
        keyId: row.encryption_key_id ?? '',
      });
    } catch {
      result.failed.push(row.id);
      continue;
    }
    const resealed = cipher.encrypt(plaintext);
    const updated = await returning(
      db,
      `UPDATE ${table} SET ${ciphertext} = $2, encryption_key_id = $3, updated_at = now()
        WHERE ${id} = $1 AND ${ciphertext} = $4
          AND encryption_key_id IS NOT DISTINCT FROM $5
        RETURNING ${id}`,
      [row.id, resealed.ciphertext, resealed.keyId, row.ciphertext, row.encryption_key_id],
    );
    if (updated.length > 0) result.reencrypted += 1;
  }
  return result;
}
