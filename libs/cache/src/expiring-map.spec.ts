import { ExpiringMap } from './expiring-map';

describe('ExpiringMap', () => {
  it('answers an entry until its expiry, then forgets it', () => {
    const map = new ExpiringMap<string, number>(1_000, 10);
    map.set('a', 1, 1_000, 0);
    expect(map.get('a', 999)).toBe(1);
    expect(map.has('a', 999)).toBe(true);
    expect(map.get('a', 1_000)).toBeUndefined();
    expect(map.has('a', 1_000)).toBe(false);
    expect(map.size).toBe(0);
  });

  it('never keeps an entry longer than its TTL', () => {
    const map = new ExpiringMap<string, number>(1_000, 10);
    map.set('a', 1, 60_000, 0);
    expect(map.get('a', 999)).toBe(1);
    expect(map.get('a', 1_000)).toBeUndefined();
  });

  it('keeps a cached null apart from a missing key', () => {
    const map = new ExpiringMap<string, number | null>(1_000, 10);
    map.set('revoked', null, 1_000, 0);
    expect(map.get('revoked', 1)).toBeNull();
    expect(map.get('unknown', 1)).toBeUndefined();
  });

  it('holds about two TTLs of distinct keys however many it has seen', () => {
    const map = new ExpiringMap<string, number>(1_000, 1_000_000);
    // 100,000 distinct keys, one a millisecond, each kept for 1 s: never more than ~2,000 held.
    let most = 0;
    for (let t = 0; t < 100_000; t++) {
      map.set(`key-${t}`, t, t + 1_000, t);
      most = Math.max(most, map.size);
    }
    expect(most).toBeLessThanOrEqual(2_001);
    expect(map.get('key-98000', 99_999)).toBeUndefined();
    expect(map.get('key-99500', 99_999)).toBe(99_500);
  });

  it('keeps an entry set just before a rotation until it expires', () => {
    const map = new ExpiringMap<string, number>(1_000, 10);
    map.set('first', 0, 1_000, 0); // starts a generation at 0
    map.set('late', 1, 1_999, 999);
    map.set('next', 2, 2_000, 1_000); // rotation: 'late' moves to the previous generation
    expect(map.get('late', 1_998)).toBe(1);
    expect(map.get('first', 1_000)).toBeUndefined();
  });

  it('drops the oldest half past its bound, not everything', () => {
    const map = new ExpiringMap<string, number>(60_000, 4);
    for (const [i, key] of ['a', 'b', 'c', 'd', 'e'].entries()) map.set(key, i, 60_000, 0);
    expect(map.size).toBeLessThanOrEqual(4);
    expect(map.get('a', 1)).toBeUndefined();
    expect(map.get('c', 1)).toBe(2);
    expect(map.get('e', 1)).toBe(4);
  });

  it('renewing a key moves it to the current generation', () => {
    const map = new ExpiringMap<string, number>(60_000, 4);
    map.set('a', 1, 60_000, 0);
    map.set('b', 2, 60_000, 0);
    map.set('c', 3, 60_000, 0); // rotation: a, b are the previous generation
    map.set('a', 4, 60_000, 0);
    map.set('d', 5, 60_000, 0); // rotation: c, a previous; b dropped
    expect(map.get('b', 1)).toBeUndefined();
    expect(map.get('a', 1)).toBe(4);
    expect(map.get('d', 1)).toBe(5);
  });

  it('deletes one key, or every entry whose value matches, in both generations', () => {
    const map = new ExpiringMap<string, { teamId: string }>(1_000, 100);
    map.set('k1', { teamId: 't1' }, 1_000, 0);
    map.set('k2', { teamId: 't2' }, 2_000, 1_000);
    map.set('k3', { teamId: 't1' }, 2_000, 1_000);
    expect(map.delete('k2')).toBe(true);
    expect(map.delete('k2')).toBe(false);
    map.deleteWhere((v) => v.teamId === 't1');
    expect(map.size).toBe(0);
  });

  it('lets its entries go once nobody writes to it, without a later set (a replica at rest)', async () => {
    const map = new ExpiringMap<string, number>(40, 100);
    for (const key of ['a', 'b', 'c']) map.set(key, 1, Date.now() + 40);
    expect(map.size).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(map.size).toBe(0);
  });

  it('refuses a TTL or a bound it cannot honour', () => {
    expect(() => new ExpiringMap(0, 10)).toThrow(RangeError);
    expect(() => new ExpiringMap(1_000, 1)).toThrow(RangeError);
    expect(() => new ExpiringMap(1_000, 1.5)).toThrow(RangeError);
  });
});
