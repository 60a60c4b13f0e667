import Redis from 'ioredis';
import { CacheStore } from './cache-store';

/** KEYS: key, guard · ARGV: value, ttl ms, expected guard value ('' = missing). */
const SET_IF_UNCHANGED = `
if (redis.call('GET', KEYS[2]) or '') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Array<(message: string) => void>>();

  constructor(
    readonly client: Redis,
    private readonly url: string,
  ) {}

  get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  mget(keys: string[]): Promise<Array<string | null>> {
    return this.client.mget(...keys);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(key, value, 'PX', ttlMs);
  }

  async setIfUnchanged(
    key: string,
    value: string,
    ttlMs: number,
    guardKey: string,
    expected: string,
  ): Promise<boolean> {
    const done = await this.client.eval(
      SET_IF_UNCHANGED,
      2,
      key,
      guardKey,
      value,
      String(ttlMs),
      expected,
    );
    return done === 1;
  }

  incr(key: string): Promise<number> {
    return this.client.incr(key);
  }

  async del(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.client.del(...keys);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(channel, message);
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    if (!this.subscriber) {
      this.subscriber = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: null });
      this.subscriber.on('error', () => undefined);
      this.subscriber.on('message', (ch: string, msg: string) => {
        for (const h of this.handlers.get(ch) ?? []) h(msg);
      });
      await this.subscriber.connect();
    }
    this.handlers.set(channel, [...(this.handlers.get(channel) ?? []), handler]);
    await this.subscriber.subscribe(channel);
  }

  append(stream: string, payload: string): Promise<string | null> {
    return this.client.xadd(stream, '*', 'p', payload);
  }

  async removeEntries(stream: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.client.xdel(stream, ...ids);
  }

  async oldEntries(
    stream: string,
    minAgeMs: number,
    count: number,
  ): Promise<Array<{ id: string; payload: string }>> {
    // stream ids start with their append time in ms, so "older than" is a range of ids
    const entries = await this.client.xrange(
      stream,
      '-',
      String(Date.now() - minAgeMs),
      'COUNT',
      count,
    );
    return entries.map(([id, fields]) => ({ id, payload: fields[1] ?? '' }));
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
