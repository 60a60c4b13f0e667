import { KeyCacheService } from './key-cache.service';
import { MemoryCacheStore } from './memory-cache.store';

describe('KeyCacheService.onTeamChange (the in-process store: one process, no Redis)', () => {
  it('hands the team of each team or key invalidation to its handlers, and only those', async () => {
    const cache = new KeyCacheService(new MemoryCacheStore());
    await cache.onModuleInit();
    const seen: string[] = [];
    cache.onTeamChange((teamId) => seen.push(teamId));

    await cache.invalidate({ teamId: 'suspended', keyHashes: ['h1'] });
    await cache.invalidate({ keyHashes: ['h2'], keysOf: 'revoked' });
    await cache.invalidate({ keyHashes: ['h3'] }); // names no team: nothing to release
    expect(new Set(seen)).toEqual(new Set(['suspended', 'revoked']));
  });

  it('drops only the named keys when the team is given as their owner', async () => {
    const cache = new KeyCacheService<{ teamId: string; n: number }>(new MemoryCacheStore());
    await cache.onModuleInit();
    let loads = 0;
    const load = (n: number) => () => {
      loads += 1;
      return Promise.resolve({ teamId: 't', n });
    };
    await cache.getOrLoad('a', load(1));
    await cache.getOrLoad('b', load(2));
    await cache.invalidate({ keyHashes: ['a'], keysOf: 't' });
    await cache.getOrLoad('a', load(1));
    await cache.getOrLoad('b', load(2));
    expect(loads).toBe(3); // 'a' again, 'b' still cached
  });
});


describe('KeyCacheService in-process layer', () => {
  let now = 1_000_000;
  beforeEach(() => {
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  async function cache(): Promise<KeyCacheService> {
    const service = new KeyCacheService(new MemoryCacheStore());
    await service.onModuleInit();
    return service;
  }

  it('serves a key from memory for 1 s, then loads it again', async () => {
    const service = await cache();
    const load = jest.fn(() => Promise.resolve({ teamId: 't1' }));
    await service.getOrLoad('h1', load);
    now += 999;
    await service.getOrLoad('h1', load);
    expect(load).toHaveBeenCalledTimes(1);
    now += 1;
    await service.getOrLoad('h1', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('does not hold every key it has seen: 10,000 keys used once, then a second later', async () => {
    const service = await cache();
    for (let i = 0; i < 10_000; i++) {
      await service.getOrLoad(`key-${i}`, () => Promise.resolve({ teamId: 't1' }));
      now += 1; // 10,000 distinct keys over 10 s, as the benchmark's cache-miss run sends them
    }
    // The layer keeps about two seconds of keys (1 s entries, generations of 1 s), not 10,000.
    expect(service.localEntries).toBeLessThanOrEqual(2_001);
    now += 2_000;
    await service.getOrLoad('later', () => Promise.resolve({ teamId: 't1' }));
    expect(service.localEntries).toBeLessThanOrEqual(1_001);
  });

  it('drops one team’s keys on an invalidation, wherever they are held', async () => {
    const service = await cache();
    const load = jest.fn((teamId: string) => () => Promise.resolve({ teamId }));
    const t1 = load('t1');
    await service.getOrLoad('a', t1);
    now += 600;
    await service.getOrLoad('b', load('t2'));
    await service.getOrLoad('c', t1);
    now += 500; // 'a' in the previous generation, 'b' and 'c' in the current one
    await service.invalidate({ teamId: 't1' });
    const again = jest.fn(() => Promise.resolve({ teamId: 't1' }));
    await service.getOrLoad('c', again);
    expect(again).toHaveBeenCalledTimes(1);
    const b = jest.fn(() => Promise.resolve({ teamId: 't2' }));
    await service.getOrLoad('b', b);
    expect(b).not.toHaveBeenCalled();
  });
});
