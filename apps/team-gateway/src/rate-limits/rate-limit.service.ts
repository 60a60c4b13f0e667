import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { TeamPrincipal } from '@app/auth';
import { CACHE_STORE, CacheStore, CacheUnavailableError, RedisCacheStore } from '@app/cache';
import { TollgateError } from '@app/http';
import { ADJUST_SCRIPT, BucketSpec, MemoryBuckets, TAKE_SCRIPT } from './token-bucket';

interface BucketCommands {
  tollgateTake(numKeys: number, ...args: Array<string | number>): Promise<number>;
  tollgateAdjust(numKeys: number, ...args: Array<string | number>): Promise<number>;
}
type BucketClient = Redis & BucketCommands;

/** What a request took from the tpm buckets, to correct once the real usage is known. */
export interface RateTicket {
  tpm: BucketSpec[];
  estimatedTokens: number;
  /** Taken from the Redis buckets (else from this replica's). */
  shared: boolean;
}

/**
 * Team and key rpm/tpm, atomic across replicas (Redis script) or in-process without Redis. While
 * Redis is away each replica enforces the limits on its own (so N replicas allow up to N times
 * them), and the shared buckets take over again once it answers.
 */
@Injectable()
export class RateLimitService {
  private readonly logger = new Logger(RateLimitService.name);
  private readonly redis: RedisCacheStore | null;
  private readonly memory = new MemoryBuckets();
  /** In a Redis outage: logged once when it starts and once when it ends. */
  private perReplica = false;

  constructor(@Inject(CACHE_STORE) store: CacheStore) {
    this.redis = store.kind === 'redis' ? (store as RedisCacheStore) : null;
    if (this.redis) this.define(this.redis.client);
  }

  /** Takes 1 request and the estimated tokens from every configured bucket, or throws 429. */
  async take(principal: TeamPrincipal, estimatedTokens: number): Promise<RateTicket> {
    const rpm: BucketSpec[] = [];
    const tpm: BucketSpec[] = [];
    const add = (scope: string, rpmLimit: number | null, tpmLimit: number | null) => {
      if (rpmLimit) rpm.push({ key: `tollgate:rl:${scope}:rpm`, capacity: rpmLimit, cost: 1 });
      if (tpmLimit) {
        tpm.push({ key: `tollgate:rl:${scope}:tpm`, capacity: tpmLimit, cost: estimatedTokens });
      }
    };
    add(`team:${principal.teamId}`, principal.teamRpmLimit, principal.teamTpmLimit);
    add(`key:${principal.keyId}`, principal.keyRpmLimit, principal.keyTpmLimit);
    const specs = [...rpm, ...tpm];
    if (specs.length === 0) return { tpm, estimatedTokens, shared: false };
    const { waitMs, shared } = await this.takeTokens(specs);
    if (waitMs > 0) {
      throw new TollgateError('RATE_LIMITED', 'Rate limit exceeded', {
        'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
      });
    }
    return { tpm, estimatedTokens, shared };
  }

  /** Corrects the tpm buckets with the actual tokens; off the response path, errors only logged. */
  settle(ticket: RateTicket, actualTokens: number): void {
    const delta = ticket.estimatedTokens - actualTokens;
    if (ticket.tpm.length === 0 || delta === 0) return;
    const specs = ticket.tpm.map((s) => Object.assign({}, s, { cost: delta }));
    if (!this.redis || !ticket.shared) return this.memory.adjust(specs);
    this.redis
      .run((c) => (c as BucketClient).tollgateAdjust(specs.length, ...this.args(specs)))
      .catch((err: Error) => {
        if (!(err instanceof CacheUnavailableError)) {
          this.logger.warn(`tpm correction lost: ${err.message}`);
        }
      });
  }

  /** 0 or the ms to wait, from the shared buckets, or from this replica's while Redis fails. */
  private async takeTokens(specs: BucketSpec[]): Promise<{ waitMs: number; shared: boolean }> {
    if (this.redis) {
      try {
        const waitMs = Number(
          await this.redis.run((c) =>
            (c as BucketClient).tollgateTake(specs.length, ...this.args(specs)),
          ),
        );
        if (this.perReplica) {
          this.perReplica = false;
          this.logger.log('Redis answers again: rate limits are shared across replicas again');
        }
        return { waitMs, shared: true };
      } catch (err) {
        if (!this.perReplica) {
          this.perReplica = true;
          this.logger.warn(
            `Rate limits enforced per replica until Redis answers again: ${(err as Error).message}`,
          );
        }
      }
    }
    return { waitMs: this.memory.take(specs), shared: false };
  }

  private args(specs: BucketSpec[]): Array<string | number> {
    return [...specs.map((s) => s.key), ...specs.flatMap((s) => [s.capacity, s.cost])];
  }

  private define(client: Redis): void {
    const commands = client as Redis & Partial<BucketCommands>;
    if (!commands.tollgateTake) client.defineCommand('tollgateTake', { lua: TAKE_SCRIPT });
    if (!commands.tollgateAdjust) client.defineCommand('tollgateAdjust', { lua: ADJUST_SCRIPT });
  }
}
