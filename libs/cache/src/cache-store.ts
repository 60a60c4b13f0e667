/** What Tollgate needs from a shared cache: Redis in production, in-process for a single node. */
export interface CacheStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  /** Several keys in one round trip. */
  mget(keys: string[]): Promise<Array<string | null>>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets `key` only while `guardKey` still holds `expected` (missing reads as ''), atomically. */
  setIfUnchanged(
    key: string,
    value: string,
    ttlMs: number,
    guardKey: string,
    expected: string,
  ): Promise<boolean>;
  incr(key: string): Promise<number>;
  del(keys: string[]): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const CACHE_STORE = Symbol('CACHE_STORE');
