import { eventually } from '../../../test/helpers/http';
import { hello, World } from './gateway-fixtures';

interface CallBody {
  call_id: string;
  response: { content: string; finish_reason: string };
  metadata: {
    model: string;
    prompt_tokens: number;
    completion_tokens: number;
    tokens_used: number;
    latency_ms: number;
  };
}

describe('jobs (team gateway)', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start();
  });
  afterAll(() => w.stop());
  beforeEach(() => w.fake.reset());

  async function callRow(callId: string) {
    const rows = await w.pg.query('SELECT * FROM llm_calls WHERE call_id = $1', [callId]);
    return rows.rows[0] as Record<string, string | number | null>;
  }

  it('runs a job_based job end to end: hold at the first call, 1 credit at completion', async () => {
    const { model, group } = await w.modelInGroup({ input: 3, output: 15 });
    const { teamId, key } = await w.team({
      groups: [group],
      credits: 10,
      cost_markup_percentage: 20,
    });

    const created = await w.gw('POST', '/api/jobs/create', key, {
      job_type: 'analysis',
      user_id: 'u-1',
      metadata: { doc: 7 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      job_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'pending',
      created_at: expect.any(String),
    });
    const jobId = created.body.job_id as string;

    const res = await w.gw<CallBody>('POST', `/api/jobs/${jobId}/llm-call`, key, {
      model,
      messages: hello,
      purpose: 'greeting',
      max_tokens: 50,
    });
    expect(res.status).toBe(200);
    expect(res.body.call_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof res.body.response.content).toBe('string');
    expect(res.body.response.finish_reason).toBe('stop');
    const { prompt_tokens, completion_tokens, tokens_used } = res.body.metadata;
    expect(res.body.metadata.model).toBe(model);
    expect(prompt_tokens).toBeGreaterThan(0);
    expect(tokens_used).toBe(prompt_tokens + completion_tokens);

    // the provider key reached the upstream, decrypted
    const seen = w.fake.requests[w.fake.requests.length - 1];
    expect(seen.headers.authorization).toBe(`Bearer ${w.providerKey}`);

    expect((await w.gw('GET', `/api/jobs/${jobId}`, key)).body.status).toBe('in_progress');
    expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 1, holds: 1 });

    const row = await callRow(res.body.call_id);
    const provider = (prompt_tokens * 3 + completion_tokens * 15) / 1e6;
    expect(Number(row.provider_cost_usd)).toBeCloseTo(provider, 9);
    expect(Number(row.client_cost_usd)).toBeCloseTo(provider * 1.2, 9);
    expect(row).toMatchObject({
      status: 'success',
      model_requested: model,
      model_name: model,
      provider: 'openai-compatible',
      prompt_tokens,
      completion_tokens,
      total_tokens: tokens_used,
      markup_percentage: 20,
      purpose: 'greeting',
    });
    expect(Number(row.input_price_per_million)).toBe(3);

    const done = await w.gw('POST', `/api/jobs/${jobId}/complete`, key, { status: 'completed' });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({
      job_id: jobId,
      status: 'completed',
      completed_at: expect.any(String),
      costs: {
        total_calls: 1,
        successful_calls: 1,
        failed_calls: 0,
        total_tokens: tokens_used,
        total_cost_usd: expect.any(Number),
        credits_charged: 1,
        credit_applied: true,
        credits_remaining: 9,
      },
    });
    expect(done.body.costs.total_cost_usd).toBeCloseTo(provider * 1.2, 9);
    expect(await w.team_row(teamId)).toEqual({
      allocated: 10,
      used: 1,
      held: 0,
      ledger_sum: 9,
      holds: 0,
    });
    const ledger = await w.pg.query(
      `SELECT transaction_type, credits_amount::int AS amount, credits_before::int AS before,
              credits_after::int AS after, job_id
         FROM credit_transactions WHERE team_id = $1 AND transaction_type = 'deduction'`,
      [teamId],
    );
    expect(ledger.rows).toEqual([
      { transaction_type: 'deduction', amount: -1, before: 10, after: 9, job_id: jobId },
    ]);

    const costs = await w.gw('GET', `/api/jobs/${jobId}/costs`, key);
    expect(costs.body).toMatchObject({ job_id: jobId, status: 'completed' });
    expect(costs.body.costs.credits_charged).toBe(1);
    expect(costs.body.calls).toEqual([
      {
        call_id: res.body.call_id,
        model,
        prompt_tokens,
        completion_tokens,
        cached_tokens: 0,
        cache_write_tokens: 0,
        reasoning_tokens: 0,
        cost_usd: expect.any(Number),
        latency_ms: expect.any(Number),
        status: 'success',
      },
    ]);
    expect(costs.body.calls[0].cost_usd).toBeCloseTo(provider * 1.2, 9);
    expect(JSON.stringify(costs.body)).not.toContain('provider_cost');
  });

  it('answers 400 for a NUL character PostgreSQL cannot store (metadata, purpose), on /api and /v1', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group] });
    const job = await w.gw('POST', '/api/jobs/create', key, {
      job_type: 'x',
      metadata: { note: 'a\u0000b' },
    });
    expect(job.status).toBe(400);
    expect(job.body).toEqual({ detail: expect.stringContaining('NUL'), code: 'VALIDATION_ERROR' });
    const v1 = await w.gw('POST', '/v1/chat/completions', key, {
      model,
      messages: hello,
      metadata: { note: 'a\u0000b' },
    });
    expect(v1.status).toBe(400);
    expect(v1.body.error).toMatchObject({ type: 'invalid_request_error' });
  });

  it('charges ceil(client cost × credits_per_dollar) per call in consumption_usd mode', async () => {
    const { model, group } = await w.modelInGroup({ input: 1000, output: 2000 });
    const { teamId, key } = await w.team({
      groups: [group],
      credits: 1000,
      budget_mode: 'consumption_usd',
      credits_per_dollar: 100,
      cost_markup_percentage: 50,
    });
    const job = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'x' })).body.job_id;
    const charges: number[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await w.gw<CallBody>('POST', `/api/jobs/${job}/llm-call`, key, {
        model,
        messages: hello,
        max_tokens: 30,
      });
      expect(res.status).toBe(200);
      const { prompt_tokens, completion_tokens } = res.body.metadata;
      const client = ((prompt_tokens * 1000 + completion_tokens * 2000) / 1e6) * 1.5;
      const expected = Math.ceil(client * 100 - 1e-9);
      expect(Number((await callRow(res.body.call_id)).credits_charged)).toBe(expected);
      charges.push(expected);
    }
    const total = charges[0] + charges[1];
    // its second call leased the team on this replica: the lease goes back once idle
    expect(await w.settled(teamId)).toEqual({
      allocated: 1000,
      used: total,
      held: 0,
      ledger_sum: 1000 - total,
      holds: 0,
    });
    // consumption calls stay charged even when the job fails
    const done = await w.gw('POST', `/api/jobs/${job}/complete`, key, {
      status: 'failed',
      error_message: 'gave up',
    });
    expect(done.body.costs).toMatchObject({
      total_calls: 2,
      credits_charged: total,
      credit_applied: true,
      credits_remaining: 1000 - total,
    });
    expect((await w.team_row(teamId)).used).toBe(total);
  });

  it('charges ceil(tokens ÷ tokens_per_credit) per call in consumption_tokens mode', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({
      groups: [group],
      credits: 500,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 7,
    });
    const res = await w.gw<CallBody & { job_id: string; costs: Record<string, number> }>(
      'POST',
      '/api/jobs/create-and-call',
      key,
      {
        job_type: 'one-shot',
        model,
        messages: hello,
        job_metadata: { source: 'spec' },
      },
    );
    expect(res.status).toBe(200);
    const expected = Math.ceil(res.body.metadata.tokens_used / 7);
    expect(res.body).toMatchObject({
      job_id: expect.any(String),
      call_id: expect.any(String),
      costs: { total_calls: 1, credits_charged: expected, credits_remaining: 500 - expected },
    });
    expect(await w.team_row(teamId)).toMatchObject({ used: expected, held: 0, holds: 0 });
    const job = await w.gw('GET', `/api/jobs/${res.body.job_id}`, key);
    expect(job.body).toMatchObject({ status: 'completed', metadata: { source: 'spec' } });
  });

  it("counts a call that settles after its job was completed in the job's costs", async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({
      groups: [group],
      credits: 500,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 7,
    });
    const jobId = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'late' })).body.job_id;
    w.fake.setBehavior({ mode: 'slow', delayMs: 600 });
    const sent = w.fake.requests.length;
    const late = w.gw('POST', `/api/jobs/${jobId}/llm-call`, key, { model, messages: hello });
    // the call is held and waiting upstream: the fake has its request
    await eventually(() => Promise.resolve(w.fake.requests.length > sent), 5000, 10);
    const completed = await w.gw('POST', `/api/jobs/${jobId}/complete`, key, {
      status: 'completed',
    });
    expect(completed.status).toBe(200);
    expect((await late).status).toBe(200);
    w.fake.reset();
    const costs = await w.gw('GET', `/api/jobs/${jobId}/costs`, key);
    const charged = await w.pg.query(
      'SELECT COALESCE(sum(credits_charged), 0)::int AS n FROM llm_calls WHERE job_id = $1',
      [jobId],
    );
    expect(charged.rows[0].n).toBeGreaterThan(0);
    expect(costs.body.costs).toMatchObject({ total_calls: 1, credits_charged: charged.rows[0].n });
    expect(await w.team_row(teamId)).toMatchObject({ used: charged.rows[0].n, held: 0, holds: 0 });
  });

  it('does not charge a failed job_based job and releases its hold', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 3 });
    const job = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'x' })).body.job_id;
    expect(
      (await w.gw('POST', `/api/jobs/${job}/llm-call`, key, { model, messages: hello })).status,
    ).toBe(200);
    expect(
      (await w.gw('POST', `/api/jobs/${job}/llm-call`, key, { model, messages: hello })).status,
    ).toBe(200);
    expect((await w.team_row(teamId)).held).toBe(1);
    const done = await w.gw('POST', `/api/jobs/${job}/complete`, key, { status: 'failed' });
    expect(done.body.costs).toMatchObject({
      total_calls: 2,
      credits_charged: 0,
      credit_applied: false,
      credits_remaining: 3,
    });
    expect(await w.team_row(teamId)).toEqual({
      allocated: 3,
      used: 0,
      held: 0,
      ledger_sum: 3,
      holds: 0,
    });
  });

  it('completes idempotently: two racing completes, one charge, the same result', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 5 });
    const job = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'x' })).body.job_id;
    await w.gw('POST', `/api/jobs/${job}/llm-call`, key, { model, messages: hello });
    const [a, b] = await Promise.all([
      w.gw('POST', `/api/jobs/${job}/complete`, key, { status: 'completed' }),
      w.gw('POST', `/api/jobs/${job}/complete`, key, { status: 'completed' }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body).toEqual(b.body);
    const again = await w.gw('POST', `/api/jobs/${job}/complete`, key, { status: 'failed' });
    expect(again.body).toEqual(a.body);
    expect(await w.team_row(teamId)).toEqual({
      allocated: 5,
      used: 1,
      held: 0,
      ledger_sum: 4,
      holds: 0,
    });
  });

  it("refuses a call on a closed job (409) and another team's job (403)", async () => {
    const { model, group } = await w.modelInGroup();
    const mine = await w.team({ groups: [group] });
    const theirs = await w.team({ groups: [group] });
    const job = (await w.gw('POST', '/api/jobs/create', mine.key, { job_type: 'x' })).body.job_id;
    const before = w.fake.requests.length;

    for (const [method, path, body] of [
      ['GET', `/api/jobs/${job}`, undefined],
      ['GET', `/api/jobs/${job}/costs`, undefined],
      ['PATCH', `/api/jobs/${job}/metadata`, { metadata: { a: 1 } }],
      ['POST', `/api/jobs/${job}/llm-call`, { model, messages: hello }],
      ['POST', `/api/jobs/${job}/complete`, { status: 'completed' }],
    ] as const) {
      const res = await w.gw(method, path, theirs.key, body);
      expect(res.status).toBe(403);
      expect(res.body.detail).toBe('Cannot access jobs for a different team');
    }
    expect(w.fake.requests.length).toBe(before);
    const foreign = await w.gw('POST', '/api/jobs/create', mine.key, {
      team_id: theirs.teamId,
      job_type: 'x',
    });
    expect(foreign.status).toBe(403);

    await w.gw('POST', `/api/jobs/${job}/complete`, mine.key, { status: 'failed' });
    const closed = await w.gw('POST', `/api/jobs/${job}/llm-call`, mine.key, {
      model,
      messages: hello,
    });
    expect(closed.status).toBe(409);
    expect(closed.body.code).toBe('JOB_CLOSED');
    expect(w.fake.requests.length).toBe(before);
    expect(
      (await w.gw('GET', `/api/jobs/00000000-0000-4000-8000-000000000000`, mine.key)).status,
    ).toBe(404);
    expect((await w.gw('GET', `/api/jobs/not-a-uuid`, mine.key)).status).toBe(400);
  });

  it('pages through jobs created within one millisecond without skipping any', async () => {
    const { group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group] });
    const inserted = await w.pg.query(
      `INSERT INTO jobs (team_id, job_type, created_at)
       SELECT $1, 'same-ms', timestamptz '2026-01-01 00:00:00.123000+00' + make_interval(secs => n / 1e6)
         FROM generate_series(100, 500, 100) AS n
       RETURNING job_id`,
      [teamId],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: {
        status: number;
        body: { data: Array<{ job_id: string }>; next_cursor: string | null };
      } = await w.gw(
        'GET',
        `/api/teams/${teamId}/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        key,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((j) => j.job_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(inserted.rows.map((r: { job_id: string }) => r.job_id).sort());
  });

  it("patches metadata, lists the team's jobs with filters and pages, and reports usage", async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (await w.gw('POST', '/api/jobs/create', key, { job_type: `t${i}`, metadata: { i } })).body
          .job_id,
      );
    }
    const patched = await w.gw('PATCH', `/api/jobs/${ids[0]}/metadata`, key, {
      metadata: { tag: 'x' },
    });
    expect(patched.body.metadata).toEqual({ i: 0, tag: 'x' });
    await w.gw('POST', `/api/jobs/${ids[1]}/llm-call`, key, { model, messages: hello });
    await w.gw('POST', `/api/jobs/${ids[1]}/complete`, key, { status: 'completed' });

    const page1 = await w.gw('GET', `/api/teams/${teamId}/jobs?limit=2`, key);
    expect(page1.body.data.map((j: { job_id: string }) => j.job_id)).toEqual([ids[2], ids[1]]);
    const page2 = await w.gw(
      'GET',
      `/api/teams/${teamId}/jobs?limit=2&cursor=${page1.body.next_cursor}`,
      key,
    );
    expect(page2.body).toEqual({
      data: [expect.objectContaining({ job_id: ids[0] })],
      next_cursor: null,
    });
    const completed = await w.gw('GET', `/api/teams/${teamId}/jobs?status=completed`, key);
    expect(completed.body.data.map((j: { job_id: string }) => j.job_id)).toEqual([ids[1]]);

    const usage = await w.gw('GET', `/api/teams/${teamId}/usage`, key);
    expect(usage.body).toMatchObject({
      team_id: teamId,
      total_jobs: 3,
      completed_jobs: 1,
      open_jobs: 2,
      total_calls: 1,
      successful_calls: 1,
      credits_used: 1,
      by_model: [expect.objectContaining({ model, calls: 1 })],
    });
    const other = await w.team({ groups: [group] });
    expect((await w.gw('GET', `/api/teams/${teamId}/jobs`, other.key)).status).toBe(403);
    expect((await w.gw('GET', `/api/teams/${teamId}/usage`, other.key)).status).toBe(403);
  });
});
