import { BUCKET_TTL_MS, MemoryBuckets } from './token-bucket';

describe('token buckets (in-process mode)', () => {
  it('lets a full minute of requests through, then asks to wait for the refill', () => {
    const buckets = new MemoryBuckets();
    const spec = [{ key: 'k', capacity: 3, cost: 1 }];
    expect([0, 1, 2].map(() => buckets.take(spec, 1000))).toEqual([0, 0, 0]);
    expect(buckets.take(spec, 1000)).toBe(20_000);
    expect(buckets.take(spec, 21_000)).toBe(0);
  });

  it('takes from every bucket or from none', () => {
    const buckets = new MemoryBuckets();
    const rpm = { key: 'rpm', capacity: 10, cost: 1 };
    const tpm = { key: 'tpm', capacity: 100, cost: 80 };
    expect(buckets.take([rpm, tpm], 0)).toBe(0);
    expect(buckets.take([rpm, tpm], 0)).toBeGreaterThan(0);
    // the refused request did not consume an rpm token: 9 remain
    for (let i = 0; i < 9; i++) expect(buckets.take([rpm], 0)).toBe(0);
    expect(buckets.take([rpm], 0)).toBeGreaterThan(0);
  });

  it('corrects tpm after the call with the real usage', () => {
    const buckets = new MemoryBuckets();
    const tpm = { key: 'tpm', capacity: 100, cost: 90 };
    expect(buckets.take([tpm], 0)).toBe(0);
    buckets.adjust([{ ...tpm, cost: 80 }], 0); // used 10, not 90
    expect(buckets.take([tpm], 0)).toBe(0);
  });

  it('lets idle buckets go (full again after BUCKET_TTL_MS), not every key ever limited', () => {
    const buckets = new MemoryBuckets();
    const t0 = 1_000_000;
    for (let i = 0; i < 1000; i++) buckets.take([{ key: `k${i}`, capacity: 10, cost: 1 }], t0);
    expect(buckets.size).toBe(1000);
    const later = t0 + BUCKET_TTL_MS + 1;
    buckets.take([{ key: 'busy', capacity: 10, cost: 10 }], later);
    // the first thousand were set over a TTL ago: gone at the next rotation, and full meanwhile
    expect(buckets.take([{ key: 'k1', capacity: 10, cost: 10 }], later)).toBe(0);
    buckets.take([{ key: 'other', capacity: 10, cost: 1 }], later + BUCKET_TTL_MS + 1);
    expect(buckets.size).toBeLessThanOrEqual(3);
  });
});
