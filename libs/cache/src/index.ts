export * from './batched-writes';
export * from './cache-store';
export * from './cache.module';
export * from './catalog-events';
export * from './expiring-map';
export * from './key-cache.service';
export * from './memory-cache.store';
export * from './redis-cache.store';
