import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { CACHE_STORE, CacheStore } from './cache-store';
import { CatalogEvents } from './catalog-events';
import { KeyCacheService } from './key-cache.service';
import { MemoryCacheStore } from './memory-cache.store';
import { RedisCacheStore } from './redis-cache.store';

async function createStore(config: TollgateConfig): Promise<CacheStore> {
  const logger = new Logger('Cache');
  if (!config.redis.url) {
    logger.warn(
      'REDIS_URL is not set: using the in-process cache (single node only; rate limits and invalidations are not shared between processes)',
    );
    return new MemoryCacheStore();
  }
  const client = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  client.on('error', (err: Error) => logger.warn(`Redis: ${err.message}`));
  await client.connect();
  return new RedisCacheStore(client, config.redis.url);
}

/** The shared cache (Redis, or in-process without REDIS_URL), the key → team cache, catalog events. */
@Global()
@Module({
  providers: [
    { provide: CACHE_STORE, inject: [TOLLGATE_CONFIG], useFactory: createStore },
    KeyCacheService,
    CatalogEvents,
  ],
  exports: [CACHE_STORE, KeyCacheService, CatalogEvents],
})
export class CacheModule implements OnApplicationShutdown {
  constructor(@Inject(CACHE_STORE) private readonly store: CacheStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
