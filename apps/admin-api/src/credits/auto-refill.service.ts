import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { dueRefillTeams, LedgerEntry, refillIfDue } from '@app/billing';

const INTERVAL_MS = 15_000;

/**
 * Tops every auto-refill team up by its refill_amount once per period. Safe with any number of
 * admin-api replicas: each refill is a conditional UPDATE of next_refill_at plus the ledger row
 * in one transaction, so exactly one replica wins each period.
 */
@Injectable()
export class AutoRefillService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AutoRefillService.name);
  private running = false;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    const timer = setInterval(() => void this.tick(), INTERVAL_MS);
    timer.unref();
    this.scheduler.addInterval('auto-refill', timer);
  }

  /** Refills every due team; returns the ledger rows this replica wrote. */
  async runDueRefills(): Promise<LedgerEntry[]> {
    const refills: LedgerEntry[] = [];
    for (const teamId of await dueRefillTeams(this.db.manager)) {
      const entry = await this.db.transaction((manager) => refillIfDue(manager, teamId));
      if (entry) refills.push(entry);
    }
    return refills;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const refills = await this.runDueRefills();
      if (refills.length > 0) this.logger.log(`Auto-refilled ${refills.length} team(s)`);
    } catch (err) {
      this.logger.warn(`Auto-refill failed: ${(err as Error).message}`);
    } finally {
      this.running = false;
    }
  }
}
