import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { CacheStore, CacheUnavailableError } from './cache-store';

/** KEYS: key, guard · ARGV: value, ttl ms, expected guard value ('' = missing). */
const SET_IF_UNCHANGED = `
if (redis.call('GET', KEYS[2]) or '') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** While Redis is away, how often a PING checks whether it answers again. */
const PROBE_EVERY_MS = 250;

/** Redis answered with an error of the command (a reply): it is up. */
const isReply = (err: unknown) => err instanceof Error && err.name === 'ReplyError';
/** ioredis's commandTimeout: Redis hung, or only this process stalled past the timeout. */
const isTimeout = (err: unknown) => err instanceof Error && err.message === 'Command timed out';

/**
 * Redis behind a circuit breaker: a command that fails for want of an answer (refused, dropped;
 * a timeout once a PING times out too) marks Redis away, and until a PING answers again every
 * command fails at once with CacheUnavailableError, so callers fall back without waiting on a
 * dead or hung server.
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('Cache');
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Array<(message: string) => void>>();
  private readonly listeners: Array<(available: boolean) => void> = [];
  private downSince: number | null = null;
  private probe: NodeJS.Timeout | null = null;
  private probing = false;
  private closed = false;

  constructor(
    readonly client: Redis,
    private readonly url: string,
  ) {
    client.on('error', (err: Error) => this.markDown(err));
    client.on('ready', () => void this.probeOnce());
  }

  get available(): boolean {
    return this.downSince === null;
  }

  onAvailabilityChange(listener: (available: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Runs a command through the breaker (also for app-specific commands such as scripts). */
  async run<T>(command: (client: Redis) => Promise<T>): Promise<T> {
    if (this.downSince !== null) throw new CacheUnavailableError('not answering');
    try {
      return await command(this.client);
    } catch (err) {
      if (isReply(err)) throw err;
      // a stalled event loop also times commands out: a PING confirms before the breaker opens
      if (isTimeout(err)) void this.probeOnce(true);
      else this.markDown(err as Error);
      throw new CacheUnavailableError((err as Error).message);
    }
  }

  get(key: string): Promise<string | null> {
    return this.run((c) => c.get(key));
  }

  mget(keys: string[]): Promise<Array<string | null>> {
    return this.run((c) => c.mget(...keys));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run((c) => c.set(key, value, 'PX', ttlMs));
  }

  async setIfUnchanged(
    key: string,
    value: string,
    ttlMs: number,
    guardKey: string,
    expected: string,
  ): Promise<boolean> {
    const done = await this.run((c) =>
      c.eval(SET_IF_UNCHANGED, 2, key, guardKey, value, String(ttlMs), expected),
    );
    return done === 1;
  }

  incr(key: string): Promise<number> {
    return this.run((c) => c.incr(key));
  }

  async del(keys: string[]): Promise<void> {
    if (keys.length > 0) await this.run((c) => c.del(...keys));
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run((c) => c.publish(channel, message));
  }

  /** On a connection of its own that reconnects and resubscribes by itself. */
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
    return this.run((c) => c.xadd(stream, '*', 'p', payload));
  }

  async removeEntries(stream: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.run((c) => c.xdel(stream, ...ids));
  }

  async oldEntries(
    stream: string,
    minAgeMs: number,
    count: number,
  ): Promise<Array<{ id: string; payload: string }>> {
    // stream ids start with their append time in ms, so "older than" is a range of ids
    const entries = await this.run((c) =>
      c.xrange(stream, '-', String(Date.now() - minAgeMs), 'COUNT', count),
    );
    return entries.map(([id, fields]) => ({ id, payload: fields[1] ?? '' }));
  }

  /** Asks Redis itself, past the breaker: an answer closes it, a failure opens it. */
  async ping(): Promise<boolean> {
    try {
      const up = (await this.client.ping()) === 'PONG';
      if (up) this.markUp();
      return up;
    } catch (err) {
      this.markDown(err as Error);
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probe) clearInterval(this.probe);
    this.subscriber?.disconnect();
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private markDown(err: Error): void {
    if (this.downSince !== null || this.closed) return;
    this.downSince = Date.now();
    this.logger.warn(`Redis unavailable (${err.message}): falling back until it answers again`);
    this.probe = setInterval(() => void this.probeOnce(), PROBE_EVERY_MS);
    this.probe.unref();
    this.notify(false);
  }

  private markUp(): void {
    if (this.downSince === null) return;
    this.logger.log(`Redis answers again after ${Date.now() - this.downSince} ms`);
    this.downSince = null;
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
    this.notify(true);
  }

  /** A PING at a time: while Redis is away, or (`confirm`) to check a timeout. */
  private async probeOnce(confirm = false): Promise<void> {
    if (this.probing || (this.downSince === null && !confirm)) return;
    this.probing = true;
    await this.ping().finally(() => (this.probing = false));
  }

  private notify(available: boolean): void {
    for (const listener of this.listeners) {
      try {
        listener(available);
      } catch (err) {
        this.logger.error(`Redis availability listener failed: ${(err as Error).message}`);
      }
    }
  }
}
