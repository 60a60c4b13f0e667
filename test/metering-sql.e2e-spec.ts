import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import {
  applyJournal,
  grantCredits,
  grantLease,
  holdForCall,
  leaseCredits,
  releaseExpiredLeases,
  renewLeases,
  returnLease,
  settle,
} from '@app/billing';
import type { CallRecord, JobCallEntry, JournalEntry, LeaseRequest } from '@app/billing';

/**
 * The SQL of metered calls against real Postgres: credit leases (a replica's slice of a team's
 * balance, counted in credits_held) and the journal that writes settled one-call jobs in batches.
 */
describe('credit leases and the call journal (real Postgres)', () => {
  const url = process.env.DATABASE_URL!;
  let ds: DataSource;
  let ds2: DataSource;
  let pg: Client;
  const org = `org-msql-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    ds = await new DataSource({ type: 'postgres', url }).initialize();
    ds2 = await new DataSource({ type: 'postgres', url }).initialize();
    pg = new Client({ connectionString: url });
    await pg.connect();
    await pg.query(`INSERT INTO organizations (organization_id, name) VALUES ($1, $1)`, [org]);
  });
  afterAll(async () => {
    await pg.end();
    await ds.destroy();
    await ds2.destroy();
  });

  async function team(credits: number, budgetMode = 'job_based'): Promise<string> {
    const teamId = `team-msql-${randomBytes(6).toString('hex')}`;
    await pg.query(
      `INSERT INTO teams (team_id, organization_id, budget_mode) VALUES ($1, $2, $3)`,
      [teamId, org, budgetMode],
    );
    if (credits > 0) await grantCredits(ds.manager, teamId, credits, 'allocation', 'initial');
    return teamId;
  }

  async function key(teamId: string): Promise<string> {
    const rows = await pg.query(
      `INSERT INTO virtual_keys (team_id, key_hash, masked_key) VALUES ($1, $2, 'sk-…')
       RETURNING key_id`,
      [teamId, randomBytes(32).toString('hex')],
    );
    return rows.rows[0].key_id as string;
  }

  /** The team's balance and every quantity the invariants tie to it. */
  async function state(teamId: string) {
    const rows = await pg.query(
      `SELECT credits_allocated::int AS allocated, credits_used::int AS used, credits_held::int AS held,
              (credits_allocated - credits_used - credits_held)::int AS remaining,
              (SELECT COALESCE(sum(credits_amount), 0)::int FROM credit_transactions WHERE team_id = $1) AS ledger_sum,
              (SELECT count(*)::int FROM credit_transactions WHERE team_id = $1) AS ledger_rows,
              (SELECT COALESCE(sum(credits), 0)::int FROM credit_leases WHERE team_id = $1) AS leased,
              (SELECT count(*)::int FROM credit_leases WHERE team_id = $1) AS leases,
              (SELECT COALESCE(sum(credits), 0)::int FROM credit_holds WHERE team_id = $1) AS holds,
              (SELECT count(*)::int FROM jobs WHERE team_id = $1) AS jobs
         FROM teams WHERE team_id = $1`,
      [teamId],
    );
    return rows.rows[0] as {
      allocated: number;
      used: number;
      held: number;
      remaining: number;
      ledger_sum: number;
      ledger_rows: number;
      leased: number;
      leases: number;
      holds: number;
      jobs: number;
    };
  }

  async function expectInvariants(teamId: string) {
    const s = await state(teamId);
    expect(s.remaining).toBeGreaterThanOrEqual(0);
    expect(s.held).toBe(s.leased + s.holds);
    expect(s.ledger_sum).toBe(s.allocated - s.used);
    return s;
  }

  async function lease(leaseId: string) {
    const rows = await pg.query(
      `SELECT credits::int AS credits, replica_id, expires_at > now() AS live,
              EXTRACT(EPOCH FROM expires_at - now())::int AS ttl
         FROM credit_leases WHERE lease_id = $1`,
      [leaseId],
    );
    return rows.rows[0] as
      { credits: number; replica_id: string; live: boolean; ttl: number } | undefined;
  }

  const backdate = (leaseId: string) =>
    pg.query(
      `UPDATE credit_leases SET expires_at = now() - interval '1 second' WHERE lease_id = $1`,
      [leaseId],
    );

  const request = (over: Partial<LeaseRequest> & { teamId: string }): LeaseRequest => ({
    replicaId: 'replica-a',
    leaseId: null,
    credits: 10,
    keepFree: 0,
    ttlSeconds: 60,
    ...over,
  });

  async function openLease(teamId: string, credits: number, replicaId = 'replica-a') {
    const grant = await grantLease(ds, request({ teamId, credits, replicaId }));
    expect(grant).not.toBeNull();
    return grant!.leaseId;
  }

  function attempt(
    jobId: string,
    teamId: string,
    keyId: string | null,
    n: number,
    over: Partial<CallRecord> = {},
  ): CallRecord {
    return {
      call_id: randomUUID(),
      job_id: jobId,
      team_id: teamId,
      key_id: keyId,
      model_requested: 'gpt-test',
      model_name: 'gpt-test',
      model_id: null,
      provider: 'openai',
      provider_model: 'gpt-test-0',
      attempt: n,
      prompt_tokens: 100,
      completion_tokens: 50,
      total_tokens: 150,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      provider_cost_usd: 0.001,
      client_cost_usd: 0.0012,
      input_price_per_million: 5,
      output_price_per_million: 10,
      markup_percentage: 20,
      latency_ms: 40,
      status: 'success',
      error_class: null,
      error_message: null,
      purpose: null,
      streamed: false,
      finish_reason: 'stop',
      call_metadata: {},
      charged: true,
      ...over,
    };
  }

  const failedAttempt = (jobId: string, teamId: string, keyId: string | null, n: number) =>
    attempt(jobId, teamId, keyId, n, {
      status: 'error',
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      provider_cost_usd: 0,
      client_cost_usd: 0,
      error_class: 'upstream_error',
      error_message: 'HTTP 500',
      finish_reason: null,
      charged: false,
    });

  /** A one-call job: `failures` failed attempts, then (unless failed) a successful one. */
  function entry(
    teamId: string,
    keyId: string | null,
    leaseId: string | null,
    charge: number,
    opts: { failures?: number; failed?: boolean } = {},
  ): JournalEntry {
    const jobId = randomUUID();
    const failures = opts.failures ?? 0;
    const calls = Array.from({ length: failures }, (_, i) =>
      failedAttempt(jobId, teamId, keyId, i + 1),
    );
    if (!opts.failed) calls.push(attempt(jobId, teamId, keyId, failures + 1));
    const status = opts.failed ? 'failed' : 'completed';
    return {
      job: {
        job_id: jobId,
        team_id: teamId,
        key_id: keyId,
        job_type: 'chat',
        user_id: 'user-1',
        metadata: { source: 'journal' },
        status,
        error_message: opts.failed ? 'upstream failed' : null,
        created_at: '2026-01-02T03:04:05.100Z',
        started_at: '2026-01-02T03:04:05.200Z',
        completed_at: '2026-01-02T03:04:06.300Z',
      },
      leaseId,
      charge,
      reason: `Job ${jobId} ${status}`,
      calls,
    };
  }

  const ids = (entries: JournalEntry[]) => entries.map((e) => e.job.job_id);

  /** An explicit job (a row, as POST /api/jobs opens it). */
  async function explicitJob(teamId: string, keyId: string | null): Promise<string> {
    const rows = await pg.query(
      `INSERT INTO jobs (team_id, key_id, job_type) VALUES ($1, $2, 'explicit') RETURNING job_id`,
      [teamId, keyId],
    );
    return rows.rows[0].job_id as string;
  }

  /** A call on an explicit job: `failures` failed attempts, then a successful one. */
  function jobCall(
    teamId: string,
    keyId: string | null,
    jobId: string,
    leaseId: string | null,
    charge: number,
    failures = 0,
  ): JobCallEntry {
    const calls = Array.from({ length: failures }, (_, i) =>
      failedAttempt(jobId, teamId, keyId, i + 1),
    );
    calls.push(attempt(jobId, teamId, keyId, failures + 1));
    return {
      joined: { job_id: jobId, team_id: teamId, key_id: keyId },
      leaseId,
      charge,
      reason: `LLM call ${calls[calls.length - 1].call_id}`,
      calls,
    };
  }

  const callKeys = (entries: JobCallEntry[]) => entries.map((e) => e.calls[0].call_id);

  async function jobRows(jobId: string) {
    const rows = await pg.query(
      `SELECT (SELECT count(*)::int FROM llm_calls WHERE job_id = $1) AS calls,
              (SELECT COALESCE(sum(credits_charged), 0)::int FROM llm_calls WHERE job_id = $1) AS call_credits,
              (SELECT count(*)::int FROM credit_transactions WHERE job_id = $1) AS ledger_rows,
              (SELECT status FROM jobs WHERE job_id = $1) AS status`,
      [jobId],
    );
    return rows.rows[0] as {
      calls: number;
      call_credits: number;
      ledger_rows: number;
      status: string;
    };
  }

  /**
   * Runs `run` while a transaction that did `block` is still open, and commits it only once
   * `waiters` statements wait on its locks: each took its snapshot before that commit.
   */
  async function behind<T>(
    block: (tx: EntityManager) => Promise<unknown>,
    run: () => Promise<T>[],
    waiters = 2,
  ): Promise<T[]> {
    const tx = ds.createQueryRunner();
    await tx.connect();
    try {
      await tx.startTransaction();
      await block(tx.manager);
      const all = Promise.all(run());
      await waitForLockWaiters(waiters);
      await tx.commitTransaction();
      return await all;
    } finally {
      await tx.release();
    }
  }

  async function waitForLockWaiters(n: number) {
    for (let i = 0; i < 300; i++) {
      const rows = await pg.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (rows.rows[0].n >= n) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`${n} statements never waited on the blocking transaction`);
  }

  const lockRows = (sql: string, params: unknown[]) => (tx: EntityManager) => tx.query(sql, params);

  describe('leases', () => {
    it('grants into credits_held, refuses a grant that leaves less than keepFree, tops up', async () => {
      const teamId = await team(100);
      const grant = await grantLease(ds, request({ teamId, credits: 30, keepFree: 10 }));
      expect(grant).toEqual({
        leaseId: expect.any(String),
        credits: 30,
        settings: {
          budgetMode: 'job_based',
          creditsPerDollar: 10,
          tokensPerCredit: 10000,
          markupPercentage: 0,
        },
        remaining: 70,
      });
      expect(await lease(grant!.leaseId)).toMatchObject({
        credits: 30,
        replica_id: 'replica-a',
        live: true,
      });
      expect(await expectInvariants(teamId)).toMatchObject({
        held: 30,
        remaining: 70,
        ledger_rows: 1,
      });

      // 65 of the 70 available would leave 5 < keepFree 10: refused, nothing changed
      expect(await grantLease(ds, request({ teamId, credits: 65, keepFree: 10 }))).toBeNull();
      expect(
        await grantLease(
          ds,
          request({ teamId, leaseId: grant!.leaseId, credits: 65, keepFree: 10 }),
        ),
      ).toBeNull();
      expect(await state(teamId)).toMatchObject({ held: 30, leases: 1, leased: 30 });
      expect(await lease(grant!.leaseId)).toMatchObject({ credits: 30 });

      // the top-up extends an expired (not yet swept) lease
      await backdate(grant!.leaseId);
      const topped = await grantLease(
        ds,
        request({ teamId, leaseId: grant!.leaseId, credits: 60, keepFree: 10, ttlSeconds: 300 }),
      );
      expect(topped).toMatchObject({ leaseId: grant!.leaseId, credits: 90, remaining: 10 });
      const row = await lease(grant!.leaseId);
      expect(row).toMatchObject({ credits: 90, live: true });
      expect(row!.ttl).toBeGreaterThan(200);
      expect(await expectInvariants(teamId)).toMatchObject({ held: 90, leases: 1, remaining: 10 });
    });

    it('tops up only its own lease, and nothing on a suspended team', async () => {
      const teamId = await team(50);
      const other = await team(50);
      const leaseId = await openLease(teamId, 10);
      expect(await grantLease(ds, request({ teamId, leaseId, replicaId: 'replica-b' }))).toBeNull();
      expect(await grantLease(ds, request({ teamId: other, leaseId }))).toBeNull();
      expect(await grantLease(ds, request({ teamId, leaseId: randomUUID() }))).toBeNull();
      await pg.query(`UPDATE teams SET status = 'suspended' WHERE team_id = $1`, [teamId]);
      expect(await grantLease(ds, request({ teamId }))).toBeNull();
      expect(await grantLease(ds, request({ teamId, leaseId }))).toBeNull();
      expect(await state(teamId)).toMatchObject({ held: 10, leased: 10, leases: 1 });
      expect(await state(other)).toMatchObject({ held: 0, leases: 0 });
    });

    it('gives back part, then all (the row goes), then nothing', async () => {
      const teamId = await team(100);
      const leaseId = await openLease(teamId, 40);
      expect(await returnLease(ds, leaseId, 15)).toBe(15);
      expect(await lease(leaseId)).toMatchObject({ credits: 25 });
      expect(await expectInvariants(teamId)).toMatchObject({ held: 25, remaining: 75 });
      expect(await returnLease(ds, leaseId, 100)).toBe(25); // capped at what it holds
      expect(await lease(leaseId)).toMatchObject({ credits: 0 });
      expect(await grantLease(ds, request({ teamId, leaseId, credits: 5 }))).toMatchObject({
        credits: 5,
      });
      expect(await returnLease(ds, leaseId, null)).toBe(5);
      expect(await lease(leaseId)).toBeUndefined();
      expect(await returnLease(ds, leaseId, null)).toBe(0);
      expect(await returnLease(ds, leaseId, 3)).toBe(0);
      expect(await expectInvariants(teamId)).toMatchObject({ held: 0, remaining: 100, leases: 0 });
    });

    it('expired leases come back to their teams; renewed ones stay', async () => {
      await releaseExpiredLeases(ds); // whatever earlier tests left expired
      const teamId = await team(100);
      const replica = `replica-${randomBytes(4).toString('hex')}`;
      const dead = await openLease(teamId, 20, 'replica-dead');
      const live = await openLease(teamId, 30, replica);
      await backdate(dead);
      await backdate(live);
      const renewed = await renewLeases(ds, replica, 120);
      expect(renewed).toEqual([live]);
      expect(await lease(live)).toMatchObject({ live: true, credits: 30 });
      expect(await releaseExpiredLeases(ds)).toBe(20);
      expect(await lease(dead)).toBeUndefined();
      expect(await lease(live)).toMatchObject({ credits: 30 });
      expect(await expectInvariants(teamId)).toMatchObject({ held: 30, remaining: 70, leases: 1 });
      expect(await renewLeases(ds, 'replica-dead', 60)).toEqual([]);
    });

    it('two replicas sweeping at once give each expired lease back once', async () => {
      await releaseExpiredLeases(ds);
      const teams = [await team(100), await team(100)];
      const leases: string[] = [];
      for (const teamId of teams) {
        for (let i = 0; i < 5; i++) leases.push(await openLease(teamId, 3 + i, 'replica-gone'));
      }
      for (const id of leases) await backdate(id);
      const [a, b] = await Promise.all([
        releaseExpiredLeases(ds, 4),
        releaseExpiredLeases(ds2, 50),
      ]);
      const rest = await releaseExpiredLeases(ds);
      expect(a + b + rest).toBe(2 * (3 + 4 + 5 + 6 + 7));
      for (const teamId of teams) {
        expect(await expectInvariants(teamId)).toMatchObject({
          held: 0,
          remaining: 100,
          leases: 0,
        });
      }
    });
  });

  describe('journal', () => {
    it('writes a batch for two teams: jobs, attempts, consecutive ledger rows, leases, keys', async () => {
      const a = await team(100); // job_based: 1 credit per completed job
      const b = await team(200, 'consumption_tokens');
      const ka = await key(a);
      const kb = await key(b);
      const la = await openLease(a, 10);
      const lb = await openLease(b, 40);
      const batch = [
        entry(a, ka, la, 1, { failures: 1 }),
        entry(b, kb, lb, 3),
        entry(a, ka, la, 0, { failed: true, failures: 2 }),
        entry(b, kb, lb, 5, { failures: 1 }),
        entry(a, null, la, 1),
        entry(b, kb, lb, 0), // a free call: no ledger row
        entry(b, kb, lb, 2),
      ];
      const outcome = await applyJournal(ds, batch);
      expect(outcome).toEqual({
        applied: ids(batch),
        duplicates: [],
        leaseShort: false,
        charged: Object.fromEntries(batch.map((e) => [e.job.job_id, e.charge])),
      });

      expect(await expectInvariants(a)).toMatchObject({
        used: 2,
        held: 8,
        leased: 8,
        remaining: 90,
        jobs: 3,
      });
      expect(await expectInvariants(b)).toMatchObject({
        used: 10,
        held: 30,
        leased: 30,
        remaining: 160,
        jobs: 4,
      });
      expect(await lease(la)).toMatchObject({ credits: 8 });
      expect(await lease(lb)).toMatchObject({ credits: 30 });
      const keys = await pg.query(
        `SELECT key_id, spend::int, total_spend::int FROM virtual_keys WHERE key_id IN ($1, $2) ORDER BY spend`,
        [ka, kb],
      );
      expect(keys.rows).toEqual([
        { key_id: ka, spend: 1, total_spend: 1 }, // the third job of team a has no key
        { key_id: kb, spend: 10, total_spend: 10 },
      ]);

      // one deduction per charged job, before/after consecutive per team in entry order
      for (const [teamId, start] of [
        [a, 100],
        [b, 200],
      ] as const) {
        const ledger = await pg.query(
          `SELECT job_id, key_id, transaction_type, credits_amount::int AS amount,
                  credits_before::int AS before, credits_after::int AS after, reason
             FROM credit_transactions WHERE team_id = $1 AND transaction_type = 'deduction'
            ORDER BY credits_before DESC`,
          [teamId],
        );
        const charged = batch.filter((e) => e.job.team_id === teamId && e.charge > 0);
        let before = start;
        expect(ledger.rows).toEqual(
          charged.map((e) => {
            const row = {
              job_id: e.job.job_id,
              key_id: e.job.key_id,
              transaction_type: 'deduction',
              amount: -e.charge,
              before,
              after: before - e.charge,
              reason: e.reason,
            };
            before -= e.charge;
            return row;
          }),
        );
      }

      const jobs = await pg.query(
        `SELECT job_id, team_id, key_id, job_type, user_id, status, metadata, error_message,
                credits_charged::int, credit_applied, completion_result,
                created_at, started_at, completed_at
           FROM jobs WHERE job_id = ANY($1::uuid[])`,
        [ids(batch)],
      );
      const byId = new Map(jobs.rows.map((r) => [r.job_id as string, r]));
      for (const e of batch) {
        const successes = e.calls.filter((c) => c.status === 'success');
        expect(byId.get(e.job.job_id)).toEqual({
          job_id: e.job.job_id,
          team_id: e.job.team_id,
          key_id: e.job.key_id,
          job_type: 'chat',
          user_id: 'user-1',
          status: e.job.status,
          metadata: { source: 'journal' },
          error_message: e.job.error_message,
          credits_charged: e.charge,
          credit_applied: e.charge > 0,
          completion_result: {
            job_id: e.job.job_id,
            status: e.job.status,
            completed_at: '2026-01-02T03:04:06.300Z',
            costs: {
              total_calls: e.calls.length,
              successful_calls: successes.length,
              failed_calls: e.calls.length - successes.length,
              total_tokens: successes.length * 150,
              total_cost_usd: successes.length * 0.0012,
              credits_charged: e.charge,
              credit_applied: e.charge > 0,
              credits_remaining: e.job.team_id === a ? 90 : 160,
            },
          },
          created_at: new Date('2026-01-02T03:04:05.100Z'),
          started_at: new Date('2026-01-02T03:04:05.200Z'),
          completed_at: new Date('2026-01-02T03:04:06.300Z'),
        });
      }

      const calls = await pg.query(
        `SELECT call_id, job_id, attempt, status, credits_charged::int, total_tokens, client_cost_usd::float8
           FROM llm_calls WHERE job_id = ANY($1::uuid[])`,
        [ids(batch)],
      );
      const expected = batch.flatMap((e) =>
        e.calls.map((c) => ({
          call_id: c.call_id,
          job_id: e.job.job_id,
          attempt: c.attempt,
          status: c.status,
          credits_charged: c.charged ? e.charge : 0,
          total_tokens: c.total_tokens,
          client_cost_usd: c.client_cost_usd,
        })),
      );
      expect(calls.rows).toHaveLength(expected.length);
      expect(calls.rows).toEqual(expect.arrayContaining(expected));
    });

    it('reads each record from the JSON text it is given (the stream payload), charge floored at 0 as leaseCredits counts it', async () => {
      const teamId = await team(10, 'consumption_usd');
      const keyId = await key(teamId);
      const leaseId = await openLease(teamId, 6);
      const whole = entry(teamId, keyId, leaseId, 3);
      const fraction = { ...entry(teamId, keyId, leaseId, 0), charge: 1.9 };
      const negative = { ...entry(teamId, keyId, leaseId, 0), charge: -4 };
      const batch = [whole, fraction, negative];
      expect(leaseCredits(fraction)).toBe(1);
      expect(leaseCredits(negative)).toBe(0);
      expect(
        await applyJournal(
          ds,
          batch,
          batch.map((e) => JSON.stringify(e)),
        ),
      ).toEqual({
        applied: ids(batch),
        duplicates: [],
        leaseShort: false,
        charged: { [whole.job.job_id]: 3, [fraction.job.job_id]: 1, [negative.job.job_id]: 0 },
      });
      expect(await expectInvariants(teamId)).toMatchObject({ used: 4, held: 2 });
      const rows = await pg.query<{ job_id: string; n: number }>(
        `SELECT job_id, count(*)::int AS n FROM llm_calls WHERE job_id = ANY($1::uuid[]) GROUP BY job_id`,
        [ids(batch)],
      );
      expect(rows.rows).toHaveLength(3); // each record's call rows came out of its own text
      await expect(applyJournal(ds, batch, [JSON.stringify(whole)])).rejects.toThrow(
        'one JSON text per entry',
      );
    });

    it('a leaseId-null entry is capped at what the team has; the balance never goes below 0', async () => {
      const teamId = await team(10, 'consumption_usd');
      const keyId = await key(teamId);
      const leaseId = await openLease(teamId, 8); // 2 left available
      const alone = entry(teamId, keyId, null, 5);
      expect(await applyJournal(ds, [alone])).toEqual({
        applied: [alone.job.job_id],
        duplicates: [],
        leaseShort: false,
        charged: { [alone.job.job_id]: 2 },
      });
      expect(await expectInvariants(teamId)).toMatchObject({ used: 2, held: 8, remaining: 0 });
      const job = await pg.query(
        `SELECT credits_charged::int, completion_result FROM jobs WHERE job_id = $1`,
        [alone.job.job_id],
      );
      expect(job.rows[0].credits_charged).toBe(2);
      expect(job.rows[0].completion_result.costs).toMatchObject({
        credits_charged: 2,
        credits_remaining: 0,
      });

      // nothing left: charged 0, the job still recorded, no ledger row
      const broke = entry(teamId, keyId, null, 3);
      expect((await applyJournal(ds, [broke])).charged).toEqual({ [broke.job.job_id]: 0 });
      expect(await expectInvariants(teamId)).toMatchObject({
        used: 2,
        remaining: 0,
        ledger_rows: 2,
        jobs: 2,
      });
      await expect(
        applyJournal(ds, [entry(teamId, keyId, leaseId, 1), entry(teamId, keyId, null, 1)]),
      ).rejects.toThrow('applied alone');
      expect(await lease(leaseId)).toMatchObject({ credits: 8 });
    });

    it('a missing, short or foreign lease writes nothing and says leaseShort', async () => {
      const teamId = await team(100);
      const other = await team(100);
      const leaseId = await openLease(teamId, 5);
      const foreign = await openLease(other, 50);
      const gone = await openLease(teamId, 5);
      await returnLease(ds, gone, null);
      const before = await state(teamId);
      const cases = [
        [entry(teamId, null, leaseId, 3), entry(teamId, null, leaseId, 3)], // 6 > 5
        [entry(teamId, null, leaseId, 1), entry(teamId, null, gone, 1)],
        [entry(teamId, null, leaseId, 1), entry(teamId, null, foreign, 1)],
      ];
      for (const batch of cases) {
        expect(await applyJournal(ds, batch)).toEqual({
          applied: [],
          duplicates: [],
          leaseShort: true,
          charged: {},
        });
      }
      expect(await state(teamId)).toEqual(before);
      expect(await lease(leaseId)).toMatchObject({ credits: 5 });
      expect(await lease(foreign)).toMatchObject({ credits: 50 });
      const written = await pg.query(
        `SELECT count(*)::int AS n FROM llm_calls WHERE team_id = $1`,
        [teamId],
      );
      expect(written.rows[0].n).toBe(0);

      // the fallback: one by one without the lease
      for (const e of cases[0]) {
        expect(await applyJournal(ds, [{ ...e, leaseId: null }])).toMatchObject({
          applied: [e.job.job_id],
          charged: { [e.job.job_id]: 3 },
        });
      }
      expect(await expectInvariants(teamId)).toMatchObject({ used: 6, held: 5, remaining: 89 });
    });

    it('a batch applied again is all duplicates and charges nothing', async () => {
      const teamId = await team(100);
      const keyId = await key(teamId);
      const leaseId = await openLease(teamId, 20);
      const batch = [
        entry(teamId, keyId, leaseId, 1),
        entry(teamId, keyId, leaseId, 4, { failures: 1 }),
      ];
      expect((await applyJournal(ds, batch)).applied).toEqual(ids(batch));
      const after = await state(teamId);
      expect(await applyJournal(ds, batch)).toEqual({
        applied: [],
        duplicates: ids(batch),
        leaseShort: false,
        charged: {},
      });
      // a flush retried with one new entry writes only that one
      const more = [...batch, entry(teamId, keyId, leaseId, 2)];
      expect(await applyJournal(ds, more)).toEqual({
        applied: [more[2].job.job_id],
        duplicates: ids(batch),
        leaseShort: false,
        charged: { [more[2].job.job_id]: 2 },
      });
      expect(await expectInvariants(teamId)).toMatchObject({
        used: after.used + 2,
        ledger_rows: after.ledger_rows + 1,
        jobs: 3,
      });
      expect(await lease(leaseId)).toMatchObject({ credits: 13 });
    });

    /**
     * Both statements take their snapshot while a third connection holds the lease, so each one
     * sees every job as fresh; whichever writes second must end up charging nothing.
     */
    async function twins(leaseCredits: number) {
      const a = await team(100);
      const b = await team(100, 'consumption_usd');
      const ka = await key(a);
      const la = await openLease(a, leaseCredits);
      const lb = await openLease(b, leaseCredits);
      const batch = [
        entry(a, ka, la, 1, { failures: 1 }),
        entry(b, null, lb, 3),
        entry(a, ka, la, 2),
        entry(b, null, lb, 4),
      ];
      const outcomes = await behind(
        lockRows(`SELECT 1 FROM credit_leases WHERE lease_id = ANY($1::uuid[]) FOR UPDATE`, [
          [la, lb],
        ]),
        () => [applyJournal(ds, batch), applyJournal(ds2, batch)],
      );

      const applied = outcomes.flatMap((o) => o.applied).sort();
      expect(applied).toEqual(ids(batch).sort());
      for (const o of outcomes) {
        expect(o.leaseShort).toBe(false);
        expect([...o.applied, ...o.duplicates].sort()).toEqual(ids(batch).sort());
      }
      const charged = Object.assign({}, ...outcomes.map((o) => o.charged)) as Record<
        string,
        number
      >;
      expect(charged).toEqual(Object.fromEntries(batch.map((e) => [e.job.job_id, e.charge])));
      expect(await expectInvariants(a)).toMatchObject({
        used: 3,
        held: leaseCredits - 3,
        ledger_rows: 3,
        jobs: 2,
      });
      expect(await expectInvariants(b)).toMatchObject({
        used: 7,
        held: leaseCredits - 7,
        ledger_rows: 3,
        jobs: 2,
      });
      const spend = await pg.query(`SELECT spend::int FROM virtual_keys WHERE key_id = $1`, [ka]);
      expect(spend.rows[0].spend).toBe(3);
      const calls = await pg.query(
        `SELECT count(*)::int AS n FROM llm_calls WHERE job_id = ANY($1::uuid[])`,
        [ids(batch)],
      );
      expect(calls.rows[0].n).toBe(5);
    }

    it('two replicas applying the same batch at once charge it once (unique job id, retried)', async () => {
      await twins(50);
    });

    it('… also when the twin leaves the lease too short for a second charge', async () => {
      await twins(7); // exactly team b's charges: the second statement sees the lease short
    });

    it('calls on an explicit job: no job row written, idempotent on the call id, a flush retried after its commit charges once', async () => {
      const teamId = await team(100, 'consumption_tokens');
      const keyId = await key(teamId);
      const leaseId = await openLease(teamId, 20);
      const jobId = await explicitJob(teamId, keyId);
      // several calls of one job in one batch, beside a one-call job
      const calls = [
        jobCall(teamId, keyId, jobId, leaseId, 2),
        jobCall(teamId, keyId, jobId, leaseId, 3, 1),
        jobCall(teamId, null, jobId, leaseId, 0),
      ];
      const oneCall = entry(teamId, keyId, leaseId, 1);
      const first = await applyJournal(ds, [...calls, oneCall]);
      expect(first).toEqual({
        applied: [...callKeys(calls), oneCall.job.job_id],
        duplicates: [],
        leaseShort: false,
        charged: {
          [calls[0].calls[0].call_id]: 2,
          [calls[1].calls[0].call_id]: 3,
          [calls[2].calls[0].call_id]: 0,
          [oneCall.job.job_id]: 1,
        },
      });
      expect(await jobRows(jobId)).toEqual({
        calls: 4,
        call_credits: 5,
        ledger_rows: 2,
        status: 'in_progress',
      });
      const after = await expectInvariants(teamId);
      expect(after).toMatchObject({ used: 6, held: 14, jobs: 2 });
      // the flush retried after its COMMIT (the connection cut before the answer): all duplicates
      expect(await applyJournal(ds, [...calls, oneCall])).toEqual({
        applied: [],
        duplicates: [...callKeys(calls), oneCall.job.job_id],
        leaseShort: false,
        charged: {},
      });
      // and written once more alone, each as a lost-lease entry against the balance: still nothing
      for (const c of calls) {
        expect((await applyJournal(ds, [{ ...c, leaseId: null }])).duplicates).toEqual(
          callKeys([c]),
        );
      }
      expect(await expectInvariants(teamId)).toEqual(after);
      expect(await jobRows(jobId)).toMatchObject({ calls: 4, call_credits: 5, ledger_rows: 2 });
      expect(await lease(leaseId)).toMatchObject({ credits: 14 });
    });

    it('two replicas writing the same explicit-job calls at once charge each call once', async () => {
      const teamId = await team(100, 'consumption_tokens');
      const keyId = await key(teamId);
      const leaseId = await openLease(teamId, 10);
      const jobId = await explicitJob(teamId, keyId);
      const batch = [
        jobCall(teamId, keyId, jobId, leaseId, 4),
        jobCall(teamId, keyId, jobId, leaseId, 3, 1),
      ];
      const outcomes = await behind(
        lockRows(`SELECT 1 FROM credit_leases WHERE lease_id = $1 FOR UPDATE`, [leaseId]),
        () => [applyJournal(ds, batch), applyJournal(ds2, batch)],
      );
      expect(outcomes.flatMap((o) => o.applied).sort()).toEqual(callKeys(batch).sort());
      for (const o of outcomes) {
        expect(o.leaseShort).toBe(false);
        expect([...o.applied, ...o.duplicates].sort()).toEqual(callKeys(batch).sort());
      }
      expect(await expectInvariants(teamId)).toMatchObject({ used: 7, held: 3, ledger_rows: 3 });
      expect(await jobRows(jobId)).toMatchObject({ calls: 3, call_credits: 7, ledger_rows: 2 });
    });

    it('a job_based job’s later calls (no lease, charge 0) batch with leased entries and move no credit', async () => {
      const teamId = await team(10);
      const leaseId = await openLease(teamId, 5);
      const jobId = await explicitJob(teamId, null);
      const free = [jobCall(teamId, null, jobId, null, 0), jobCall(teamId, null, jobId, null, 0)];
      const outcome = await applyJournal(ds, [...free, entry(teamId, null, leaseId, 1)]);
      expect(outcome.applied).toHaveLength(3);
      expect(await jobRows(jobId)).toMatchObject({
        calls: 2,
        call_credits: 0,
        ledger_rows: 0,
        status: 'pending',
      });
      expect(await expectInvariants(teamId)).toMatchObject({ used: 1, held: 4 });
    });

    it('a job_based job’s first leased calls: one moves the job’s credit to its hold, the rest go back; retried, nothing moves', async () => {
      const teamId = await team(10);
      const leaseId = await openLease(teamId, 5);
      const jobId = await explicitJob(teamId, null);
      const holdsOf = async () =>
        (
          await pg.query(
            `SELECT credits::int, key_id, expires_at > now() + interval '50 seconds' AS lives
               FROM credit_holds WHERE job_id = $1`,
            [jobId],
          )
        ).rows;
      // two replicas' first calls (both took the credit from a lease) in one batch, and a later call
      const first = [
        { ...jobCall(teamId, null, jobId, leaseId, 0), jobHoldSeconds: 60 },
        { ...jobCall(teamId, null, jobId, leaseId, 0, 1), jobHoldSeconds: 60 },
      ];
      const later = jobCall(teamId, null, jobId, null, 0);
      expect((await applyJournal(ds, [...first, later])).applied).toHaveLength(3);
      expect(await holdsOf()).toEqual([{ credits: 1, key_id: null, lives: true }]);
      expect(await jobRows(jobId)).toMatchObject({
        calls: 4,
        call_credits: 0,
        ledger_rows: 0,
        status: 'in_progress',
      });
      // the lease lost both credits: one is the job's hold, the other is available again
      expect(await lease(leaseId)).toMatchObject({ credits: 3 });
      const after = await expectInvariants(teamId);
      expect(after).toMatchObject({ used: 0, held: 4, remaining: 6, ledger_rows: 1 });
      // retried after its commit: duplicates, and no credit moves
      expect((await applyJournal(ds, [...first, later])).duplicates).toHaveLength(3);
      expect(await expectInvariants(teamId)).toEqual(after);
      expect(await lease(leaseId)).toMatchObject({ credits: 3 });
      // a first call written after an exact hold took the credit (job in progress): it goes back
      const late = { ...jobCall(teamId, null, jobId, leaseId, 0), jobHoldSeconds: 60 };
      await applyJournal(ds, [late]);
      expect(await holdsOf()).toHaveLength(1);
      expect(await expectInvariants(teamId)).toMatchObject({ held: 3, remaining: 7 });
      // the job's close settles the one hold: exactly one credit for the job
      const closed = await settle(ds, {
        teamId,
        keyId: null,
        jobId,
        releaseJobHolds: true,
        due: 1,
        reason: `Job ${jobId} completed`,
      });
      expect(closed.charged).toBe(1);
      expect(await expectInvariants(teamId)).toMatchObject({ used: 1, held: 2, remaining: 7 });
    });

    it('a job_based job’s first call whose lease is gone: the hold comes from the available credits, if any', async () => {
      const teamId = await team(1);
      const jobId = await explicitJob(teamId, null);
      const rich = { ...jobCall(teamId, null, jobId, null, 0), jobHoldSeconds: 60 };
      await applyJournal(ds, [rich]);
      expect(await expectInvariants(teamId)).toMatchObject({ held: 1, holds: 1, remaining: 0 });
      expect(await jobRows(jobId)).toMatchObject({ status: 'in_progress' });
      // nothing left: the next job's credit cannot be held (the balance never goes below 0)
      const poorJob = await explicitJob(teamId, null);
      await applyJournal(ds, [{ ...jobCall(teamId, null, poorJob, null, 0), jobHoldSeconds: 60 }]);
      expect(await expectInvariants(teamId)).toMatchObject({ held: 1, holds: 1, remaining: 0 });
      expect(await jobRows(poorJob)).toMatchObject({ calls: 1, status: 'pending' });
    });

    it('two flushes on one lease that it cannot both pay: one applies, the other is leaseShort', async () => {
      const teamId = await team(100);
      const leaseId = await openLease(teamId, 10);
      const one = [entry(teamId, null, leaseId, 4), entry(teamId, null, leaseId, 3)];
      const two = [entry(teamId, null, leaseId, 5)];
      const [a, b] = await behind(
        lockRows(`SELECT 1 FROM credit_leases WHERE lease_id = $1 FOR UPDATE`, [leaseId]),
        () => [applyJournal(ds, one), applyJournal(ds2, two)],
      );
      const shorts = [a, b].filter((o) => o.leaseShort);
      expect(shorts).toHaveLength(1);
      const s = await expectInvariants(teamId);
      expect(s.used).toBe(a.leaseShort ? 5 : 7);
      expect(await lease(leaseId)).toMatchObject({ credits: 10 - s.used });
    });

    it('two replicas charging one team at once leave one consecutive ledger chain', async () => {
      const teamId = await team(100, 'consumption_usd');
      const la = await openLease(teamId, 20, 'replica-a');
      const lb = await openLease(teamId, 20, 'replica-b');
      const one = [entry(teamId, null, la, 4), entry(teamId, null, la, 3)];
      const two = [entry(teamId, null, lb, 5), entry(teamId, null, lb, 1)];
      await behind(lockRows(`SELECT 1 FROM teams WHERE team_id = $1 FOR UPDATE`, [teamId]), () => [
        applyJournal(ds, one),
        applyJournal(ds2, two),
      ]);
      expect(await expectInvariants(teamId)).toMatchObject({ used: 13, held: 27 });
      const ledger = await pg.query(
        `SELECT credits_amount::int AS amount, credits_before::int AS before, credits_after::int AS after
           FROM credit_transactions WHERE team_id = $1 ORDER BY credits_after DESC`,
        [teamId],
      );
      let balance = 0;
      for (const row of ledger.rows) {
        expect(row.before).toBe(balance);
        expect(row.after).toBe(balance + row.amount);
        balance = row.after;
      }
      expect(balance).toBe(100 - 13);
    });

    it('a top-up that commits while a flush waits on the lease: the flush charges the new credits', async () => {
      const teamId = await team(100);
      const leaseId = await openLease(teamId, 4);
      const batch = [entry(teamId, null, leaseId, 6)]; // more than the lease held at the snapshot
      const [outcome] = await behind(
        (tx) => grantLease(tx, request({ teamId, leaseId, credits: 3 })),
        () => [applyJournal(ds2, batch)],
        1,
      );
      expect(outcome).toMatchObject({ applied: ids(batch), leaseShort: false });
      expect(await lease(leaseId)).toMatchObject({ credits: 1 });
      expect(await expectInvariants(teamId)).toMatchObject({ used: 6, held: 1 });
    });

    it('a top-up that commits while the lease is being given back: all of it comes back', async () => {
      const teamId = await team(100);
      const leaseId = await openLease(teamId, 4);
      const [given] = await behind(
        (tx) => grantLease(tx, request({ teamId, leaseId, credits: 3 })),
        () => [returnLease(ds2, leaseId, null)],
        1,
      );
      expect(given).toBe(7);
      expect(await lease(leaseId)).toBeUndefined();
      expect(await expectInvariants(teamId)).toMatchObject({ held: 0, remaining: 100 });
    });
  });

  describe('settle', () => {
    /** A call's hold, as holdForCall leaves it: a credit_holds row counted in credits_held. */
    async function holdFor(teamId: string, credits: number) {
      const jobId = randomUUID();
      const rows = await pg.query(
        `WITH t AS (UPDATE teams SET credits_held = credits_held + $3 WHERE team_id = $1 RETURNING team_id)
         INSERT INTO credit_holds (team_id, job_id, credits, expires_at)
         SELECT team_id, $2, $3, now() + interval '1 minute' FROM t RETURNING hold_id`,
        [teamId, jobId, credits],
      );
      return { jobId, holdId: rows.rows[0].hold_id as string };
    }

    const settleCall = (teamId: string, call: { jobId: string; holdId: string }, due: number) =>
      settle(ds2, { teamId, keyId: null, ...call, due, reason: `LLM call ${call.jobId}` });

    const lockTeam = (tx: EntityManager, teamId: string) =>
      tx.query(`SELECT 1 FROM teams WHERE team_id = $1 FOR UPDATE`, [teamId]);

    it('a refill that commits while a settle waits on the team row: the settle charges the full amount due', async () => {
      const teamId = await team(10, 'consumption_usd');
      const call = await holdFor(teamId, 4);
      // 13 due: more than the 6 available + 4 released before the refill, less than after it
      const [settled] = await behind(
        async (tx) => {
          await lockTeam(tx, teamId);
          await grantCredits(tx, teamId, 20, 'refill', 'refill during a settle');
        },
        () => [settleCall(teamId, call, 13)],
        1,
      );
      expect(settled).toEqual({ charged: 13, released: 4, remaining: 17 });
      expect(await expectInvariants(teamId)).toMatchObject({
        allocated: 30,
        used: 13,
        held: 0,
        holds: 0,
        remaining: 17,
        ledger_sum: 17,
        ledger_rows: 3,
      });
      const deduction = await pg.query(
        `SELECT credits_amount::int AS amount, credits_before::int AS before, credits_after::int AS after
           FROM credit_transactions WHERE team_id = $1 AND transaction_type = 'deduction'`,
        [teamId],
      );
      expect(deduction.rows).toEqual([{ amount: -13, before: 30, after: 17 }]);
    });

    it('a refill that commits while a journal batch waits on the team row: the lost-lease entry is charged in full', async () => {
      const teamId = await team(10, 'consumption_usd');
      // 15 due against the balance (its lease is gone): more than the 10 before the refill
      const lost = entry(teamId, null, null, 15);
      const [outcome] = await behind(
        async (tx) => {
          await lockTeam(tx, teamId);
          await grantCredits(tx, teamId, 20, 'refill', 'refill during a journal batch');
        },
        () => [applyJournal(ds, [lost])],
        1,
      );
      expect(outcome.charged).toEqual({ [lost.job.job_id]: 15 });
      expect(await expectInvariants(teamId)).toMatchObject({
        allocated: 30,
        used: 15,
        held: 0,
        remaining: 15,
        ledger_sum: 15,
      });
    });

    it('a lease given back while a settle waits on the team row: the settle charges the full amount due', async () => {
      const teamId = await team(10, 'consumption_usd');
      const leaseId = await openLease(teamId, 6);
      const call = await holdFor(teamId, 4); // nothing left available
      // 8 due: more than the 4 released before the give-back, less than after it
      const [settled] = await behind(
        async (tx) => {
          await lockTeam(tx, teamId);
          await returnLease(tx, leaseId, null);
        },
        () => [settleCall(teamId, call, 8)],
        1,
      );
      expect(settled).toEqual({ charged: 8, released: 4, remaining: 2 });
      expect(await expectInvariants(teamId)).toMatchObject({
        allocated: 10,
        used: 8,
        held: 0,
        leases: 0,
        holds: 0,
        remaining: 2,
        ledger_sum: 2,
      });
    });
  });

  it('property: random grants, applies, returns, expiries, holds and refills keep the invariants', async () => {
    const teamId = await team(50, 'consumption_tokens');
    const keyId = await key(teamId);
    const rand = mulberry32(20260101);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
    const leases: string[] = [];
    const holds: Array<{ jobId: string; holdId: string }> = [];
    const counts: Record<string, number> = {};

    // an explicit job's calls go in batches beside one-call jobs (idempotent on the call id)
    const explicit = await explicitJob(teamId, keyId);
    const written: Array<Array<JournalEntry | JobCallEntry>> = [];
    // a job's first calls take its credit from the lease (moved to the job's hold, or given back)
    const fresh = [await explicitJob(teamId, keyId)];
    const apply = async (db: DataSource, leaseId: string) => {
      if (rand() < 0.2) fresh.push(await explicitJob(teamId, keyId));
      const batch = Array.from({ length: int(1, 4) }, () => {
        const k = rand();
        if (k < 0.15) {
          const jobId = pick(fresh.slice(-2)) ?? explicit;
          return { ...jobCall(teamId, null, jobId, leaseId, 0, int(0, 1)), jobHoldSeconds: 60 };
        }
        return k < 0.4
          ? jobCall(teamId, pick([keyId, null]) ?? null, explicit, leaseId, int(0, 6), int(0, 1))
          : entry(teamId, pick([keyId, null]) ?? null, leaseId, int(0, 6), { failures: int(0, 1) });
      });
      written.push(batch);
      const outcome = await applyJournal(db, batch);
      if (!outcome.leaseShort) return;
      for (const e of batch) await applyJournal(db, [{ ...e, leaseId: null }]);
    };

    for (let step = 0; step < 250; step++) {
      const before = await state(teamId);
      const op = pick([
        'grant',
        'topup',
        'apply',
        'return',
        'expire',
        'refill',
        'hold',
        'settle',
        'race',
        'reapply',
      ])!;
      counts[op] = (counts[op] ?? 0) + 1;
      switch (op) {
        case 'grant':
        case 'topup': {
          const leaseId = op === 'topup' ? (pick(leases) ?? null) : null;
          const grant = await grantLease(
            ds,
            request({ teamId, leaseId, credits: int(1, 25), keepFree: int(0, 10) }),
          );
          if (grant && leaseId === null) leases.push(grant.leaseId);
          if (!grant) expect(await state(teamId)).toEqual(before);
          break;
        }
        case 'apply': {
          const leaseId = pick(leases);
          if (leaseId) await apply(ds, leaseId);
          else await applyJournal(ds, [entry(teamId, keyId, null, int(0, 8))]);
          break;
        }
        case 'return': {
          const leaseId = pick(leases);
          if (!leaseId) break;
          const all = rand() < 0.4;
          await returnLease(ds, leaseId, all ? null : int(0, 10));
          if (all) leases.splice(leases.indexOf(leaseId), 1);
          break;
        }
        case 'expire': {
          const leaseId = pick(leases);
          if (!leaseId) break;
          await backdate(leaseId);
          await releaseExpiredLeases(ds);
          leases.splice(leases.indexOf(leaseId), 1);
          break;
        }
        case 'refill':
          await grantCredits(ds.manager, teamId, int(1, 30), 'refill', 'property refill');
          break;
        case 'hold': {
          const jobId = randomUUID();
          await pg.query(`INSERT INTO jobs (job_id, team_id, job_type) VALUES ($1, $2, 'held')`, [
            jobId,
            teamId,
          ]);
          const held = await holdForCall(ds, {
            jobId,
            teamId,
            promptTokens: int(1, 40000),
            completionTokens: 0,
            requiredCompletionTokens: 0,
            inputPricePerMillion: 0,
            outputPricePerMillion: 0,
            callHoldSeconds: 60,
            jobHoldSeconds: 60,
            budgetKeyId: null,
          });
          if (held.kind === 'held' && held.holdId) holds.push({ jobId, holdId: held.holdId });
          break;
        }
        case 'settle': {
          const hold = pick(holds);
          if (!hold) break;
          holds.splice(holds.indexOf(hold), 1);
          await settle(ds, {
            teamId,
            keyId,
            jobId: hold.jobId,
            holdId: hold.holdId,
            due: int(0, 6),
            reason: `LLM call ${hold.jobId}`,
          });
          break;
        }
        case 'reapply': {
          // a flush retried after its commit (or an adopter's twin): nothing moves
          const batch = pick(written);
          if (!batch) break;
          const outcome = await applyJournal(ds2, batch);
          expect(outcome.applied).toEqual([]);
          expect(await state(teamId)).toEqual(before);
          break;
        }
        case 'race': {
          // a sweep, a grant and an apply from two replicas at once
          const leaseId = pick(leases);
          if (leaseId && rand() < 0.5) await backdate(leaseId);
          await Promise.all([
            releaseExpiredLeases(ds2),
            grantLease(ds2, request({ teamId, leaseId: leaseId ?? null, credits: int(1, 10) })),
            leaseId ? apply(ds, leaseId) : Promise.resolve(),
          ]);
          const present = await pg.query(`SELECT lease_id FROM credit_leases WHERE team_id = $1`, [
            teamId,
          ]);
          leases.splice(0, leases.length, ...present.rows.map((r) => r.lease_id as string));
          break;
        }
      }
      await expectInvariants(teamId);
    }
    // every kind of step ran, and money actually moved
    expect(Object.keys(counts).sort()).toEqual(
      [
        'apply',
        'expire',
        'grant',
        'hold',
        'race',
        'reapply',
        'refill',
        'return',
        'settle',
        'topup',
      ].sort(),
    );
    const end = await expectInvariants(teamId);
    // every explicit-job call written once, charged as its row says
    const calls = await jobRows(explicit);
    expect(calls.calls).toBeGreaterThan(0);
    const ledger = await pg.query(
      `SELECT COALESCE(-sum(credits_amount), 0)::int AS n FROM credit_transactions WHERE job_id = $1`,
      [explicit],
    );
    expect(ledger.rows[0].n).toBe(calls.call_credits);
    expect(end.used).toBeGreaterThan(0);
    expect(end.ledger_rows).toBeGreaterThan(20);
  });
});

/** A small seeded PRNG, so a failing sequence replays exactly. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
