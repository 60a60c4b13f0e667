import { setTimeout as sleep } from 'node:timers/promises';
import { RunningApp, startGateway } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import {
  requestRoundTrips,
  requestStatements,
  statements,
} from '../../../test/helpers/round-trips';
import { hello, World } from './gateway-fixtures';

/** Each call costs exactly 1 credit (ceil(tokens / 1,000,000)). */
const ONE_PER_CALL = { budget_mode: 'consumption_tokens', tokens_per_credit: 1_000_000 } as const;

/** Lease grants for `teamId` made by this process from now on (its background statements). */
const grantsOf = (teamId: string) =>
  statements((text, values) => /INSERT INTO credit_leases/.test(text) && values[0] === teamId);

/**
 * Steady teams on credit leases (docs/design/metering.md, "Who gets a lease"): on the default
 * settings a team calling a few times a second — far under LEASE_MIN_CALLS_PER_SECOND — is leased
 * from its second call within LEASE_IDLE_MS, and a team calling rarely is never leased.
 */
describe('steady teams are leased on the default settings', () => {
  let w: World;
  let model: string;
  let group: string;

  beforeAll(async () => {
    w = await World.start();
    ({ model, group } = await w.modelInGroup());
  });
  afterAll(() => w.stop());

  const leaseRows = async (teamId: string) =>
    (
      await w.pg.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM credit_leases WHERE team_id = $1',
        [teamId],
      )
    ).rows[0].n;

  const v1 = (replica: RunningApp, key: string) =>
    call(replica.url, 'POST', '/v1/chat/completions', {
      bearer: key,
      body: { model, messages: hello, max_tokens: 5 },
    });

  /** A streamed /v1 call, read to its end; the status and whether it ended with [DONE]. */
  async function v1Stream(replica: RunningApp, key: string) {
    const res = await fetch(`${replica.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: hello, max_tokens: 5, stream: true }),
    });
    const text = await res.text();
    return { status: res.status, done: text.includes('data: [DONE]') };
  }

  it('a team calling ~3 times a second: from its third call, /v1, streams and job calls make no synchronous PostgreSQL round trip; books exact', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 1000, ...ONE_PER_CALL });
    const grants = grantsOf(teamId);
    try {
      // its first call: no demand yet, the exact path (a hold and a settle), no grant
      const first = requestRoundTrips();
      expect((await v1(w.gateway, key)).status).toBe(200);
      expect(first.count()).toBeGreaterThanOrEqual(2);
      expect(grants.count()).toBe(0);
      await sleep(300);
      // its second call within LEASE_IDLE_MS: still exact, and it starts the grant
      expect((await v1(w.gateway, key)).status).toBe(200);
      await eventually(async () => (await leaseRows(teamId)) === 1, 5000);

      const job = await call<{ job_id: string }>(w.gateway.url, 'POST', '/api/jobs/create', {
        bearer: key,
        body: { job_type: 'explicit' },
      });
      expect(job.status).toBe(201);
      let calls = 2;
      const trips = requestStatements();
      for (let i = 0; i < 4; i++) {
        await sleep(300);
        expect((await v1(w.gateway, key)).status).toBe(200);
        await sleep(300);
        expect(await v1Stream(w.gateway, key)).toEqual({ status: 200, done: true });
        await sleep(300);
        const res = await call(w.gateway.url, 'POST', `/api/jobs/${job.body.job_id}/llm-call`, {
          bearer: key,
          body: { model, messages: hello, max_tokens: 5 },
        });
        expect(res.status).toBe(200);
        calls += 3;
      }
      trips.stop();
      // no hold, settle or job row on the request path, and no catalog reload either (the
      // catalog past half its lifetime reloads in the background while calls go on)
      expect(trips.texts()).toEqual([]);
      // one grant, then refills sized to two seconds of its spend (off the request path)
      expect(grants.count()).toBeGreaterThanOrEqual(1);

      const done = await call(w.gateway.url, 'POST', `/api/jobs/${job.body.job_id}/complete`, {
        bearer: key,
        body: { status: 'completed' },
      });
      expect(done.status).toBe(200);
      expect(done.body.costs).toMatchObject({ total_calls: 4, credits_charged: 4 });
      // the lease goes back after LEASE_IDLE_MS (5 s) without calls; the journal is written
      const row = await w.settled(teamId, 15_000);
      expect(row).toMatchObject({ allocated: 1000, used: calls, held: 0 });
      expect(row.ledger_sum).toBe(row.allocated - row.used);
      const deductions = await w.pg.query<{ n: number; calls: number }>(
        `SELECT (SELECT count(*)::int FROM credit_transactions
                  WHERE team_id = $1 AND transaction_type = 'deduction') AS n,
                (SELECT count(*)::int FROM llm_calls WHERE team_id = $1 AND status = 'success') AS calls`,
        [teamId],
      );
      expect(deductions.rows[0]).toEqual({ n: calls, calls });
    } finally {
      grants.stop();
    }
  }, 60_000);

  it('a team calling less often than LEASE_IDLE_MS is never leased: every call exact, no grant and return per call', async () => {
    // the same rule with a shorter idle period, so the test need not wait minutes between calls
    const quick = await startGateway({ LEASE_IDLE_MS: '400' });
    const { teamId, key } = await w.team({ groups: [group], credits: 100 });
    const grants = grantsOf(teamId);
    try {
      for (let i = 0; i < 4; i++) {
        if (i > 0) await sleep(700);
        const trips = requestRoundTrips();
        expect((await v1(quick, key)).status).toBe(200);
        expect(trips.count()).toBeGreaterThanOrEqual(2);
      }
      expect(grants.count()).toBe(0);
      expect(await leaseRows(teamId)).toBe(0);
      expect(await w.team_row(teamId)).toMatchObject({ used: 4, held: 0, ledger_sum: 96 });
      // the control: two calls within the idle period do take a lease
      expect((await v1(quick, key)).status).toBe(200);
      await eventually(() => Promise.resolve(grants.count() === 1), 5000);
      expect((await w.settled(teamId)).used).toBe(5);
    } finally {
      grants.stop();
      await quick.close();
    }
  }, 30_000);
});

/**
 * A lease now outlives a pause of seconds, so giving it back cannot wait for idleness: an admin's
 * suspension, key revocation, key expiry or budget change gives the team's leases back on every
 * replica at once. The idle period here is a minute: without the explicit release each test
 * would wait for it, and fail.
 */
describe('leases go back on admin changes, not on idleness', () => {
  const LONG_IDLE = { LEASE_IDLE_MS: '60000' };
  let w: World;
  let replicas: RunningApp[];
  let group: string;
  let model: string;

  beforeAll(async () => {
    w = await World.start(LONG_IDLE);
    replicas = [w.gateway, await startGateway(LONG_IDLE)];
    ({ model, group } = await w.modelInGroup());
  });
  afterAll(async () => {
    await replicas[1].close();
    await w.stop();
  });

  const v1 = (replica: RunningApp, key: string) =>
    call(replica.url, 'POST', '/v1/chat/completions', {
      bearer: key,
      body: { model, messages: hello, max_tokens: 5 },
    });

  /** Three calls on each replica: both lease the team (its second call there starts the grant). */
  async function leasedOnBoth(teamId: string, key: string): Promise<number> {
    for (const replica of replicas) {
      for (let i = 0; i < 3; i++) expect((await v1(replica, key)).status).toBe(200);
    }
    await eventually(async () => {
      const rows = await w.pg.query<{ n: number }>(
        'SELECT count(DISTINCT replica_id)::int AS n FROM credit_leases WHERE team_id = $1',
        [teamId],
      );
      return rows.rows[0].n === 2;
    }, 5000);
    return 6;
  }

  async function settledBooks(teamId: string) {
    const row = await w.settled(teamId);
    expect(row.ledger_sum).toBe(row.allocated - row.used);
    return row;
  }

  it('suspension: refused within 1 s on every replica, and both replicas give the lease back', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 100 });
    const used = await leasedOnBoth(teamId, key);
    const res = await call(w.admin.url, 'PUT', `/api/teams/${teamId}/suspend`, { admin: true });
    expect(res.status).toBe(200);
    for (const replica of replicas) {
      await eventually(async () => (await v1(replica, key)).status === 403, 1000);
    }
    expect(await settledBooks(teamId)).toMatchObject({ allocated: 100, used, held: 0 });
  });

  it('a key revoked: refused within 1 s, and the team’s leases go back', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 100 });
    const used = await leasedOnBoth(teamId, key);
    const keys = await call<{ data: Array<{ key_id: string }> }>(
      w.admin.url,
      'GET',
      `/api/teams/${teamId}/keys`,
      { admin: true },
    );
    expect(keys.body.data).toHaveLength(1);
    const res = await call(w.admin.url, 'DELETE', `/api/keys/${keys.body.data[0].key_id}`, {
      admin: true,
    });
    expect(res.status).toBe(200);
    for (const replica of replicas) {
      await eventually(async () => (await v1(replica, key)).status === 401, 1000);
    }
    expect(await settledBooks(teamId)).toMatchObject({ allocated: 100, used, held: 0 });
  });

  it('a key expired: refused, and the lease its calls used goes back without waiting to be idle', async () => {
    const { teamId } = await w.team({ groups: [group], credits: 100 });
    const created = await call<{ virtual_key: string; expires_at: string }>(
      w.admin.url,
      'POST',
      `/api/teams/${teamId}/keys`,
      { admin: true, body: { duration: '3s' } },
    );
    expect(created.status).toBe(201);
    const key = created.body.virtual_key;
    let used = await leasedOnBoth(teamId, key);
    await eventually(async () => {
      const res = await v1(replicas[0], key);
      if (res.status === 200) used += 1; // served (and charged) until the key expired
      return res.status === 401;
    }, 6000);
    expect(await settledBooks(teamId)).toMatchObject({ allocated: 100, used, held: 0 });
  });

  it('a budget mode change: the leases go back and the next calls are charged in the new mode', async () => {
    const { teamId, key } = await w.team({ groups: [group], credits: 1000 });
    const used = await leasedOnBoth(teamId, key);
    const res = await call(w.admin.url, 'PATCH', `/api/credits/teams/${teamId}/budget-mode`, {
      admin: true,
      body: { budget_mode: 'consumption_tokens', tokens_per_credit: 1 },
    });
    expect(res.status).toBe(200);
    expect(await settledBooks(teamId)).toMatchObject({ allocated: 1000, used, held: 0 });
    // now one credit a token: the calls' tokens, not one credit a job
    for (let i = 0; i < 3; i++) expect((await v1(replicas[0], key)).status).toBe(200);
    await eventually(async () => {
      const rows = await w.pg.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM credit_leases WHERE team_id = $1',
        [teamId],
      );
      return rows.rows[0].n === 1;
    }, 5000);
    expect((await v1(replicas[0], key)).status).toBe(200);
    const suspended = await call(w.admin.url, 'PUT', `/api/teams/${teamId}/suspend`, {
      admin: true,
    });
    expect(suspended.status).toBe(200);
    const row = await settledBooks(teamId);
    // the 4 calls after the change, newest first: each charged its tokens
    const after = await w.pg.query<{ tokens: number; charged: number }>(
      `SELECT total_tokens AS tokens, credits_charged::int AS charged FROM llm_calls
        WHERE team_id = $1 ORDER BY created_at DESC LIMIT 4`,
      [teamId],
    );
    const tokens = after.rows.reduce((sum, r) => sum + r.tokens, 0);
    expect(after.rows.every((r) => r.tokens > 1 && r.charged === r.tokens)).toBe(true);
    expect(row.used).toBe(used + tokens);
  });
});
