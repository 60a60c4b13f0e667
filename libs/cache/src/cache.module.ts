import { Global, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { CACHE_STORE, CacheStore } from './cache-store';
import { CatalogEvents } from './catalog-events';
import { KeyCacheService } from './key-cache.service';
import { MemoryCacheStore } from './memory-cache.store';
import { RedisCacheStore } from './redis-cache.store';

/** Past this a command counts as failed: a hung Redis costs one timeout, then the fallbacks serve. */
const COMMAND_TIMEOUT_MS = 500;

async function createStore(config: TollgateConfig): Promise<CacheStore> {
  const logger = new Logger('Cache');
  if (!config.redis.url) {
    logger.warn(
      'REDIS_URL is not set: using the in-process cache (single node only; rate limits and invalidations are not shared between processes)',
    );
    return new MemoryCacheStore();
  }
  const client = new Redis(config.redis.url, {
    lazyConnect: true,
    // while Redis is away commands fail at once (callers fall back) instead of queueing
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: 2000,
    // reconnects by itself, at most a second apart
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    // commands issued in one turn of the event loop leave in one write (a loopback write costs
    // tens of µs of CPU; under load the journal appends of calls answered together share one)
    enableAutoPipelining: true,
  });
  const store = new RedisCacheStore(client, config.redis.url);
  await client.connect();
  return store;
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
