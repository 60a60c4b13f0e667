import { Inject, Injectable, Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import type { TeamPrincipal } from '@app/auth';
import { CACHE_STORE, CacheStore, RedisCacheStore } from '@app/cache';
import { TollgateError } from '@app/http';
import { ADJUST_SCRIPT, BucketSpec, MemoryBuckets, TAKE_SCRIPT } from './token-bucket';

interface BucketCommands {
  tollgateTake(numKeys: number, ...args: Array<string | number>): Promise<number>;
  tollgateAdjust(numKeys: number, ...args: Array<string | number>): Promise<number>;
}

/** What a request took from the tpm buckets, to correct once the real usage is known. */
export interface RateTicket {
  tpm: BucketSpec[];
  estimatedTokens: number;
}

/** Team and key rpm/tpm, atomic across replicas (Redis script) or in-process without Redis. */
@Injectable()
export class RateLimitService {
  private readonly logger = new Logger(RateLimitService.name);
  private readonly redis: (Redis & BucketCommands) | null;
  private readonly memory = new MemoryBuckets();

  constructor(@Inject(CACHE_STORE) store: CacheStore) {
    this.redis = store.kind === 'redis' ? this.define((store as RedisCacheStore).client) : null;
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
    if (specs.length > 0) {
      const waitMs = this.redis
        ? Number(await this.redis.tollgateTake(specs.length, ...this.args(specs)))
        : this.memory.take(specs);
      if (waitMs > 0) {
        throw new TollgateError('RATE_LIMITED', 'Rate limit exceeded', {
          'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))),
        });
      }
    }
    return { tpm, estimatedTokens };
  }

  /** Corrects the tpm buckets with the actual tokens; off the response path, errors only logged. */
  settle(ticket: RateTicket, actualTokens: number): void {
    const delta = ticket.estimatedTokens - actualTokens;
    if (ticket.tpm.length === 0 || delta === 0) return;
    const specs = ticket.tpm.map((s) => ({ ...s, cost: delta }));
    if (!this.redis) return this.memory.adjust(specs);
    this.redis
      .tollgateAdjust(specs.length, ...this.args(specs))
      .catch((err: Error) => this.logger.warn(`tpm correction lost: ${err.message}`));
  }

  private args(specs: BucketSpec[]): Array<string | number> {
    return [...specs.map((s) => s.key), ...specs.flatMap((s) => [s.capacity, s.cost])];
  }

  private define(client: Redis): Redis & BucketCommands {
    const commands = client as Redis & Partial<BucketCommands>;
    if (!commands.tollgateTake) client.defineCommand('tollgateTake', { lua: TAKE_SCRIPT });
    if (!commands.tollgateAdjust) client.defineCommand('tollgateAdjust', { lua: ADJUST_SCRIPT });
    return client as Redis & BucketCommands;
  }
}
