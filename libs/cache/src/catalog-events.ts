import { Inject, Injectable, Logger } from '@nestjs/common';
import { CACHE_STORE, CacheStore } from './cache-store';

const CHANNEL = 'tollgate:catalog-changed';

/**
 * "The routing catalog changed" between admin-api and every gateway replica: deployments,
 * model groups, provider credentials, or which groups a team holds. Gateways drop their cached
 * catalog on it, so a revocation holds within a second instead of the catalog's cache lifetime.
 * Over Redis pub/sub; with the in-process store it reaches this process only.
 */
@Injectable()
export class CatalogEvents {
  private readonly logger = new Logger(CatalogEvents.name);

  constructor(@Inject(CACHE_STORE) private readonly store: CacheStore) {}

  /** False with the in-process store, or while Redis is away: announcements do not arrive. */
  get reachOtherProcesses(): boolean {
    return this.store.kind === 'redis' && this.store.available;
  }

  /** Never throws: the change is committed, and gateways still see it when their cache expires. */
  async changed(): Promise<void> {
    try {
      await this.store.publish(CHANNEL, JSON.stringify({ at: Date.now() }));
    } catch (err) {
      this.logger.warn(`Catalog change not announced: ${(err as Error).message}`);
    }
  }

  /** Also called when Redis answers again: announcements made while it was away were lost. */
  onChange(handler: () => void): Promise<void> {
    this.store.onAvailabilityChange((available) => available && handler());
    return this.store.subscribe(CHANNEL, () => handler());
  }
}
