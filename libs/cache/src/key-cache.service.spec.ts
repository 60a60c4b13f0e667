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
