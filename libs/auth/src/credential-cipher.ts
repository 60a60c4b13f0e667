import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import type { EncryptionKey } from '@app/config';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Sealed {
  /** base64(iv | tag | ciphertext) */
  ciphertext: string;
  keyId: string;
}

/** AES-256-GCM for provider API keys; the key id is stored beside the ciphertext for rotation. */
@Injectable()
export class CredentialCipher {
  private readonly current: EncryptionKey;
  private readonly keys: Map<string, Buffer>;

  constructor(@Inject(TOLLGATE_CONFIG) config: Pick<TollgateConfig, 'encryption'>) {
    this.current = config.encryption.current;
    this.keys = new Map(
      [...config.encryption.previous, config.encryption.current].map((k) => [k.id, k.key]),
    );
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  encrypt(plaintext: string): Sealed {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'),
      keyId: this.current.id,
    };
  }

  /** Throws if the key id is unknown or the ciphertext was tampered with. */
  decrypt(sealed: Sealed): string {
    const key = this.keys.get(sealed.keyId);
    if (!key) throw new Error(`Unknown encryption key id '${sealed.keyId}'`);
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([
      decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  }
}
