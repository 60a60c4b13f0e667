import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { TeamPrincipal } from '@app/auth';
import { BudgetSettings, grantLease, renewLeases, returnLease } from '@app/billing';
import { CACHE_STORE, CacheStore, KeyCacheService } from '@app/cache';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { retryingLockConflicts } from '@app/db';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { free, GrantWanted, LeaseBook, Reservation, TeamLease } from './lease-book';

const RECALL_CHANNEL = 'tollgate:lease-recall';
/** A lease covers about this much of the team's spend on one replica. */
const LEASE_SECONDS = 2;
/** A replica stops spending a lease this long before Postgres could let it lapse (clock skew, latency), at most a tenth of its life. */
const VALIDITY_MARGIN_MS = 1000;
/** The longest wait between a lease becoming closable (released, idle, keys gone) and its return. */
const CLOSE_PASS_MS = 250;

/**
 * Credit leases of this replica (see docs/design/metering.md): reserves calls of busy teams in
 * memory, grants and refills leases ahead of need, gives idle ones back, renews them while the
 * replica lives, answers recalls when a team's balance runs low on another replica, and gives a
 * team's lease back when an admin changes the team or revokes one of its keys.
 */
@Injectable()
export class LeasesService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Leases');
  readonly replicaId = `gw-${randomUUID()}`;
  readonly book: LeaseBook;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly work = new Set<Promise<unknown>>();
  private readonly background = new AsyncResource('TollgateLeases');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(TOLLGATE_CONFIG) private readonly config: TollgateConfig,
    @Inject(CACHE_STORE) private readonly store: CacheStore,
    private readonly metrics: GatewayMetrics,
    private readonly keyCache: KeyCacheService<TeamPrincipal>,
  ) {
    this.book = new LeaseBook({
      minCallsPerSecond: config.metering.minCallsPerSecond,
      steadyCalls: config.metering.steadyCalls,
      idleMs: config.metering.leaseIdleMs,
      leaseSeconds: LEASE_SECONDS,
      minCredits: 4,
      blockMs: 2000,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.book.enabled) return;
    await this.store.subscribe(RECALL_CHANNEL, (teamId) => void this.giveBackFree(teamId));
    // suspension, deletion, a key revoked or changed, budget settings: from any admin-api, or
    // this process with the in-process store
    this.keyCache.onTeamChange((teamId) => void this.release(teamId));
    const { leaseIdleMs, leaseTtlSeconds } = this.config.metering;
    this.every(Math.min(CLOSE_PASS_MS, Math.max(50, Math.floor(leaseIdleMs / 2))), () =>
      this.closeIdle(),
    );
    this.every((leaseTtlSeconds * 1000) / 3, () => this.renew());
  }

  /**
   * A reservation from the team's lease, or null (the call holds in Postgres): keys with a
   * budget always hold exactly. Also starts a grant or refill when the team needs one.
   */
  reserve(
    principal: TeamPrincipal,
    price: (settings: BudgetSettings) => number,
  ): Reservation | null {
    if (!this.book.enabled || principal.maxBudget !== null) return null;
    const now = Date.now();
    const lease = this.book.touch(principal.teamId, now, keyValidUntil(principal));
    const reservation = lease.settings
      ? this.book.reserve(lease, price(lease.settings), now)
      : null;
    this.refill(lease, now);
    return reservation;
  }

  /**
   * The team's balance could not pay an exact hold: every replica gives back the free part of
   * its lease for the team (and takes none for a while), so the balance can be spent to 0.
   */
  async recall(teamId: string): Promise<void> {
    await this.giveBackFree(teamId);
    await this.store.publish(RECALL_CHANNEL, teamId).catch(() => undefined);
  }

  /**
   * An admin changed the team (or one of its keys): its lease here takes nothing more, its free
   * credits go back now and the rest once its calls in flight are settled and written (within
   * `CLOSE_PASS_MS` of that). Its next call starts a new lease, with the settings of then.
   */
  async release(teamId: string): Promise<void> {
    const lease = this.book.release(teamId);
    if (!lease || lease.closing) return;
    if (lease.reserved === 0 && lease.pending === 0 && !lease.refilling) {
      await this.giveBack(lease);
      return;
    }
    const credits = this.book.takeFree(lease);
    if (credits === 0 || !lease.leaseId) return;
    await this.track(
      returnLease(this.db, lease.leaseId, credits).catch((err: Error) => {
        lease.granted += credits; // still on the lease in Postgres: the close pass returns it
        this.logger.warn(`Lease release failed: ${err.message}`);
      }),
    );
  }

  /**
   * What the team can still spend as this replica sees it (its lease's free part and the
   * balance outside leases at the last grant): other replicas' calls since are not in it.
   */
  remainingEstimate(lease: TeamLease): number {
    return Math.max(0, lease.teamRemaining + free(lease));
  }

  /** On shutdown, after the calls and the journal: every lease goes back to its team. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await Promise.allSettled([...this.work]);
    await Promise.allSettled(this.book.leases().map((lease) => this.giveBack(lease)));
  }

  private refill(lease: TeamLease, now: number): void {
    const wanted = this.book.wanted(lease, now);
    if (!wanted) return;
    lease.refilling = true;
    // the grant runs in the leases' own async scope: no request waits for it
    this.background.runInAsyncScope(() => this.grant(lease, wanted));
  }

  private grant(lease: TeamLease, wanted: GrantWanted): void {
    const validUntil = this.validFrom(Date.now());
    void this.track(
      retryingLockConflicts(() =>
        grantLease(this.db, {
          teamId: lease.teamId,
          replicaId: this.replicaId,
          leaseId: lease.dead ? null : lease.leaseId,
          credits: wanted.credits,
          keepFree: wanted.keepFree,
          ttlSeconds: this.config.metering.leaseTtlSeconds,
        }),
      )
        .then((grant) => {
          lease.refilling = false;
          if (grant) {
            this.book.granted(
              lease,
              grant.leaseId,
              wanted.credits,
              grant.settings,
              grant.remaining,
              validUntil,
            );
          } else this.book.block(lease, Date.now());
        })
        .catch((err: Error) => {
          lease.refilling = false;
          this.book.block(lease, Date.now());
          this.logger.warn(`Lease grant failed: ${err.message}`);
        }),
    );
  }

  private async giveBackFree(teamId: string): Promise<void> {
    const lease = this.book.leases().find((l) => l.teamId === teamId);
    if (!lease) return;
    this.book.block(lease, Date.now());
    const credits = this.book.takeFree(lease);
    if (credits === 0 || !lease.leaseId) return;
    await this.track(
      returnLease(this.db, lease.leaseId, credits).catch((err: Error) => {
        lease.granted += credits; // still on the lease in Postgres
        this.logger.warn(`Lease recall failed: ${err.message}`);
      }),
    );
  }

  private async closeIdle(): Promise<void> {
    const idle = this.book.idle(Date.now());
    await Promise.allSettled(idle.map((lease) => this.giveBack(lease)));
  }

  /** Closes a lease and gives all it holds back (its calls are settled and journaled). */
  private async giveBack(lease: TeamLease): Promise<void> {
    this.book.close(lease);
    try {
      if (lease.leaseId && !lease.dead) await this.track(returnLease(this.db, lease.leaseId, null));
      this.book.forget(lease);
    } catch (err) {
      lease.closing = false; // retried on the next idle pass; expires by itself at worst
      this.logger.warn(`Lease give-back failed: ${(err as Error).message}`);
    }
  }

  /** Keeps this replica's leases alive; one that expired anyway (a long stall) is dropped. */
  private async renew(): Promise<void> {
    if (!this.book.leases().some((l) => l.leaseId && !l.dead)) return;
    try {
      this.metrics.recordBackgroundStatement('lease');
      const validUntil = this.validFrom(Date.now());
      const alive = new Set(
        await renewLeases(this.db, this.replicaId, this.config.metering.leaseTtlSeconds),
      );
      for (const lease of this.book.leases()) {
        if (!lease.leaseId || lease.dead) continue;
        if (alive.has(lease.leaseId)) this.book.renewed(lease.leaseId, validUntil);
        else if (!lease.closing) {
          this.logger.warn(`Lease ${lease.leaseId} of team ${lease.teamId} expired: dropped`);
          this.book.lost(lease.leaseId);
        }
      }
    } catch (err) {
      this.logger.warn(`Lease renewal failed: ${(err as Error).message}`);
    }
  }

  /** The local end of a lease granted or renewed by a statement sent at `sentAt`. */
  private validFrom(sentAt: number): number {
    const ttlMs = this.config.metering.leaseTtlSeconds * 1000;
    return sentAt + ttlMs - Math.min(VALIDITY_MARGIN_MS, ttlMs / 10);
  }

  private every(ms: number, task: () => Promise<void>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void task().finally(() => (running = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** Every lease statement runs off the request path, counted as such. */
  private track<T>(promise: Promise<T>): Promise<T> {
    this.metrics.recordBackgroundStatement('lease');
    this.work.add(promise);
    void promise.finally(() => this.work.delete(promise)).catch(() => undefined);
    return promise;
  }
}

/** When the key stops being valid (expiry, or the end of a rotated key's grace), local clock. */
function keyValidUntil(principal: TeamPrincipal): number {
  const end = (at: string | null) => (at === null ? Infinity : Date.parse(at));
  return Math.min(end(principal.expiresAt), end(principal.graceExpiresAt));
}
