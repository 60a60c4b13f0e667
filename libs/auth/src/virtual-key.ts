import { hash, randomInt } from 'node:crypto';

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** 40 base62 characters ≈ 238 bits from the CSPRNG. */
const KEY_BODY_LENGTH = 40;
export const VIRTUAL_KEY_PATTERN = /^sk-[A-Za-z0-9]{32,}$/;

export function generateVirtualKey(): string {
  let body = '';
  for (let i = 0; i < KEY_BODY_LENGTH; i++) body += BASE62[randomInt(62)];
  return `sk-${body}`;
}

/**
 * SHA-256 hex: keys carry ≥190 bits of entropy, so a fast unsalted hash is safe and indexable.
 * Every request hashes its key: the one-shot `crypto.hash` (Node ≥ 20.12) builds no Hash object.
 */
export function hashVirtualKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** Display form: `sk-Ab3d…x9Zq`. */
export function maskVirtualKey(key: string): string {
  return `${key.slice(0, 7)}…${key.slice(-4)}`;
}

export function looksLikeVirtualKey(value: string): boolean {
  return VIRTUAL_KEY_PATTERN.test(value);
}
