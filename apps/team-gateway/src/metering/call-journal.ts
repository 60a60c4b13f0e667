import { AsyncResource } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { applyJournal, JournalRecord, leaseCredits, recordJobId } from '@app/billing';
import { BatchedWrites, CACHE_STORE, CacheStore, RedisCacheStore } from '@app/cache';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { retryingLockConflicts } from '@app/db';
import { isDatabaseUnavailable, ShutdownCoordinator } from '@app/http';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { LeasesService } from './leases.service';

/** Entries per statement. */
const BATCH = 500;
/** An entry still in the stream after this long lost its replica: any replica writes it. */
const ORPHAN_AGE_MS = 10_000;
/**
 * Entries Postgres has are deleted from the stream with the next append (one socket write for
 * both), or after this long when no append comes. Well under ORPHAN_AGE_MS: written entries are
 * not adopted again (they would be, harmlessly: records are idempotent).
 */
const TRIM_DELAY_MS = 1_000;
/** How long the replica must go without a request before its queue is written early. */
const QUIET_MS = 20;

interface Queued {
  entry: JournalRecord;
  /** The record as appended to the stream (JSON): the batch statement's parameter is made of these. */
  json: string;
  /** Its id in the Redis stream, deleted once Postgres has it. */
  streamId: string | null;
}

/**
 * The durable call journal. A leased call's record (its one-call job, attempts, charge) is
 * appended to a Redis stream before the client has its answer, so it survives the replica;
 * a background writer then puts queued records into Postgres in batches (one statement each,
 * idempotent on the job id) and deletes them from the stream. Entries a dead replica left in
 * the stream are written by any replica. Without Redis nothing outlives the process: the record
 * is written to Postgres before answering.
 */
@Injectable()
export class CallJournal implements OnApplicationBootstrap {
  private readonly logger = new Logger('Journal');
  private readonly queue: Queued[] = [];
  private flushing: Promise<void> | null = null;
  /** The background write of what is queued, JOURNAL_FLUSH_MS after its first record. */
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly flushDelayMs: number;
  /** Waiting for a quiet spell (no request in flight, none for QUIET_MS) to write the queue. */
  private awaitingIdle = false;
  private orphanTimer: NodeJS.Timeout | null = null;
  private readonly background = new AsyncResource('TollgateCallJournal');
  /** Which database this journal belongs to (several databases may share one Redis). */
  readonly tag: string;
  /** Redis keys of this database's journal. */
  private readonly stream: string;
  /** Records Postgres refused (a bug, not an outage): kept for an operator, never retried. */
  private readonly deadLetters: string;
  private readonly adopting: string;
  /** Appends are failing (Redis away): logged when it starts and when it ends, not per record. */
  private writingThrough = false;
  /** Stream ids of entries Postgres has, deleted from the stream with the next append. */
  private readonly trimDue = new BatchedWrites<string>({
    delayMs: TRIM_DELAY_MS,
    scope: this.background,
    write: (ids) =>
      this.store.removeEntries(this.stream, ids).catch((err: Error) => {
        this.logger.warn(`Journal trim failed (the records are idempotent): ${err.message}`);
      }),
  });

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(CACHE_STORE) private readonly store: CacheStore,
    private readonly leases: LeasesService,
    private readonly metrics: GatewayMetrics,
    private readonly requests: ShutdownCoordinator,
    @Inject(TOLLGATE_CONFIG) config: TollgateConfig,
  ) {
    this.tag = databaseTag(config);
    this.stream = `tollgate:journal:${this.tag}`;
    this.deadLetters = `${this.stream}:refused`;
    this.adopting = `${this.stream}:adopting`;
    this.flushDelayMs = config.metering.journalFlushMs;
  }

  onApplicationBootstrap(): void {
    if (this.store.kind !== 'redis') return;
    this.orphanTimer = setInterval(() => void this.adoptOrphans(), ORPHAN_AGE_MS / 2);
    this.orphanTimer.unref();
  }

  /**
   * Resolves once the record is durable: in Redis, or in Postgres without Redis or when the
   * append fails (at once while Redis is known to be away, or after its command timeout).
   */
  async record(entry: JournalRecord): Promise<void> {
    const json = JSON.stringify(entry);
    const appended = this.store.append(this.stream, json);
    // issued in the same event-loop turn: auto-pipelining sends both commands in one write
    this.trimDue.now();
    const streamId = await appended.then(
      (id) => {
        if (id !== null && this.writingThrough) {
          this.writingThrough = false;
          this.logger.log('Journal appends to Redis again');
        }
        return id;
      },
      (err: Error) => {
        if (!this.writingThrough) {
          this.writingThrough = true;
          this.logger.warn(`Journal append failed, writing through to Postgres: ${err.message}`);
        }
        return null;
      },
    );
    await this.enqueue(entry, json, streamId);
  }

  /** The stream records are appended to (JobGate appends a job call's record in its own script). */
  get streamKey(): string {
    return this.stream;
  }

  /**
   * Queues a record (`json`: the text appended) already appended to the stream as `streamId`
   * (written in the background), or not (null: written to Postgres before this resolves).
   */
  async enqueue(entry: JournalRecord, json: string, streamId: string | null): Promise<void> {
    this.queue.push({ entry, json, streamId });
    if (streamId === null) return this.flush();
    if (this.flushTimer) return;
    // in the journal's own async scope, not the request's (whose logs and traces end): one write
    // for the records of the next JOURNAL_FLUSH_MS (they are durable in the stream), or sooner
    // once the replica has had no request for QUIET_MS (between a quiet client's calls the write
    // costs nobody a wait; a sequential client's back-to-back calls, and load, share a batch)
    this.background.runInAsyncScope(() => {
      this.flushTimer = setTimeout(() => this.writeNow(), this.flushDelayMs);
      this.flushTimer.unref();
      this.writeWhenQuiet();
    });
  }

  /**
   * Writes the queue once no request is in flight and none arrives for QUIET_MS. Not at the
   * first idle moment: a client that sends its calls one after another leaves the replica idle
   * between each answer and its next request, and a statement per call cost PostgreSQL ~3 ms of
   * CPU each (planned every time), beside the gateway on a small machine.
   */
  private writeWhenQuiet(): void {
    if (this.awaitingIdle) return;
    this.awaitingIdle = true;
    this.requests.onIdle(() =>
      this.background.runInAsyncScope(() => {
        const received = this.requests.requestsReceived;
        setTimeout(() => {
          this.awaitingIdle = false;
          if (!this.flushTimer) return; // written meanwhile (its window, a flush)
          if (this.requests.requestsReceived === received) this.writeNow();
          else this.writeWhenQuiet();
        }, QUIET_MS).unref();
      }),
    );
  }

  /** Writes the queue now (the timer, if any, is done with). */
  private writeNow(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    void this.writeQueued();
  }

  /**
   * Writes every record of an explicit job still in the stream, whichever replica appended it
   * (idempotent with that replica's own write), after this replica's queue: for the job's close.
   */
  async drainJob(jobId: string): Promise<void> {
    await this.flush();
    if (this.store.kind !== 'redis' || !this.store.available) return;
    const redis = this.store as RedisCacheStore;
    const mine = new Set([...this.queue.map((q) => q.streamId), ...this.trimDue.pending]);
    const found: Queued[] = [];
    for (let from = '-'; ;) {
      const page = await redis.run((c) => c.xrange(this.stream, from, '+', 'COUNT', 1000));
      for (const [id, fields] of page) {
        const payload = fields[1] ?? '';
        if (mine.has(id) || !payload.includes(jobId)) continue;
        const entry = JSON.parse(payload) as JournalRecord;
        if (recordJobId(entry) === jobId) found.push({ entry, json: payload, streamId: id });
      }
      if (page.length < 1000) break;
      from = `(${page[page.length - 1][0]}`;
    }
    if (found.length > 0) await this.commit(found);
  }

  /** Writes everything queued (waits for a write under way); used by reads and on shutdown. */
  async flush(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await this.writeQueued();
  }

  async close(): Promise<void> {
    if (this.orphanTimer) clearInterval(this.orphanTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await this.flush();
    this.trimDue.now();
    await this.trimDue.settled();
  }

  /**
   * Writes the records queued now, after a write under way; those queued meanwhile wait for
   * their own timer (or a flush), so a busy replica writes one batch per JOURNAL_FLUSH_MS.
   */
  private async writeQueued(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    this.flushing = this.drain(this.queue.length).finally(() => (this.flushing = null));
    await this.flushing;
  }

  private async drain(count: number): Promise<void> {
    let left = count;
    let backoff = 50;
    while (left > 0 && this.queue.length > 0) {
      const batch = this.queue.slice(0, Math.min(BATCH, left));
      try {
        await this.commit(batch);
      } catch (err) {
        // Postgres away: the records wait here and in Redis, retried with backoff
        this.logger.warn(`Journal write failed, retrying: ${(err as Error).message}`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
        continue;
      }
      this.queue.splice(0, batch.length);
      left -= batch.length;
    }
  }

  /**
   * Writes records to Postgres and deletes them from the stream. A record Postgres refuses
   * (not for being away: then this throws and nothing is lost) is set aside, one at a time, so
   * it never stops the others.
   */
  private async commit(items: Queued[]): Promise<void> {
    try {
      await retryingLockConflicts(() => this.write(items));
    } catch (err) {
      if (isDatabaseUnavailable(err)) throw err;
      for (const q of items) {
        await retryingLockConflicts(() => this.write([q])).catch((one: Error) => {
          if (isDatabaseUnavailable(one)) throw one;
          return this.setAside(q, one);
        });
      }
    }
    this.trimDue.add(...items.flatMap((q) => (q.streamId ? [q.streamId] : [])));
  }

  /** Kept in a dead-letter stream for an operator, and logged: never dropped silently. */
  private async setAside(q: Queued, err: Error): Promise<void> {
    this.logger.error(
      `Journal record of job ${recordJobId(q.entry)} refused by Postgres, moved to ${this.deadLetters}: ${err.message}`,
    );
    await this.store
      .append(this.deadLetters, JSON.stringify({ error: err.message, entry: q.entry }))
      .catch(() => undefined);
  }

  /**
   * One statement for the batch; when a lease it charges is gone (expired with its replica),
   * the entries are written one by one, those of the lost lease against the team's balance.
   */
  private async write(items: Queued[]): Promise<void> {
    const outcome = await this.apply(items);
    if (!outcome.leaseShort) return this.settled(items);
    for (const item of items) {
      const one = await this.apply([item]);
      if (!one.leaseShort) {
        this.settled([item]);
        continue;
      }
      const { entry } = item;
      if (entry.leaseId) this.leases.book.lost(entry.leaseId);
      const unleased = Object.assign({}, entry, { leaseId: null });
      await this.apply([{ entry: unleased, json: JSON.stringify(unleased), streamId: null }]);
    }
  }

  private apply(items: Queued[]) {
    this.metrics.recordBackgroundStatement('journal');
    return applyJournal(
      this.db,
      items.map((q) => q.entry),
      items.map((q) => q.json),
    );
  }

  /** Written now or by an earlier attempt that committed: a leased charge is never capped. */
  private settled(items: Queued[]): void {
    for (const { entry } of items) {
      if (entry.leaseId) this.leases.book.flushed(entry.leaseId, leaseCredits(entry));
    }
  }

  /** Writes what replicas that died left in the stream (idempotent with their own writes). */
  private async adoptOrphans(): Promise<void> {
    if (!this.store.available) return;
    try {
      // one replica at a time adopts (the lock lapses by itself)
      const { replicaId } = this.leases;
      if (
        !(await this.store.setIfUnchanged(
          this.adopting,
          replicaId,
          ORPHAN_AGE_MS,
          this.adopting,
          '',
        ))
      ) {
        return;
      }
      const mine = new Set([...this.queue.map((q) => q.streamId), ...this.trimDue.pending]);
      const old = (await this.store.oldEntries(this.stream, ORPHAN_AGE_MS, BATCH)).filter(
        (o) => !mine.has(o.id),
      );
      if (old.length === 0) return;
      await this.commit(
        old.map((o) => ({
          entry: JSON.parse(o.payload) as JournalRecord,
          json: o.payload,
          streamId: o.id,
        })),
      );
      this.logger.warn(`Wrote ${old.length} journal record(s) left by a stopped replica`);
    } catch (err) {
      this.logger.warn(`Adopting journal records failed: ${(err as Error).message}`);
    }
  }
}

/** Which database the journal belongs to: host, port and name (no credentials), hashed short. */
function databaseTag(config: TollgateConfig): string {
  const url = config.db.url ? new URL(config.db.url) : null;
  const where = url
    ? `${url.hostname}:${url.port}${url.pathname}`
    : `embedded:${config.db.embeddedPort}:${config.db.dataDir}`;
  return createHash('sha256').update(where).digest('hex').slice(0, 12);
}
