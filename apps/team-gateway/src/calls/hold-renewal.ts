import { AsyncResource } from 'node:async_hooks';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { renewHolds } from '@app/billing';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';

/**
 * The call holds of this replica's calls in flight, renewed every third of HOLD_TTL_SECONDS
 * (one statement for all). A hold lives only as long as a live replica keeps it: a long stream
 * keeps its hold for as long as it runs, a dead replica's holds expire within the TTL.
 */
@Injectable()
export class HoldRenewal implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Holds');
  private readonly live = new Set<string>();
  private readonly background = new AsyncResource('TollgateHoldRenewal');
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
  ) {}

  get ttlSeconds(): number {
    return this.config.metering.holdTtlSeconds;
  }

  onApplicationBootstrap(): void {
    this.background.runInAsyncScope(() => {
      this.timer = setInterval(() => void this.renew(), (this.ttlSeconds * 1000) / 3);
      this.timer.unref();
    });
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  keep(holdId: string): void {
    this.live.add(holdId);
  }

  release(holdId: string | null): void {
    if (holdId) this.live.delete(holdId);
  }

  private async renew(): Promise<void> {
    try {
      await renewHolds(this.db, [...this.live], this.ttlSeconds);
    } catch (err) {
      this.logger.warn(`Renewing call holds failed: ${(err as Error).message}`);
    }
  }
}
