import { createHash } from 'node:crypto';
import {
  generateVirtualKey,
  hashVirtualKey,
  looksLikeVirtualKey,
  maskVirtualKey,
  VIRTUAL_KEY_PATTERN,
} from './virtual-key';

describe('virtual keys', () => {
  it('are sk- plus at least 32 base62 characters', () => {
    const key = generateVirtualKey();
    expect(key).toMatch(VIRTUAL_KEY_PATTERN);
    expect(key.length).toBeGreaterThanOrEqual(35);
    expect(looksLikeVirtualKey(key)).toBe(true);
  });

  it('carry at least 190 bits of entropy', () => {
    const body = generateVirtualKey().slice(3);
    expect(body.length * Math.log2(62)).toBeGreaterThanOrEqual(190);
  });

  it('do not repeat and use the whole alphabet', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateVirtualKey()));
    expect(keys.size).toBe(2000);
    const chars = new Set([...keys].join('').replace(/sk-/g, ''));
    expect(chars.size).toBe(62);
  });

  it('hash to a stable SHA-256 hex digest that differs per key', () => {
    const key = 'sk-' + 'a'.repeat(40);
    expect(hashVirtualKey(key)).toBe(hashVirtualKey(key));
    expect(hashVirtualKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashVirtualKey(key)).not.toBe(hashVirtualKey(key + 'b'));
    expect(hashVirtualKey(key)).not.toContain(key.slice(3));
  });

  it('is the SHA-256 hex of the key (what the rows of existing keys hold)', () => {
    expect(hashVirtualKey('sk-tg-abc')).toBe(
      createHash('sha256').update('sk-tg-abc', 'utf8').digest('hex'),
    );
    expect(hashVirtualKey('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('mask to a short prefix and suffix that hide the body', () => {
    const key = 'sk-Ab3dEFGHIJKLMNOPQRSTUVWXYZabcdefghx9Zq';
    expect(maskVirtualKey(key)).toBe('sk-Ab3d…x9Zq');
  });

  it('reject values that are not virtual keys', () => {
    expect(looksLikeVirtualKey('sk-short')).toBe(false);
    expect(looksLikeVirtualKey('sk-admin-local-dev-change-in-production')).toBe(false);
    expect(looksLikeVirtualKey('Bearer sk-' + 'a'.repeat(40))).toBe(false);
  });
});
