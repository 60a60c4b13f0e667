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

interface SealedRow {
  credential_id: string;
  api_key_encrypted: string;
  encryption_key_id: string | null;
}

/**
 * Re-seals every provider credential not under the current ENCRYPTION_KEY id. Each row is a
 * compare-and-swap on its old ciphertext, so a concurrent update (a new api_key) is never undone.
 */
export async function reencryptCredentials(
  db: DataSource,
  cipher: CredentialCipher,
): Promise<ReencryptResult> {
  const currentKeyId = cipher.currentKeyId;
  const rows: SealedRow[] = await db.query(
    `SELECT credential_id, api_key_encrypted, encryption_key_id FROM provider_credentials
      WHERE api_key_encrypted IS NOT NULL AND encryption_key_id IS DISTINCT FROM $1
      ORDER BY created_at, credential_id`,
    [currentKeyId],
  );
  const result: ReencryptResult = { reencrypted: 0, failed: [], currentKeyId };
  for (const row of rows) {
    let plaintext: string;
    try {
      plaintext = cipher.decrypt({
        ciphertext: row.api_key_encrypted,
        keyId: row.encryption_key_id ?? '',
      });
    } catch {
      result.failed.push(row.credential_id);
      continue;
    }
    const sealed = cipher.encrypt(plaintext);
    const updated = await returning(
      db,
      `UPDATE provider_credentials SET api_key_encrypted = $2, encryption_key_id = $3, updated_at = now()
        WHERE credential_id = $1 AND api_key_encrypted = $4
          AND encryption_key_id IS NOT DISTINCT FROM $5
        RETURNING credential_id`,
      [
        row.credential_id,
        sealed.ciphertext,
        sealed.keyId,
        row.api_key_encrypted,
        row.encryption_key_id,
      ],
    );
    if (updated.length > 0) result.reencrypted += 1;
  }
  return result;
}
