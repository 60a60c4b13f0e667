import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CACHE_STORE, CacheStore } from './cache-store';

const CHANNEL = 'tollgate:key-invalidation';
/**
 * Bumped by every invalidation. A replica that loaded a key from the database caches it in Redis
 * only if no invalidation happened since it started loading: otherwise a load that read the row
 * just before an admin change committed could write the old state back after the change deleted
 * it, and every replica would accept a revoked key until the entry expired.
 */
const GENERATION = 'tollgate:key-generation';
const SHARED_TTL_MS = 60_000;
/** Local entries live at most this long, so a lost invalidation still heals within 1 s. */
const LOCAL_TTL_MS = 1_000;

interface Invalidation {
  teamId?: string;
  keyHashes?: string[];
}

/** Key-hash → auth-context cache: in-process (≤1 s) over Redis, invalidated by pub/sub. */
@Injectable()
export class KeyCacheService<
  T extends { teamId: string } = { teamId: string },
> implements OnModuleInit {
  private readonly logger = new Logger(KeyCacheService.name);
  private readonly local = new Map<string, { value: T | null; expiresAt: number }>();

  constructor(@Inject(CACHE_STORE) private readonly store: CacheStore) {}

  async onModuleInit(): Promise<void> {
    await this.store.subscribe(CHANNEL, (message) => this.onInvalidation(message));
  }

  /** Returns the cached context, or loads, caches and returns it (null = no such usable key). */
  async getOrLoad(keyHash: string, load: () => Promise<T | null>): Promise<T | null> {
    const hit = this.local.get(keyHash);
    if (hit && hit.expiresAt > Date.now()) return hit.value;

    // The in-process store is private to this process: only the 1 s local layer may cache there.
    const sharedLayer = this.store.kind === 'redis';
    if (!sharedLayer) {
      const value = await load();
      this.remember(keyHash, value);
      return value;
    }
    const [shared, generation] = await this.store.mget([this.redisKey(keyHash), GENERATION]);
    if (shared !== null && shared !== undefined) {
      const value = JSON.parse(shared) as T;
      this.remember(keyHash, value);
      return value;
    }
    const value = await load();
    if (value) {
      const cached = await this.store.setIfUnchanged(
        this.redisKey(keyHash),
        JSON.stringify(value),
        SHARED_TTL_MS,
        GENERATION,
        generation ?? '',
      );
      if (!cached) return value; // changed while loading: answer this request, cache nothing
    }
    this.remember(keyHash, value);
    return value;
  }

  /** Drops cached entries everywhere: the shared copy now, every replica's local copy by pub/sub. */
  async invalidate(change: Invalidation): Promise<void> {
    if (this.store.kind === 'redis') await this.store.incr(GENERATION);
    await this.store.del((change.keyHashes ?? []).map((h) => this.redisKey(h)));
    this.onInvalidation(JSON.stringify(change));
    await this.store.publish(CHANNEL, JSON.stringify(change));
  }

  private onInvalidation(message: string): void {
    try {
      const change = JSON.parse(message) as Invalidation;
      for (const hash of change.keyHashes ?? []) this.local.delete(hash);
      if (change.teamId) {
        for (const [hash, entry] of this.local) {
          if (entry.value?.teamId === change.teamId) this.local.delete(hash);
        }
      }
    } catch {
      this.logger.warn('Ignored a malformed cache invalidation message');
    }
  }

  private remember(keyHash: string, value: T | null): void {
    if (this.local.size > 50_000) this.local.clear();
    this.local.set(keyHash, { value, expiresAt: Date.now() + LOCAL_TTL_MS });
  }

  private redisKey(keyHash: string): string {
    return `tollgate:key:${keyHash}`;
  }
}
