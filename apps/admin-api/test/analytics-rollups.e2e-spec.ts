import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { applyJournal, grantCredits, grantLease, settle } from '@app/billing';
import type { CallRecord, JournalEntry } from '@app/billing';
import { RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { call } from '../../../test/helpers/http';
import { RawUsageService } from './raw-usage';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** mulberry32: a small seeded generator, so a failing run can be replayed from its seed. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)];
  return { next, int, pick };
}

/**
 * The org analytics read daily rollups for whole UTC days and raw rows only for the partial days
 * at a range's edges; both routes must answer byte for byte what the raw rows give
 * (RawUsageService: the statements from before the rollups), over random data and random ranges
 * that start and end mid-day, and again after writes through the real writers (the journal's
 * batch, the exact settle, job status changes, a refund, a deleted job, a call that moves a job's
 * first day, a call that leaves a gap in a job's days).
 */
describe('admin-api analytics: rollups answer exactly what the raw rows give', () => {
  let admin: RunningApp;
  let db: DataSource;
  let raw: RawUsageService;
  const seed = Number(process.env.ROLLUPS_SEED ?? Date.now() % 1_000_000_007);
  const rnd = generator(seed);
  const orgId = uid('org-roll');
  const teams = [uid('ra'), uid('rb'), uid('rc'), uid('ridle')];
  const active = teams.slice(0, 3);
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  /** the data spans [start, end): four days before today, today and tomorrow */
  const start = today - 4 * DAY_MS;
  const end = today + 2 * DAY_MS;
  const models = [
    { name: 'm-one', requested: 'alias-one' },
    { name: 'm-two', requested: 'm-two' },
    { name: null, requested: 'm-one' }, // no deployment reached: the requested name counts
    { name: null, requested: 'only-requested' },
  ];
  const iso = (ms: number) => new Date(ms).toISOString();
  /** a random instant in [start, end), on a midnight now and then */
  const instant = () =>
    rnd.next() < 0.1
      ? start + rnd.int(0, 5) * DAY_MS
      : start + Math.floor(rnd.next() * (end - start));

  beforeAll(async () => {
    admin = await startAdmin();
    db = admin.app.get(DataSource);
    raw = new RawUsageService(db);
    await db.query(`INSERT INTO organizations (organization_id, name) VALUES ($1, 'Rollups')`, [
      orgId,
    ]);
    for (const teamId of teams) {
      await db.query(
        `INSERT INTO teams (team_id, organization_id, team_alias, budget_mode)
         VALUES ($1, $2, $1, 'job_based')`,
        [teamId, orgId],
      );
      await grantCredits(db.manager, teamId, 1_000_000, 'allocation', 'initial');
    }
  });
  afterAll(() => admin.close());

  /** Inserts rows from JSON records in ONE statement (one trigger run for all of them). */
  async function insert(table: string, columns: string, rows: object[]): Promise<void> {
    if (rows.length === 0) return;
    const names = columns
      .split(',')
      .map((c) => c.trim().split(' ')[0])
      .join(', ');
    await db.query(
      `INSERT INTO ${table} (${names}) SELECT ${names} FROM jsonb_to_recordset($1::jsonb) AS r(${columns})`,
      [JSON.stringify(rows)],
    );
  }

  const JOB_COLUMNS = `job_id uuid, team_id text, job_type text, status text, created_at timestamptz`;
  const CALL_COLUMNS = `job_id uuid, team_id text, model_requested text, model_name text,
    prompt_tokens int, completion_tokens int, total_tokens int, provider_cost_usd numeric,
    client_cost_usd numeric, credits_charged bigint, latency_ms int, status text,
    created_at timestamptz`;
  const LEDGER_COLUMNS = `team_id text, job_id uuid, transaction_type text, credits_amount bigint,
    credits_before bigint, credits_after bigint, reason text, created_at timestamptz`;

  function randomCall(jobId: string, teamId: string, at: number) {
    const m = rnd.pick(models);
    const [p, c] = [rnd.int(0, 900), rnd.int(0, 400)];
    return {
      job_id: jobId,
      team_id: teamId,
      model_requested: m.requested,
      model_name: m.name,
      prompt_tokens: p,
      completion_tokens: c,
      total_tokens: p + c,
      // ten decimals, as the column keeps them: float addition would round these
      provider_cost_usd: (rnd.int(0, 10_000_000) / 1e10).toFixed(10),
      client_cost_usd: (rnd.int(0, 20_000_000) / 1e10).toFixed(10),
      credits_charged: rnd.int(0, 3),
      latency_ms: rnd.int(1, 5000),
      status: rnd.pick(['success', 'success', 'success', 'error', 'timeout']),
      created_at: iso(at),
    };
  }

  /** Random history: jobs, their calls (some crossing midnight or days later), ledger rows. */
  async function seedHistory(jobCount: number): Promise<string[]> {
    const jobs = Array.from({ length: jobCount }, () => ({
      job_id: randomUUID(),
      team_id: rnd.pick(active),
      job_type: 't',
      status: rnd.pick(['pending', 'in_progress', 'completed', 'completed', 'failed']),
      created_at: iso(instant()),
    }));
    const calls = jobs.flatMap((j) =>
      Array.from({ length: rnd.int(0, 5) }, () => {
        const base = Date.parse(j.created_at);
        const at = Math.min(end - 1, base + rnd.int(-2 * HOUR_MS, 40 * HOUR_MS));
        return randomCall(j.job_id, j.team_id, at);
      }),
    );
    const ledger = jobs
      .filter(() => rnd.next() < 0.7)
      .map((j) => {
        const type = rnd.pick(['deduction', 'deduction', 'deduction', 'refund', 'adjustment']);
        const amount = type === 'deduction' ? -rnd.int(0, 5) : rnd.int(1, 5);
        return {
          team_id: j.team_id,
          job_id: j.job_id,
          transaction_type: type,
          credits_amount: amount,
          credits_before: 0,
          credits_after: amount,
          reason: 'history',
          created_at: iso(Math.min(end - 1, Date.parse(j.created_at) + rnd.int(0, 3 * HOUR_MS))),
        };
      });
    // jobs in two statements, calls in three, ledger rows in two: several trigger runs each
    const thirds = (xs: object[], n: number) =>
      Array.from({ length: n }, (_, i) => xs.filter((_, k) => k % n === i));
    for (const part of thirds(jobs, 2)) await insert('jobs', JOB_COLUMNS, part);
    for (const part of thirds(calls, 3)) await insert('llm_calls', CALL_COLUMNS, part);
    for (const part of thirds(ledger, 2)) await insert('credit_transactions', LEDGER_COLUMNS, part);
    return jobs.map((j) => j.job_id);
  }

  /** Ranges: fixed shapes (unbounded, whole days, inside one day, across one midnight), random ones. */
  function ranges(): Array<{ from?: string; to?: string }> {
    const date = (ms: number) => iso(ms).slice(0, 10);
    const fixed: Array<{ from?: string; to?: string }> = [
      {},
      { from: date(start + DAY_MS) },
      { to: date(today) },
      { from: date(start + DAY_MS), to: date(today) },
      { from: iso(today + 3 * HOUR_MS), to: iso(today + 9 * HOUR_MS) },
      { from: iso(today - 5 * HOUR_MS), to: iso(today + 2 * HOUR_MS) },
      { from: iso(start + 13 * HOUR_MS), to: iso(today + 7 * HOUR_MS) },
      { to: iso(today - DAY_MS + 12 * HOUR_MS) },
      { from: iso(today - 2 * DAY_MS + 1) },
      { from: iso(today), to: iso(today) },
    ];
    const random = Array.from({ length: 10 }, () => {
      const [a, b] = [instant(), instant()].sort((x, y) => x - y);
      const shape = (ms: number) => (rnd.next() < 0.25 ? date(ms) : iso(ms));
      const r: { from?: string; to?: string } = {};
      if (rnd.next() < 0.9) r.from = shape(a);
      if (rnd.next() < 0.9) r.to = shape(b);
      if (r.from && r.to && Date.parse(r.from) > Date.parse(r.to)) delete r.to;
      return r;
    });
    return [...fixed, ...random];
  }

  async function expectSameAnswers(stage: string): Promise<void> {
    for (const range of ranges()) {
      const query = new URLSearchParams(range as Record<string, string>).toString();
      const context = `${stage}, seed ${seed}, range ${JSON.stringify(range)}`;
      const analytics = await call(
        admin.url,
        'GET',
        `/api/jobs/organizations/${orgId}/analytics?${query}`,
        { admin: true },
      );
      const usage = await call(admin.url, 'GET', `/api/organizations/${orgId}/usage?${query}`, {
        admin: true,
      });
      expect({ context, status: analytics.status }).toEqual({ context, status: 200 });
      expect({ context, status: usage.status }).toEqual({ context, status: 200 });
      const want = {
        analytics: await raw.organizationAnalytics(orgId, range.from, range.to),
        usage: await raw.organizationUsage(orgId, range.from, range.to),
      };
      expect({
        context,
        answer: JSON.stringify({ analytics: analytics.body, usage: usage.body }),
      }).toEqual({ context, answer: JSON.stringify(want) });
    }
  }

  /** The rollup rows equal a direct aggregate of the raw rows of these teams. */
  async function expectRollupsExact(): Promise<void> {
    const DAY = `date_bin('1 day', created_at, '2000-01-01 00:00:00+00')`;
    const pairs: Array<{ rollup: string; direct: string; keys: string }> = [
      {
        keys: 'team_id, day, model',
        rollup: `SELECT team_id, day, model, calls, failed_calls, prompt_tokens, completion_tokens, tokens,
                cost_usd, provider_cost_usd, call_credits, latency_ms, first_jobs
           FROM analytics_call_days`,
        direct: `SELECT team_id, ${DAY} AS day,
                COALESCE(model_name, model_requested) AS model, count(*) AS calls,
                count(*) FILTER (WHERE status <> 'success') AS failed_calls,
                sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
                sum(total_tokens) AS tokens, sum(client_cost_usd) AS cost_usd,
                sum(provider_cost_usd) AS provider_cost_usd, sum(credits_charged) AS call_credits,
                sum(latency_ms) AS latency_ms,
                count(DISTINCT job_id) FILTER (WHERE first) AS first_jobs
           FROM (SELECT c.*, ${DAY}
                             = min(${DAY})
                               OVER (PARTITION BY team_id, COALESCE(model_name, model_requested), job_id)
                             AS first
                   FROM llm_calls c) c`,
      },
      {
        keys: 'team_id, model, job_id',
        rollup: `SELECT team_id, model, job_id, first_day, last_day, calls FROM analytics_model_jobs`,
        direct: `SELECT team_id, COALESCE(model_name, model_requested) AS model, job_id,
                min(${DAY}) AS first_day,
                max(${DAY}) AS last_day,
                count(*) AS calls
           FROM llm_calls`,
      },
      {
        keys: 'team_id, day',
        rollup: `SELECT team_id, day, sum(jobs)::bigint AS jobs,
                        sum(jobs_completed)::bigint AS jobs_completed,
                        sum(jobs_failed)::bigint AS jobs_failed
                   FROM analytics_job_days GROUP BY team_id, day HAVING sum(jobs) > 0`,
        direct: `SELECT team_id, ${DAY} AS day,
                count(*) AS jobs, count(*) FILTER (WHERE status = 'completed') AS jobs_completed,
                count(*) FILTER (WHERE status = 'failed') AS jobs_failed
           FROM jobs`,
      },
      {
        keys: 'team_id, day',
        rollup: `SELECT team_id, day, deductions, credits FROM analytics_deduction_days`,
        direct: `SELECT team_id, ${DAY} AS day,
                count(*) AS deductions, sum(-credits_amount) AS credits
           FROM credit_transactions WHERE transaction_type = 'deduction'`,
      },
    ];
    for (const { rollup, direct, keys } of pairs) {
      const rows = (sql: string) =>
        db.query(`SELECT * FROM (${sql}) x WHERE team_id = ANY($1) ORDER BY ${keys}`, [teams]);
      const [got, want] = await Promise.all([rows(rollup), rows(`${direct} GROUP BY ${keys}`)]);
      expect({ rollup, rows: got }).toEqual({ rollup, rows: want });
    }
  }

  function attempt(jobId: string, teamId: string, n: number, over: Partial<CallRecord> = {}) {
    const m = rnd.pick(models);
    const record: CallRecord = {
      call_id: randomUUID(),
      job_id: jobId,
      team_id: teamId,
      key_id: null,
      model_requested: m.requested,
      model_name: m.name,
      model_id: null,
      provider: 'openai',
      provider_model: 'x',
      attempt: n,
      prompt_tokens: rnd.int(0, 500),
      completion_tokens: 7,
      total_tokens: 0,
      cached_tokens: 0,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      provider_cost_usd: 0.0000012345,
      client_cost_usd: 0.0000023456,
      input_price_per_million: 1,
      output_price_per_million: 2,
      markup_percentage: 0,
      latency_ms: rnd.int(1, 900),
      status: n === 1 ? 'error' : 'success',
      error_class: null,
      error_message: null,
      purpose: null,
      streamed: false,
      finish_reason: 'stop',
      call_metadata: {},
      charged: n > 1,
      ...over,
    };
    return { ...record, total_tokens: record.prompt_tokens + record.completion_tokens };
  }

  it('over random history, for ranges that start and end mid-day', async () => {
    await seedHistory(120);
    await expectRollupsExact();
    await expectSameAnswers('history');
  });

  it('and after writes through the journal, the exact settle, status changes and more', async () => {
    const [a, b] = active;
    const history = await seedHistory(40);

    // the gateway's journal: one statement for a batch of one-call jobs of two teams
    const lease = async (teamId: string) =>
      (await grantLease(db, {
        teamId,
        replicaId: 'rollups',
        leaseId: null,
        credits: 50,
        keepFree: 0,
        ttlSeconds: 60,
      }))!.leaseId;
    const leases = { [a]: await lease(a), [b]: await lease(b) };
    const entry = (teamId: string, createdAt: number, charge: number): JournalEntry => {
      const jobId = randomUUID();
      return {
        job: {
          job_id: jobId,
          team_id: teamId,
          key_id: null,
          job_type: 'chat',
          user_id: null,
          metadata: {},
          status: charge > 0 ? 'completed' : 'failed',
          error_message: null,
          created_at: iso(createdAt),
          started_at: iso(createdAt),
          completed_at: iso(createdAt),
        },
        leaseId: leases[teamId],
        charge,
        reason: `Job ${jobId}`,
        calls: [attempt(jobId, teamId, 1), attempt(jobId, teamId, 2)],
      };
    };
    const batch = [
      entry(a, today - 1, 1), // created a millisecond before midnight, its calls today
      entry(b, Date.now(), 2),
      entry(a, Date.now(), 0),
      entry(b, today - DAY_MS + 5 * HOUR_MS, 3),
    ];
    expect((await applyJournal(db, batch)).applied).toHaveLength(batch.length);

    // the exact path: a pending job, a settle that writes the call rows and the deduction,
    // then the completion's status change (and a metadata-only update, which moves nothing)
    const [{ job_id: exactJob }] = await db.query(
      `INSERT INTO jobs (team_id, job_type) VALUES ($1, 'exact') RETURNING job_id`,
      [a],
    );
    await db.query(`UPDATE jobs SET status = 'in_progress' WHERE job_id = $1`, [exactJob]);
    await settle(db, {
      teamId: a,
      keyId: null,
      jobId: exactJob,
      due: 4,
      reason: `Job ${exactJob} completed`,
      calls: [attempt(exactJob, a, 1), attempt(exactJob, a, 2)],
    });
    await db.query(`UPDATE jobs SET status = 'completed', completed_at = now() WHERE job_id = $1`, [
      exactJob,
    ]);
    await db.query(`UPDATE jobs SET metadata = '{"k": 1}' WHERE job_id = $1`, [exactJob]);
    // several jobs change status in one statement
    await db.query(
      `UPDATE jobs SET status = CASE WHEN status = 'failed' THEN 'completed' ELSE 'failed' END
        WHERE job_id = ANY($1)`,
      [history.slice(0, 10)],
    );
    // a refund is not a deduction
    await grantCredits(db.manager, b, 3, 'refund', 'refund');
    // a job without calls or ledger rows deleted
    const [{ job_id: doomed }] = await db.query(
      `INSERT INTO jobs (team_id, job_type, status, created_at) VALUES ($1, 't', 'completed', $2)
       RETURNING job_id`,
      [b, iso(today - 3 * DAY_MS + HOUR_MS)],
    );
    await db.query(`DELETE FROM jobs WHERE job_id = $1`, [doomed]);
    // a late call moves a job's first day back; another leaves a gap of days in a job's calls
    const [late] = await db.query(
      `SELECT job_id, model_name, model_requested FROM llm_calls
        WHERE team_id = $1 AND created_at >= $2 ORDER BY created_at LIMIT 1`,
      [a, iso(today)],
    );
    const model = { model_name: late.model_name, model_requested: late.model_requested };
    await insert('llm_calls', CALL_COLUMNS, [
      { ...randomCall(late.job_id, a, start + 7 * HOUR_MS), ...model },
    ]);
    await insert('llm_calls', CALL_COLUMNS, [
      { ...randomCall(late.job_id, a, end - HOUR_MS), ...model },
    ]);

    await expectRollupsExact();
    await expectSameAnswers('after writes');
  });

  it('refuses to update or delete calls and ledger rows (the rollups count each once)', async () => {
    for (const sql of [
      `UPDATE llm_calls SET latency_ms = latency_ms + 1 WHERE team_id = $1`,
      `DELETE FROM llm_calls WHERE team_id = $1`,
      `UPDATE credit_transactions SET reason = 'x' WHERE team_id = $1`,
      `DELETE FROM credit_transactions WHERE team_id = $1`,
    ]) {
      await expect(db.query(sql, [active[0]])).rejects.toThrow(/append-only/);
    }
    await expectRollupsExact();
  });
});
