/** What Tollgate needs from a shared cache: Redis in production, in-process for a single node. */
export interface CacheStore {
  readonly kind: 'redis' | 'memory';
  /** False while Redis is down or not answering: commands then fail at once. Always true in-process. */
  readonly available: boolean;
  /** Hears every change of `available` (never called by the in-process store). */
  onAvailabilityChange(listener: (available: boolean) => void): void;
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
  /**
   * Appends `payload` to a stream that outlives this process (Redis XADD, persisted as Redis is
   * configured to); returns its id, or null when the store keeps nothing across a crash.
   */
  append(stream: string, payload: string): Promise<string | null>;
  /** Removes entries of a stream by id (XDEL). */
  removeEntries(stream: string, ids: string[]): Promise<void>;
  /** Up to `count` of the stream's entries appended more than `minAgeMs` ago, oldest first. */
  oldEntries(
    stream: string,
    minAgeMs: number,
    count: number,
  ): Promise<Array<{ id: string; payload: string }>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** A command failed because Redis is away (refused, dropped or timed out): callers fall back. */
export class CacheUnavailableError extends Error {
  readonly code = 'CACHE_UNAVAILABLE';

  constructor(reason: string) {
    super(`Redis is unavailable: ${reason}`);
    this.name = 'CacheUnavailableError';
  }
}

export const CACHE_STORE = Symbol('CACHE_STORE');
