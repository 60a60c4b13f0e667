import { hashVirtualKey } from '../../../libs/auth/src';
import { ExpiringMap, KeyCacheService } from '../../../libs/cache/src';
import { RunningApp, startGateway } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { hello, World } from './gateway-fixtures';

describe('credits, budgets and the job sweep', () => {
  let w: World;
  let second: RunningApp | undefined;

  beforeAll(async () => {
    w = await World.start({ JOB_TTL: '2s', JOB_SWEEP_INTERVAL_MS: '250' });
  });
  afterAll(async () => {
    await second?.close();
    await w.stop();
  });
  beforeEach(() => w.fake.reset());

  it('refuses the first call of a team without credits (403) with no upstream request', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 0 });
    const job = await w.gw('POST', '/api/jobs/create', key, { job_type: 'x' });
    expect(job.status).toBe(201);
    const before = w.fake.requests.length;
    const res = await w.gw('POST', `/api/jobs/${job.body.job_id}/llm-call`, key, {
      model,
      messages: hello,
    });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ detail: 'Insufficient credits', code: 'INSUFFICIENT_CREDITS' });
    expect(w.fake.requests.length).toBe(before);
    expect((await w.gw('GET', `/api/jobs/${job.body.job_id}`, key)).body.status).toBe('pending');
    expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 0, holds: 0 });
  });

  it('refuses a consumption call whose estimate exceeds the balance', async () => {
    const { model, group } = await w.modelInGroup({ input: 1000, output: 1000 });
    const { key } = await w.team({
      groups: [group],
      credits: 2,
      budget_mode: 'consumption_usd',
      credits_per_dollar: 1000,
    });
    const before = w.fake.requests.length;
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
      max_tokens: 2000,
    });
    expect(res.status).toBe(403);
    expect(w.fake.requests.length).toBe(before);
  });

  it('asks the provider for no more answer than a low balance pays for when max_tokens is unset', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({
      groups: [group],
      credits: 3,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 10,
    });
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(res.status).toBe(200);
    const sent = w.fake.requests.at(-1)!.body as { max_tokens?: number };
    const prompt = res.body.metadata.prompt_tokens as number;
    // 3 credits × 10 tokens pay for 30 tokens in all: the prompt estimate, the rest is answer
    expect(sent.max_tokens).toBeGreaterThan(0);
    expect(sent.max_tokens).toBeLessThanOrEqual(30 - Math.min(prompt, 29));
    const row = await w.team_row(teamId);
    expect(row).toMatchObject({ held: 0, holds: 0, ledger_sum: row.allocated - row.used });
    expect(row.used).toBeLessThanOrEqual(3);

    // a team that can pay the full estimate is not capped
    const rich = await w.team({
      groups: [group],
      credits: 1_000_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 10,
    });
    expect(
      (
        await w.gw('POST', '/api/jobs/create-and-call', rich.key, {
          job_type: 'x',
          model,
          messages: hello,
        })
      ).status,
    ).toBe(200);
    expect(w.fake.requests.at(-1)!.body).not.toHaveProperty('max_tokens');
  });

  it('an admin edit of the budget settings between two calls of a job prices the next call at once', async () => {
    // the gateway's hold reuses the settings its last hold saw: a change must void them
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({
      groups: [group],
      credits: 1_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 10,
    });
    const job = await w.gw('POST', '/api/jobs/create', key, { job_type: 'x' });
    const charges = async () =>
      (
        await w.pg.query<{ credits: number; tokens: number }>(
          `SELECT credits_charged::int AS credits, total_tokens AS tokens
             FROM llm_calls WHERE job_id = $1 ORDER BY created_at`,
          [job.body.job_id],
        )
      ).rows;
    const first = await w.gw('POST', `/api/jobs/${job.body.job_id}/llm-call`, key, {
      model,
      messages: hello,
    });
    expect(first.status).toBe(200);
    const edit = await call(w.admin.url, 'PATCH', `/api/teams/${teamId}`, {
      admin: true,
      body: { tokens_per_credit: 1 },
    });
    expect(edit.status).toBe(200);
    const second = await w.gw('POST', `/api/jobs/${job.body.job_id}/llm-call`, key, {
      model,
      messages: hello,
    });
    expect(second.status).toBe(200);
    const [a, b] = await charges();
    expect(a.credits).toBe(Math.ceil(a.tokens / 10));
    expect(b.credits).toBe(b.tokens); // one credit per token now, not the cached 10
    expect(b.credits).toBeGreaterThan(a.credits);
  });

  it('starts a fresh key budget window once budget_duration has passed', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId } = await w.team({ groups: [group], credits: 20 });
    const created = await call(w.admin.url, 'POST', `/api/teams/${teamId}/keys`, {
      admin: true,
      body: { key_alias: 'windowed', max_budget: 1, budget_duration: '2s' },
    });
    const key = created.body.virtual_key as string;
    const job = () =>
      w.gw('POST', '/api/jobs/create-and-call', key, { job_type: 'x', model, messages: hello });
    expect((await job()).status).toBe(200);
    expect((await job()).body.code).toBe('KEY_BUDGET_EXCEEDED');
    // the window has passed: moved back in SQL rather than waited for
    await w.pg.query(
      `UPDATE virtual_keys SET budget_window_start = budget_window_start - interval '2 seconds'
        WHERE key_id = $1`,
      [created.body.key_id],
    );
    expect((await job()).status).toBe(200); // a new window: spend back to 0
    expect((await job()).body.code).toBe('KEY_BUDGET_EXCEEDED');
    const spend = await w.pg.query(
      'SELECT spend::int, total_spend::int FROM virtual_keys WHERE key_id = $1',
      [created.body.key_id],
    );
    expect(spend.rows[0]).toEqual({ spend: 1, total_spend: 2 });
    expect(await w.team_row(teamId)).toMatchObject({ used: 2, held: 0, holds: 0 });
  });

  it('caps a key by its max_budget', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId } = await w.team({ groups: [group], credits: 20 });
    const created = await call(w.admin.url, 'POST', `/api/teams/${teamId}/keys`, {
      admin: true,
      body: { key_alias: 'capped', max_budget: 2, budget_duration: '30d' },
    });
    expect(created.status).toBe(201);
    const key = created.body.virtual_key as string;
    for (let i = 0; i < 2; i++) {
      const ok = await w.gw('POST', '/api/jobs/create-and-call', key, {
        job_type: 'x',
        model,
        messages: hello,
      });
      expect(ok.status).toBe(200);
    }
    const before = w.fake.requests.length;
    const over = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(over.status).toBe(403);
    expect(over.body.code).toBe('KEY_BUDGET_EXCEEDED');
    expect(w.fake.requests.length).toBe(before);
    const spend = await w.pg.query(
      'SELECT spend::int, spend_held::int, total_spend::int FROM virtual_keys WHERE key_id = $1',
      [created.body.key_id],
    );
    expect(spend.rows[0]).toEqual({ spend: 2, spend_held: 0, total_spend: 2 });
    expect(await w.team_row(teamId)).toMatchObject({ used: 2, held: 0 });
  });

  it('sizes a call to what is left of its key budget, and refuses once even a short answer does not fit', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId } = await w.team({
      groups: [group],
      credits: 1_000_000,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 10,
    });
    const created = await call(w.admin.url, 'POST', `/api/teams/${teamId}/keys`, {
      admin: true,
      body: { key_alias: 'small', max_budget: 3, budget_duration: '30d' },
    });
    const key = created.body.virtual_key as string;
    // the full estimate (4096 answer tokens ≈ 410 credits) is far above the key's 3 credits
    const first = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(first.status).toBe(200);
    const sent = w.fake.requests.at(-1)!.body as { max_tokens?: number };
    expect(sent.max_tokens).toBeGreaterThan(0);
    expect(sent.max_tokens).toBeLessThan(30);
    let last = first;
    for (let i = 0; i < 5 && last.status === 200; i++) {
      last = await w.gw('POST', '/api/jobs/create-and-call', key, {
        job_type: 'x',
        model,
        messages: hello,
      });
    }
    expect(last.status).toBe(403);
    expect(last.body.code).toBe('KEY_BUDGET_EXCEEDED');
    const spend = await w.pg.query(
      'SELECT spend::int, spend_held::int FROM virtual_keys WHERE key_id = $1',
      [created.body.key_id],
    );
    expect(spend.rows[0].spend_held).toBe(0);
    expect(spend.rows[0].spend).toBeLessThanOrEqual(3);
  });

  it('a rotated key in its grace period spends the same budget as its successor', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId } = await w.team({ groups: [group], credits: 20 });
    const created = await call(w.admin.url, 'POST', `/api/teams/${teamId}/keys`, {
      admin: true,
      body: { key_alias: 'rotating', max_budget: 3, budget_duration: '30d' },
    });
    const oldKey = created.body.virtual_key as string;
    const job = (key: string) =>
      w.gw('POST', '/api/jobs/create-and-call', key, { job_type: 'x', model, messages: hello });
    expect((await job(oldKey)).status).toBe(200); // spend 1 before the rotation
    const rotated = await call(w.admin.url, 'POST', `/api/keys/${created.body.key_id}/rotate`, {
      admin: true,
      body: { grace_period: '1h' },
    });
    expect(rotated.status).toBe(200);
    const newKey = rotated.body.virtual_key as string;
    // the gateway drops its local copy of the old key when the invalidation reaches it (≤ 1 s)
    const cache = w.gateway.app.get(KeyCacheService);
    const cachedLocally = () =>
      (cache as unknown as { local: ExpiringMap<string, unknown> }).local.has(
        hashVirtualKey(oldKey),
      );
    await eventually(() => Promise.resolve(!cachedLocally()), 2000, 10);
    // the old key still works during the grace, but both draw on one budget of 3
    expect((await job(oldKey)).status).toBe(200);
    expect((await job(newKey)).status).toBe(200);
    const before = w.fake.requests.length;
    for (const key of [oldKey, newKey]) {
      const over = await job(key);
      expect(over.status).toBe(403);
      expect(over.body.code).toBe('KEY_BUDGET_EXCEEDED');
    }
    expect(w.fake.requests.length).toBe(before);
    const spend = await w.pg.query(
      'SELECT spend::int, spend_held::int FROM virtual_keys WHERE key_id = $1',
      [rotated.body.key_id],
    );
    expect(spend.rows[0]).toEqual({ spend: 3, spend_held: 0 });
    expect(await w.team_row(teamId)).toMatchObject({ used: 3, held: 0, holds: 0 });
  });

  it('closes jobs left open past JOB_TTL and charges them by the same rules', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 5 });
    const called = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'x' })).body.job_id;
    const idle = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'x' })).body.job_id;
    expect(
      (await w.gw('POST', `/api/jobs/${called}/llm-call`, key, { model, messages: hello })).status,
    ).toBe(200);
    await eventually(async () => {
      const rows = await w.pg.query(
        `SELECT count(*)::int AS n FROM jobs WHERE job_id = ANY($1) AND completion_result IS NOT NULL`,
        [[called, idle]],
      );
      return rows.rows[0].n === 2;
    }, 8000);
    expect((await w.gw('GET', `/api/jobs/${called}`, key)).body).toMatchObject({
      status: 'completed',
      credits_charged: 1,
    });
    expect((await w.gw('GET', `/api/jobs/${idle}`, key)).body).toMatchObject({
      status: 'failed',
      credits_charged: 0,
    });
    expect(await w.team_row(teamId)).toEqual({
      allocated: 5,
      used: 1,
      held: 0,
      ledger_sum: 4,
      holds: 0,
    });
    // the client's late complete replays the server's result and charges nothing
    const late = await w.gw('POST', `/api/jobs/${called}/complete`, key, { status: 'completed' });
    expect(late.body.costs.credits_charged).toBe(1);
    expect((await w.team_row(teamId)).used).toBe(1);
  });

  it('two replicas sweeping a backlog past one batch close and charge every job exactly once', async () => {
    // closed in afterAll too, should this test fail before its own close
    second = await startGateway({ JOB_TTL: '2s', JOB_SWEEP_INTERVAL_MS: '250' });
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 1000 });
    // 150 jobs with a successful call each (job_based: 1 credit at completion), never completed
    const jobIds: string[] = [];
    for (let i = 0; i < 150; i++) {
      const job = await w.gw('POST', '/api/jobs/create', key, { job_type: 'backlog' });
      jobIds.push(job.body.job_id as string);
      const res = await w.gw('POST', `/api/jobs/${job.body.job_id}/llm-call`, key, {
        model,
        messages: hello,
      });
      expect(res.status).toBe(200);
    }
    await eventually(async () => {
      const open = await w.pg.query(
        `SELECT count(*)::int AS n FROM jobs WHERE job_id = ANY($1) AND status <> 'completed'`,
        [jobIds],
      );
      return open.rows[0].n === 0;
    }, 20_000);
    const ledger = await w.pg.query(
      `SELECT count(*)::int AS n, count(DISTINCT job_id)::int AS jobs
           FROM credit_transactions WHERE team_id = $1 AND transaction_type = 'deduction'`,
      [teamId],
    );
    expect(ledger.rows[0]).toEqual({ n: 150, jobs: 150 });
    // the team's calls were leased: its leases go back once idle
    expect(await w.settled(teamId)).toMatchObject({ used: 150, held: 0, holds: 0 });
    await second.close();
    second = undefined;
  });

  it('releases the expired hold of a crashed request', async () => {
    const { group } = await w.modelInGroup();
    const { teamId } = await w.team({ groups: [group], credits: 10 });
    // what a request that died between hold and settle leaves behind
    await w.pg.query(
      `WITH t AS (UPDATE teams SET credits_held = credits_held + 4 WHERE team_id = $1 RETURNING team_id)
       INSERT INTO credit_holds (team_id, credits, expires_at) SELECT team_id, 4, now() - interval '1 second' FROM t`,
      [teamId],
    );
    await eventually(async () => (await w.team_row(teamId)).held === 0, 5000);
    expect(await w.team_row(teamId)).toEqual({
      allocated: 10,
      used: 0,
      held: 0,
      ledger_sum: 10,
      holds: 0,
    });
  });

  it("shows a team its own balance and ledger, and nobody else's", async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 7 });
    const other = await w.team({ groups: [group] });
    await w.gw('POST', '/api/jobs/create-and-call', key, { job_type: 'x', model, messages: hello });
    const balance = await w.gw('GET', `/api/credits/teams/${teamId}/balance`, key);
    expect(balance.status).toBe(200);
    expect(balance.body).toMatchObject({
      team_id: teamId,
      credits_allocated: 7,
      credits_used: 1,
      credits_held: 0,
      credits_remaining: 6,
      budget_mode: 'job_based',
    });
    expect((await w.gw('GET', `/api/credits/balance?team_id=${teamId}`, key)).body).toEqual(
      balance.body,
    );
    expect((await w.gw('GET', '/api/credits/balance', key)).body).toEqual(balance.body);
    const ledger = await w.gw('GET', `/api/credits/teams/${teamId}/transactions`, key);
    expect(ledger.status).toBe(200);
    expect(ledger.body.data.map((t: { transaction_type: string }) => t.transaction_type)).toEqual([
      'deduction',
      'allocation',
    ]);
    for (const path of [
      `/api/credits/teams/${teamId}/balance`,
      `/api/credits/teams/${teamId}/transactions`,
      `/api/credits/balance?team_id=${teamId}`,
    ]) {
      expect((await w.gw('GET', path, other.key)).status).toBe(403);
    }
  });
});
