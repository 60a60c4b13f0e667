import { randomBytes } from 'node:crypto';
import { CredentialCipher } from './credential-cipher';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('CredentialCipher', () => {
  const k1 = key('k1');
  const cipher = new CredentialCipher({ encryption: { current: k1, previous: [] } });

  it('round-trips and never stores the plaintext', () => {
    const sealed = cipher.encrypt('sk-provider-secret-123');
    expect(sealed.keyId).toBe('k1');
    expect(sealed.ciphertext).not.toContain('sk-provider');
    expect(Buffer.from(sealed.ciphertext, 'base64').toString('utf8')).not.toContain('secret');
    expect(cipher.decrypt(sealed)).toBe('sk-provider-secret-123');
  });

  it('uses a fresh IV each time', () => {
    expect(cipher.encrypt('same').ciphertext).not.toBe(cipher.encrypt('same').ciphertext);
  });

  it('detects tampering', () => {
    const sealed = cipher.encrypt('secret');
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => cipher.decrypt({ ...sealed, ciphertext: raw.toString('base64') })).toThrow();
  });

  it('decrypts rows sealed under a previous key after rotation', () => {
    const old = cipher.encrypt('old-secret');
    const rotated = new CredentialCipher({ encryption: { current: key('k2'), previous: [k1] } });
    expect(rotated.decrypt(old)).toBe('old-secret');
    expect(rotated.encrypt('x').keyId).toBe('k2');
    expect(() => rotated.decrypt({ ...old, keyId: 'nope' })).toThrow(/Unknown encryption key id/);
  });
});
