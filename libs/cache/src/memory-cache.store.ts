import { EventEmitter } from 'node:events';
import { CacheStore } from './cache-store';

/** Single-process stand-in used when REDIS_URL is unset; invalidations reach this process only. */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory' as const;
  readonly available = true;
  private readonly entries = new Map<string, { value: string; expiresAt: number }>();
  private readonly bus = new EventEmitter();

  onAvailabilityChange(): void {
    // always available
  }

  get(key: string): Promise<string | null> {
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return Promise.resolve(null);
    }
    return Promise.resolve(entry.value);
  }

  async mget(keys: string[]): Promise<Array<string | null>> {
    return Promise.all(keys.map((k) => this.get(k)));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    return Promise.resolve();
  }

  async setIfUnchanged(
    key: string,
    value: string,
    ttlMs: number,
    guardKey: string,
    expected: string,
  ): Promise<boolean> {
    if (((await this.get(guardKey)) ?? '') !== expected) return false;
    await this.set(key, value, ttlMs);
    return true;
  }

  async incr(key: string): Promise<number> {
    const next = Number((await this.get(key)) ?? 0) + 1;
    await this.set(key, String(next), Number.MAX_SAFE_INTEGER);
    return next;
  }

  del(keys: string[]): Promise<void> {
    for (const key of keys) this.entries.delete(key);
    return Promise.resolve();
  }

  publish(channel: string, message: string): Promise<void> {
    this.bus.emit(channel, message);
    return Promise.resolve();
  }

  subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    this.bus.on(channel, handler);
    return Promise.resolve();
  }

  /** Nothing in this process survives it: the caller writes through instead. */
  append(): Promise<string | null> {
    return Promise.resolve(null);
  }

  removeEntries(): Promise<void> {
    return Promise.resolve();
  }

  oldEntries(): Promise<Array<{ id: string; payload: string }>> {
    return Promise.resolve([]);
  }

  ping(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    this.bus.removeAllListeners();
    this.entries.clear();
    return Promise.resolve();
  }
}
