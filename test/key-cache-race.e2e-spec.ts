import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { KeyCacheService, RedisCacheStore } from '@app/cache';

/**
 * The read-then-cache race: a gateway replica loads a key from the database, an admin change
 * commits and invalidates, and only then the replica writes what it loaded to Redis. The stale
 * entry must not land, or every replica accepts a revoked key until it expires.
 */
describe('key cache under a concurrent invalidation (real Redis)', () => {
  const url = process.env.REDIS_URL!;
  let gatewayStore: RedisCacheStore;
  let adminStore: RedisCacheStore;
  let gateway: KeyCacheService;
  let admin: KeyCacheService;

  beforeAll(async () => {
    gatewayStore = new RedisCacheStore(new Redis(url), url);
    adminStore = new RedisCacheStore(new Redis(url), url);
    gateway = new KeyCacheService(gatewayStore);
    admin = new KeyCacheService(adminStore);
    await gateway.onModuleInit();
    await admin.onModuleInit();
  });
  afterAll(async () => {
    await gatewayStore.close();
    await adminStore.close();
  });

  it('does not cache what was loaded while an invalidation happened', async () => {
    const keyHash = randomBytes(16).toString('hex');
    const before = { teamId: 'race-team', status: 'active' };
    // the load reads the old row, then the admin change commits and invalidates
    const loaded = await gateway.getOrLoad(keyHash, async () => {
      const row = { ...before };
      await admin.invalidate({ teamId: 'race-team', keyHashes: [keyHash] });
      return row;
    });
    expect(loaded).toEqual(before); // that one request started before the change
    expect(await gatewayStore.get(`tollgate:key:${keyHash}`)).toBeNull();

    // a fresh replica (no local layer) must go to the database, not to a stale shared entry
    const other = new KeyCacheService(new RedisCacheStore(gatewayStore.client, url));
    const after = { teamId: 'race-team', status: 'suspended' };
    const load = jest.fn(() => Promise.resolve(after));
    expect(await other.getOrLoad(keyHash, load)).toEqual(after);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('caches a load no invalidation raced, and the next replica reads it from Redis', async () => {
    const keyHash = randomBytes(16).toString('hex');
    const value = { teamId: 'calm-team' };
    await gateway.getOrLoad(keyHash, () => Promise.resolve(value));
    expect(JSON.parse((await gatewayStore.get(`tollgate:key:${keyHash}`))!)).toEqual({
      epoch: expect.any(String),
      value,
    });
    const other = new KeyCacheService(new RedisCacheStore(gatewayStore.client, url));
    const load = jest.fn(() => Promise.resolve(null));
    expect(await other.getOrLoad(keyHash, load)).toEqual(value);
    expect(load).not.toHaveBeenCalled();
  });
});
