/** What Tollgate needs from a shared cache: Redis in production, in-process for a single node. */
export interface CacheStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  del(keys: string[]): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: (message: string) => void): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const CACHE_STORE = Symbol('CACHE_STORE');
