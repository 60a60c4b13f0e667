import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { CACHE_STORE, CacheStore, CacheUnavailableError } from './cache-store';
import { ExpiringMap } from './expiring-map';

const CHANNEL = 'tollgate:key-invalidation';
/**
 * Bumped by every invalidation. A replica that loaded a key from the database caches it in Redis
 * only if no invalidation happened since it started loading: otherwise a load that read the row
 * just before an admin change committed could write the old state back after the change deleted
 * it, and every replica would accept a revoked key until the entry expired.
 */
const GENERATION = 'tollgate:key-generation';
/**
 * Bumped by every process that saw Redis fail, once it answers again: shared entries carry the
 * epoch they were written in and older ones are ignored, since the invalidations published while
 * Redis was away were lost (a hung Redis comes back with its old entries).
 */
const EPOCH = 'tollgate:key-epoch';
const SHARED_TTL_MS = 60_000;
/** Local entries live at most this long, so a lost invalidation still heals within 1 s. */
const LOCAL_TTL_MS = 1_000;
/** At most this many keys in the local layer (about two seconds of distinct keys are held). */
const LOCAL_MAX_ENTRIES = 50_000;
const RESTORE_RETRY_MS = 250;

interface Invalidation {
  /** Every cached key of this team is dropped (a change of the team itself). */
  teamId?: string;
  keyHashes?: string[];
  /** The team these keys belong to: only they are dropped, but the team counts as changed. */
  keysOf?: string;
}

interface SharedEntry<T> {
  epoch: string;
  value: T;
}

/**
 * Key-hash → auth-context cache: in-process (≤1 s) over Redis, invalidated by pub/sub. While
 * Redis is away, misses load from the database: a change is still seen within 1 s everywhere.
 */
@Injectable()
export class KeyCacheService<T extends { teamId: string } = { teamId: string }>
  implements OnModuleInit, OnModuleDestroy
{
  private readonly logger = new Logger(KeyCacheService.name);
  /** Expired entries are dropped as new ones come in: a key seen once is not held for ever. */
  private readonly local = new ExpiringMap<string, T | null>(LOCAL_TTL_MS, LOCAL_MAX_ENTRIES);
  /** False from a Redis failure until this process has bumped the epoch: the database only. */
  private sharedTrusted = true;
  /** Failures seen; a bump restores trust only if no failure came after it started. */
  private failures = 0;
  private restoring: Promise<void> | null = null;
  private closed = false;
  private readonly teamChangeHandlers: Array<(teamId: string) => void> = [];

  constructor(@Inject(CACHE_STORE) private readonly store: CacheStore) {}

  async onModuleInit(): Promise<void> {
    this.store.onAvailabilityChange((available) => (available ? this.restore() : this.distrust()));
    await this.store.subscribe(CHANNEL, (message) => this.onInvalidation(message));
  }

  onModuleDestroy(): void {
    this.closed = true;
  }

  /**
   * Calls `handler` with the team of every invalidation that names one (the team changed, or
   * keys of it), made by this process or, over Redis, by any other (e.g. a gateway gives the
   * team's credit leases back). Like invalidations, not delivered while Redis is away.
   */
  onTeamChange(handler: (teamId: string) => void): void {
    this.teamChangeHandlers.push(handler);
  }

  /** Keys held in the in-process layer (expired ones not yet dropped included): diagnostics, tests. */
  get localEntries(): number {
    return this.local.size;
  }

  /** Returns the cached context, or loads, caches and returns it (null = no such usable key). */
  async getOrLoad(keyHash: string, load: () => Promise<T | null>): Promise<T | null> {
    const startedAt = Date.now();
    const hit = this.local.get(keyHash, startedAt);
    if (hit !== undefined) return hit;

    // The in-process store is private to this process: only the 1 s local layer may cache there.
    if (this.store.kind !== 'redis' || !this.sharedTrusted) {
      return this.remember(keyHash, await load(), startedAt);
    }
    let found: Array<string | null>;
    try {
      found = await this.store.mget([this.redisKey(keyHash), GENERATION, EPOCH]);
    } catch (err) {
      this.sharedFailed(err, 'read');
      return this.remember(keyHash, await load(), startedAt);
    }
    const [shared, generation, epoch = '0'] = found.map((v) => v ?? undefined);
    const entry = shared ? (JSON.parse(shared) as Partial<SharedEntry<T>>) : null;
    if (entry?.value && entry.epoch === epoch)
      return this.remember(keyHash, entry.value, startedAt);

    const value = await load();
    if (!value) return this.remember(keyHash, value, startedAt);
    // The shared copy is written off the request path (one Redis round trip less on a miss).
    // This replica remembers the value only once that write shows no change came in between
    // (changed while loading: this request is answered with what it read, nothing is cached).
    void this.store
      .setIfUnchanged(
        this.redisKey(keyHash),
        JSON.stringify({ epoch, value } satisfies SharedEntry<T>),
        SHARED_TTL_MS,
        GENERATION,
        generation ?? '',
      )
      .catch((err) => this.sharedFailed(err, 'write') ?? null)
      .then((cached) => {
        if (cached !== false) this.remember(keyHash, value, startedAt);
      });
    return value;
  }

  /**
   * Drops cached entries everywhere: the shared copy now, every replica's local copy by pub/sub.
   * Never throws (the change is committed): with Redis away, replicas still see the change
   * within 1 s (their local entries expire, misses go to the database), and the shared entries
   * are dropped wholesale once Redis answers again.
   */
  async invalidate(change: Invalidation): Promise<void> {
    let reached = true;
    try {
      if (this.store.kind === 'redis') await this.store.incr(GENERATION);
      await this.store.del((change.keyHashes ?? []).map((h) => this.redisKey(h)));
    } catch (err) {
      reached = !(err instanceof CacheUnavailableError); // else publishing would wait in vain
      this.sharedFailed(err, 'invalidation');
    }
    this.onInvalidation(JSON.stringify(change));
    if (!reached) return;
    await this.store
      .publish(CHANNEL, JSON.stringify(change))
      .catch((err) => this.sharedFailed(err, 'invalidation'));
  }

  private onInvalidation(message: string): void {
    try {
      const change = JSON.parse(message) as Invalidation;
      for (const hash of change.keyHashes ?? []) this.local.delete(hash);
      if (change.teamId) this.local.deleteWhere((value) => value?.teamId === change.teamId);
      const team = change.teamId ?? change.keysOf;
      if (typeof team === 'string') for (const handler of this.teamChangeHandlers) handler(team);
    } catch {
      this.logger.warn('Ignored a malformed cache invalidation message');
    }
  }

  /** Kept until 1 s after the lookup started: no older state is served 1 s after a change. */
  private remember(keyHash: string, value: T | null, startedAt: number): T | null {
    this.local.set(keyHash, value, startedAt + LOCAL_TTL_MS);
    return value;
  }

  /** Redis failed under a lookup or an invalidation: the request goes on without it. */
  private sharedFailed(err: unknown, what: string): undefined {
    // an outage is logged once by the store; any other Redis error here is worth a line
    if (!(err instanceof CacheUnavailableError)) {
      this.logger.warn(`Key cache ${what} failed in Redis: ${(err as Error).message}`);
    }
    if (what === 'invalidation') this.distrust();
    return undefined;
  }

  private distrust(): void {
    this.failures++;
    this.sharedTrusted = false;
    this.restore();
  }

  private restore(): void {
    if (this.sharedTrusted || this.closed) return;
    this.restoring ??= this.bumpEpoch().finally(() => (this.restoring = null));
  }

  /** Retried until Redis takes it; a failure meanwhile makes it bump again. */
  private async bumpEpoch(): Promise<void> {
    while (!this.sharedTrusted && !this.closed) {
      const failures = this.failures;
      try {
        await this.store.incr(EPOCH);
        if (failures === this.failures) this.sharedTrusted = true;
      } catch {
        await sleep(RESTORE_RETRY_MS, undefined, { ref: false });
      }
    }
    if (this.sharedTrusted)
      this.logger.log('Shared key cache in use again (older entries dropped)');
  }

  private redisKey(keyHash: string): string {
    return `tollgate:key:${keyHash}`;
  }
}
