import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type Redis from 'ioredis';
import { DataSource } from 'typeorm';
import type { JobCallEntry } from '@app/billing';
import { CACHE_STORE, CacheStore, RedisCacheStore } from '@app/cache';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { TollgateError } from '@app/http';
import { CallJournal } from './call-journal';

/** Redis's clock in ms: the in-flight entries are scored by it, so replicas' clocks do not matter. */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: job, its calls in flight (a sorted set scored by the call's start, Redis time: adding and
 * removing a call are idempotent, so a start whose answer was lost is undone by removing it; an
 * entry older than the close's wait is a call whose replica died, and no longer counts)
 * · ARGV: team, ttl ms, init ('1': the caller
 * learned from Postgres that the job is this team's and open), the call's token ('' = none).
 * 0 = unknown here (learn it from Postgres), -1 = closing or closed, -2 = another team's job,
 * 1 = joined (the call is in flight), 2 = joined and the job_based credit is held.
 */
const START_SCRIPT = `
local team = redis.call('HGET', KEYS[1], 'team')
if not team then
  if ARGV[3] ~= '1' then return 0 end
  redis.call('HSET', KEYS[1], 'team', ARGV[1])
  team = ARGV[1]
end
if team ~= ARGV[1] then return -2 end
if tonumber(redis.call('HGET', KEYS[1], 'closing') or '0') > 0
   or redis.call('HGET', KEYS[1], 'closed') == '1' then return -1 end
if ARGV[4] ~= '' then
  ${NOW_MS}
  redis.call('ZADD', KEYS[2], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('HGET', KEYS[1], 'credited') == '1' then return 2 end
return 1`;

/**
 * The end of a call on the job, in one script: its journal record (if any) appended to the stream
 * and the call out of the in-flight set, so a close never sees a call that is neither in flight
 * nor in the stream. KEYS: job, its calls, stream · ARGV: payload ('' = none: settled in Postgres
 * already), credited ('1': the job_based credit is held in Postgres), the call's token. Returns
 * the stream id or false.
 */
const END_SCRIPT = `
local id = false
if ARGV[1] ~= '' then
  id = redis.call('XADD', KEYS[3], '*', 'p', ARGV[1])
  redis.call('HSET', KEYS[1], 'leased', '1')
end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'credited', '1') end
redis.call('ZREM', KEYS[2], ARGV[3])
return id`;

/**
 * KEYS: job, its calls · ARGV: team ('' = the server), ttl ms, stale ms. Starts a close: closing
 * + 1, so no call starts on the job any more. Returns {status, inflight, leased}: status -2 =
 * another team's job (nothing set), -3 = the job's team is not known here (learn it first), 1 =
 * closing.
 */
const CLOSE_SCRIPT = `
local team = redis.call('HGET', KEYS[1], 'team')
if ARGV[1] ~= '' then
  if not team then return {-3, 0, 0} end
  if team ~= ARGV[1] then return {-2, 0, 0} end
end
redis.call('HINCRBY', KEYS[1], 'closing', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
${NOW_MS}
return {1, redis.call('ZCOUNT', KEYS[2], now - tonumber(ARGV[3]), '+inf'),
        redis.call('HGET', KEYS[1], 'leased') == '1' and 1 or 0}`;

/**
 * KEYS: job, its calls · ARGV: stale ms. Returns {inflight, leased}: the calls started within the
 * last ARGV[1] ms, and whether any call was leased.
 */
const COUNT_SCRIPT = `${NOW_MS}
return {redis.call('ZCOUNT', KEYS[2], now - tonumber(ARGV[1]), '+inf'),
        redis.call('HGET', KEYS[1], 'leased') == '1' and 1 or 0}`;

interface JobCommands {
  tollgateJobStart(
    key: string,
    calls: string,
    team: string,
    ttlMs: number,
    init: string,
    token: string,
  ): Promise<number>;
  tollgateJobEnd(
    key: string,
    calls: string,
    stream: string,
    payload: string,
    credited: string,
    token: string,
  ): Promise<string | null>;
  tollgateJobClose(
    key: string,
    calls: string,
    team: string,
    ttlMs: number,
    staleMs: number,
  ): Promise<[number, number, number]>;
  tollgateJobInflight(key: string, calls: string, staleMs: number): Promise<[number, number]>;
}
type JobClient = Redis & JobCommands;

/** A call's place in its explicit job's shared state. */
export interface JobTicket {
  jobId: string;
  /** The call's member of the job's in-flight set. */
  token: string;
  /** job_based: the job's credit is already held in Postgres (its later calls cost nothing). */
  credited: boolean;
}

/**
 * The shared state of explicit jobs across replicas (docs/design/metering.md, "Explicit jobs on
 * leases"): `tollgate:job:<db>:<id>` = {team, closing, closed, leased, credited} and the set
 * `…:calls` of its calls in flight, in
 * Redis. A call starts with one script (409 once the job is closing) and ends with one (its
 * journal record appended and the call out of the set together); a close sets `closing`, waits for none in flight
 * 0 (bounded by the upstream timeout), writes the job's records still in the stream, then closes
 * in Postgres. Without Redis, or while it is away, calls take the exact path and `start` answers
 * null.
 */
@Injectable()
export class JobGate {
  private readonly logger = new Logger('JobGate');
  private readonly redis: RedisCacheStore | null;
  private readonly prefix: string;
  private readonly ttlMs: number;
  /** How long a close waits for calls in flight on the job (an attempt's upstream timeout + margin). */
  private readonly waitMs: number;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(CACHE_STORE) store: CacheStore,
    @Inject(TOLLGATE_CONFIG) config: TollgateConfig,
    private readonly journal: CallJournal,
  ) {
    this.redis = store.kind === 'redis' ? (store as RedisCacheStore) : null;
    if (this.redis) define(this.redis.client);
    this.prefix = `tollgate:job:${journal.tag}:`;
    this.ttlMs = (config.jobs.ttlSeconds + 3600) * 1000;
    this.waitMs = config.upstream.timeoutMs + 5000;
  }

  /** Whether calls on explicit jobs can be shared across replicas right now. */
  get shared(): boolean {
    return this.redis?.available === true;
  }

  /** A job just opened on this replica: its team goes to Redis (so no replica reads it from Postgres). */
  async opened(jobId: string, teamId: string): Promise<void> {
    if (!this.shared) return;
    await this.setTeam(jobId, teamId).catch(() => undefined);
  }

  /**
   * A call joins the job: null when Redis is away (the exact path checks the job in Postgres).
   * Throws 404/403/409 when the job is unknown, another team's, or closing/closed.
   */
  async start(teamId: string, jobId: string): Promise<JobTicket | null> {
    if (!this.shared) return null;
    const token = randomUUID();
    const start = (init: string) =>
      this.command((c) =>
        c.tollgateJobStart(this.key(jobId), this.calls(jobId), teamId, this.ttlMs, init, token),
      );
    try {
      let joined = await start('0');
      if (joined === 0) {
        await this.learn(teamId, jobId);
        joined = await start('1');
      }
      if (joined === -2) {
        throw new TollgateError('FORBIDDEN', 'Cannot access jobs for a different team');
      }
      if (joined === -1) throw new TollgateError('JOB_CLOSED', 'Job is closing or closed');
      return { jobId, token, credited: joined === 2 };
    } catch (err) {
      if (err instanceof TollgateError) throw err;
      // Redis went away, maybe after the call joined: it leaves (ordered after the start on the
      // same connection; a no-op if it never joined) and takes the exact path
      void this.command((c) => c.zrem(this.calls(jobId), token)).catch(() => undefined);
      return null;
    }
  }

  /**
   * The call is over: its record (a journal entry, or null when Postgres has it already) goes to
   * the stream and the call leaves the job's in-flight set, in one script. Redis away: the record is written
   * to Postgres before this returns (the job's close then waits at most its bound for this call).
   */
  async end(
    ticket: JobTicket,
    credited: boolean,
    entry: JobCallEntry | null = null,
  ): Promise<void> {
    const { jobId, token } = ticket;
    const payload = entry ? JSON.stringify(entry) : '';
    const streamId = await this.command((c) =>
      c.tollgateJobEnd(
        this.key(jobId),
        this.calls(jobId),
        this.journal.streamKey,
        payload,
        credited ? '1' : '0',
        token,
      ),
    ).catch((err: Error) => {
      this.logger.warn(`Ending a call on job ${jobId} in Redis failed: ${err.message}`);
      return null;
    });
    if (entry) await this.journal.enqueue(entry, payload, streamId);
  }

  /**
   * Closes a job (`close` is the Postgres close) once no call runs on it on any replica and its
   * calls' records are in Postgres, so the completion's totals include every call. `teamId` null:
   * the server (TTL sweep). Redis away: this replica's own records are written, then the job is
   * closed (calls in flight on other replicas are still charged when written; the stored totals
   * may miss them, GET /api/jobs/{id}/costs counts them).
   */
  async close<T>(
    teamId: string | null,
    jobId: string,
    close: () => Promise<T>,
    options: { skipWhenBusy?: boolean } = {},
  ): Promise<T | null> {
    const started = this.shared ? await this.startClose(teamId, jobId) : null;
    if (!started) {
      await this.journal.flush();
      return close();
    }
    let leased = started.leased;
    const deadline = Date.now() + this.waitMs;
    let inflight = started.inflight;
    if (inflight > 0 && options.skipWhenBusy) {
      // the sweep: a job with calls running is closed on a later tick, not waited for here
      await this.command((c) => c.hincrby(this.key(jobId), 'closing', -1)).catch(() => undefined);
      return null;
    }
    while (inflight > 0 && Date.now() < deadline && this.shared) {
      await sleep(10);
      const state = await this.command((c) =>
        c.tollgateJobInflight(this.key(jobId), this.calls(jobId), this.waitMs),
      ).catch(() => null);
      if (!state) break;
      inflight = Number(state[0]);
      leased = state[1] === 1;
    }
    if (inflight > 0) {
      this.logger.warn(`Closing job ${jobId} with ${inflight} call(s) still counted in flight`);
    }
    try {
      if (leased) await this.journal.drainJob(jobId);
      else await this.journal.flush();
      const result = await close();
      // null: another replica's close (the sweep skips a locked job) decides
      if (result !== null) {
        await this.command((c) => c.hset(this.key(jobId), 'closed', '1')).catch(() => undefined);
      }
      return result;
    } finally {
      await this.command((c) => c.hincrby(this.key(jobId), 'closing', -1)).catch(() => undefined);
    }
  }

  private async startClose(
    teamId: string | null,
    jobId: string,
  ): Promise<{ inflight: number; leased: boolean } | null> {
    try {
      let [status, inflight, leased] = await this.command((c) =>
        c.tollgateJobClose(
          this.key(jobId),
          this.calls(jobId),
          teamId ?? '',
          this.ttlMs,
          this.waitMs,
        ),
      );
      if (status === -3 && teamId !== null) {
        await this.learn(teamId, jobId, true);
        await this.setTeam(jobId, teamId);
        [status, inflight, leased] = await this.command((c) =>
          c.tollgateJobClose(this.key(jobId), this.calls(jobId), teamId, this.ttlMs, this.waitMs),
        );
      }
      if (status === -2) {
        throw new TollgateError('FORBIDDEN', 'Cannot access jobs for a different team');
      }
      if (status !== 1) return null;
      return { inflight: Number(inflight), leased: leased === 1 };
    } catch (err) {
      if (err instanceof TollgateError) throw err;
      return null;
    }
  }

  /**
   * Once per job (the first replica that sees a call on it, unless it was opened through this
   * gateway): the job's team and status from Postgres. Throws 404/403/409 as the exact hold does.
   */
  private async learn(teamId: string, jobId: string, closing = false): Promise<void> {
    const rows: Array<{ team_id: string; status: string }> = await this.db.query(
      'SELECT team_id, status FROM jobs WHERE job_id = $1',
      [jobId],
    );
    const job = rows[0];
    if (!job) throw new TollgateError('NOT_FOUND', 'Job not found');
    if (job.team_id !== teamId) {
      throw new TollgateError('FORBIDDEN', 'Cannot access jobs for a different team');
    }
    if (!closing && job.status !== 'pending' && job.status !== 'in_progress') {
      throw new TollgateError('JOB_CLOSED', `Job is already ${job.status}`);
    }
  }

  /** The job's team (immutable), known to every replica from now on. */
  private async setTeam(jobId: string, teamId: string): Promise<void> {
    const key = this.key(jobId);
    await this.command((c) => c.multi().hset(key, 'team', teamId).pexpire(key, this.ttlMs).exec());
  }

  private key(jobId: string): string {
    return `${this.prefix}${jobId}`;
  }

  /** The sorted set of the job's calls in flight (scored by their start, Redis time). */
  private calls(jobId: string): string {
    return `${this.prefix}${jobId}:calls`;
  }

  private command<T>(run: (client: JobClient) => Promise<T>): Promise<T> {
    if (!this.redis) return Promise.reject(new Error('no Redis'));
    return this.redis.run((c) => run(c as JobClient));
  }
}

function define(client: Redis): void {
  const commands = client as Redis & Partial<JobCommands>;
  if (!commands.tollgateJobStart) {
    client.defineCommand('tollgateJobStart', { numberOfKeys: 2, lua: START_SCRIPT });
  }
  if (!commands.tollgateJobEnd) {
    client.defineCommand('tollgateJobEnd', { numberOfKeys: 3, lua: END_SCRIPT });
  }
  if (!commands.tollgateJobClose) {
    client.defineCommand('tollgateJobClose', { numberOfKeys: 2, lua: CLOSE_SCRIPT });
  }
  if (!commands.tollgateJobInflight) {
    client.defineCommand('tollgateJobInflight', { numberOfKeys: 2, lua: COUNT_SCRIPT });
  }
}
