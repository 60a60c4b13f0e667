import { createHmac } from 'node:crypto';
import {
  MAX_RETRY_DELAY_MS,
  newWebhookSecret,
  retryDelayMs,
  signatureHeader,
  verifySignature,
} from './webhook-signature';

describe('webhook signatures', () => {
  const secret = 'whsec_test';
  const body = '{"id":"e1","type":"credits.added"}';

  it('is the hex HMAC-SHA256 of "<t>.<body>" with the secret', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signatureHeader(secret, 1700000000, body)).toBe(`t=1700000000,v1=${expected}`);
  });

  it('verifies its own signature within the tolerance, and nothing else', () => {
    const header = signatureHeader(secret, 1700000000, body);
    expect(verifySignature(secret, header, body, 300, 1700000100)).toBe(true);
    expect(verifySignature('whsec_other', header, body, 300, 1700000100)).toBe(false);
    expect(verifySignature(secret, header, body + ' ', 300, 1700000100)).toBe(false);
    expect(verifySignature(secret, header, body, 300, 1700000301)).toBe(false);
    expect(verifySignature(secret, 'garbage', body, 300, 1700000000)).toBe(false);
    expect(verifySignature(secret, 't=1700000000,v1=zz', body, 300, 1700000000)).toBe(false);
  });

  it('accepts any of several v1 signatures (a receiver during a secret rotation)', () => {
    const good = signatureHeader(secret, 1700000000, body).split(',')[1];
    const header = `t=1700000000,v1=${'0'.repeat(64)},${good}`;
    expect(verifySignature(secret, header, body, 300, 1700000000)).toBe(true);
  });

  it('makes distinct, long secrets', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(a);
  });
});

describe('retry backoff', () => {
  it('doubles per attempt between half and all of the exponential delay', () => {
    expect(retryDelayMs(1, 1000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, () => 1)).toBe(1000);
    expect(retryDelayMs(2, 1000, () => 0)).toBe(1000);
    expect(retryDelayMs(3, 1000, () => 1)).toBe(4000);
    expect(retryDelayMs(4, 1000, () => 0.5)).toBe(6000);
  });

  it('never waits longer than the cap', () => {
    expect(retryDelayMs(60, 10_000, () => 1)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(60, 10_000, () => 0)).toBe(MAX_RETRY_DELAY_MS / 2);
  });

  it('spreads retries with jitter', () => {
    const delays = new Set(Array.from({ length: 20 }, () => retryDelayMs(5, 1000)));
    expect(delays.size).toBeGreaterThan(1);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(8000);
    for (const d of delays) expect(d).toBeLessThanOrEqual(16000);
  });
});
