import { DataSource } from 'typeorm';
import { RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { call } from '../../../test/helpers/http';

/**
 * The org analytics are summed per team and per (day, model) cell, then rolled up; these rows
 * sit where that could go wrong: a job whose calls cross midnight (one job per model, two days),
 * a model only requested, days with jobs or ledger rows but no calls, an idle team, a window
 * starting mid-job, money that float addition would round (0.0011 + 0.0022).
 */
describe('admin-api analytics: series edges', () => {
  let admin: RunningApp;
  let db: DataSource;
  const orgId = uid('org');
  const [teamA, teamB, teamC] = [uid('a'), uid('b'), uid('c')];

  const api = async (path: string) => {
    const res = await call(admin.url, 'GET', path, { admin: true });
    expect(res.status).toBe(200);
    return res.body;
  };

  async function job(teamId: string, status: string, at: string): Promise<string> {
    const [row]: Array<{ job_id: string }> = await db.query(
      `INSERT INTO jobs (team_id, job_type, status, created_at) VALUES ($1, 't', $2, $3)
       RETURNING job_id`,
      [teamId, status, at],
    );
    return row.job_id;
  }

  async function llmCall(
    jobId: string,
    teamId: string,
    c: { name: string | null; requested: string; tokens: [number, number]; client: number },
    extra: { at: string; latency: number; credits?: number; status?: string },
  ): Promise<void> {
    await db.query(
      `INSERT INTO llm_calls (job_id, team_id, model_requested, model_name, prompt_tokens,
         completion_tokens, total_tokens, provider_cost_usd, client_cost_usd, credits_charged,
         latency_ms, status, created_at)
       VALUES ($1, $2, $3, $4, $5::int, $6::int, $5::int + $6::int, $7, $7, $8, $9, $10, $11)`,
      [
        jobId,
        teamId,
        c.requested,
        c.name,
        ...c.tokens,
        c.client,
        extra.credits ?? 0,
        extra.latency,
        extra.status ?? 'success',
        extra.at,
      ],
    );
  }

  beforeAll(async () => {
    admin = await startAdmin();
    db = admin.app.get(DataSource);
    const post = (path: string, body: unknown) =>
      call(admin.url, 'POST', path, { admin: true, body });
    expect(
      (await post('/api/organizations/create', { organization_id: orgId, name: 'S' })).status,
    ).toBe(201);
    for (const [teamId, alias] of [
      [teamA, 'Alpha'],
      [teamB, 'Beta'],
      [teamC, 'Idle'],
    ]) {
      const res = await post('/api/teams/create', {
        organization_id: orgId,
        team_id: teamId,
        team_alias: alias,
      });
      expect(res.status).toBe(201);
    }
    const a1 = await job(teamA, 'completed', '2026-05-01T23:00:00Z');
    const x = { name: 'x', requested: 'fast' };
    await llmCall(
      a1,
      teamA,
      { ...x, tokens: [10, 5], client: 0.0011 },
      {
        at: '2026-05-01T23:59:59Z',
        latency: 100,
        credits: 1,
      },
    );
    await llmCall(
      a1,
      teamA,
      { ...x, tokens: [20, 10], client: 0.0022 },
      {
        at: '2026-05-02T00:00:01Z',
        latency: 101,
        credits: 2,
      },
    );
    // no deployment reached: the requested name is the model
    await llmCall(
      a1,
      teamA,
      { name: null, requested: 'x', tokens: [1, 0], client: 0 },
      {
        at: '2026-05-02T00:00:02Z',
        latency: 50,
        status: 'error',
      },
    );
    await job(teamA, 'failed', '2026-05-02T10:00:00Z');
    const b1 = await job(teamB, 'pending', '2026-04-30T12:00:00Z');
    const y = { name: 'y', requested: 'y' };
    await llmCall(
      b1,
      teamB,
      { ...y, tokens: [7, 3], client: 0.0005 },
      {
        at: '2026-05-02T12:00:00Z',
        latency: 200,
      },
    );
    await llmCall(
      b1,
      teamB,
      { ...y, tokens: [0, 0], client: 0 },
      {
        at: '2026-05-02T12:00:01Z',
        latency: 201,
      },
    );
    await db.query(
      `INSERT INTO credit_transactions
         (team_id, transaction_type, credits_amount, credits_before, credits_after, created_at)
       VALUES ($1, 'deduction', -3, 10, 7, '2026-05-03T08:00:00Z')`,
      [teamB],
    );
  });
  afterAll(() => admin.close());

  const zero = {
    jobs: 0,
    jobs_completed: 0,
    jobs_failed: 0,
    calls: 0,
    failed_calls: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    tokens: 0,
    cost_usd: 0,
    provider_cost_usd: 0,
  };
  const dayA1 = { calls: 1, prompt_tokens: 10, completion_tokens: 5, tokens: 15 };

  it('daily, by_team and by_model over everything', async () => {
    const body = await api(`/api/jobs/organizations/${orgId}/analytics`);
    expect(body.daily).toEqual([
      { date: '2026-04-30', ...zero, jobs: 1, credits: 0 },
      {
        date: '2026-05-01',
        ...zero,
        jobs: 1,
        jobs_completed: 1,
        ...dayA1,
        cost_usd: 0.0011,
        provider_cost_usd: 0.0011,
        credits: 0,
      },
      {
        date: '2026-05-02',
        ...zero,
        jobs: 1,
        jobs_failed: 1,
        calls: 4,
        failed_calls: 1,
        prompt_tokens: 28,
        completion_tokens: 13,
        tokens: 41,
        cost_usd: 0.0027,
        provider_cost_usd: 0.0027,
        credits: 0,
      },
      { date: '2026-05-03', ...zero, credits: 3 },
    ]);
    expect(body.by_team).toEqual([
      {
        team_id: teamA,
        team_alias: 'Alpha',
        ...zero,
        jobs: 2,
        jobs_completed: 1,
        jobs_failed: 1,
        calls: 3,
        failed_calls: 1,
        prompt_tokens: 31,
        completion_tokens: 15,
        tokens: 46,
        cost_usd: 0.0033,
        provider_cost_usd: 0.0033,
        credits_used: 0,
      },
      {
        team_id: teamB,
        team_alias: 'Beta',
        ...zero,
        jobs: 1,
        calls: 2,
        prompt_tokens: 7,
        completion_tokens: 3,
        tokens: 10,
        cost_usd: 0.0005,
        provider_cost_usd: 0.0005,
        credits_used: 3,
      },
      { team_id: teamC, team_alias: 'Idle', ...zero, credits_used: 0 },
    ]);
    expect(body.by_model).toEqual([
      {
        model: 'x',
        jobs: 1,
        calls: 3,
        failed_calls: 1,
        prompt_tokens: 31,
        completion_tokens: 15,
        tokens: 46,
        cost_usd: 0.0033,
        provider_cost_usd: 0.0033,
        credits: 3,
        avg_latency_ms: 84,
      },
      {
        model: 'y',
        jobs: 1,
        calls: 2,
        failed_calls: 0,
        prompt_tokens: 7,
        completion_tokens: 3,
        tokens: 10,
        cost_usd: 0.0005,
        provider_cost_usd: 0.0005,
        credits: 0,
        avg_latency_ms: 201,
      },
    ]);
  });

  it('a window starting after midnight keeps the job once, with its calls in the window', async () => {
    const body = await api(`/api/jobs/organizations/${orgId}/analytics?from=2026-05-02T00:00:00Z`);
    expect(body.daily.map((d: { date: string }) => d.date)).toEqual(['2026-05-02', '2026-05-03']);
    expect(body.by_model[0]).toMatchObject({ model: 'x', jobs: 1, calls: 2, tokens: 31 });
    expect(body.by_model[0].cost_usd).toBe(0.0022);
    expect(body.by_team[0]).toMatchObject({ team_id: teamA, jobs: 1, jobs_failed: 1, calls: 2 });

    const day = await api(
      `/api/jobs/organizations/${orgId}/analytics?from=2026-05-01&to=2026-05-01`,
    );
    expect(day.daily).toHaveLength(1);
    expect(day.by_model).toEqual([expect.objectContaining({ model: 'x', jobs: 1, calls: 1 })]);
  });

  it('usage totals are the sums of the teams', async () => {
    const body = await api(`/api/organizations/${orgId}/usage`);
    expect(body.totals).toEqual({
      ...zero,
      jobs: 3,
      jobs_completed: 1,
      jobs_failed: 1,
      calls: 5,
      failed_calls: 1,
      prompt_tokens: 38,
      completion_tokens: 18,
      tokens: 56,
      cost_usd: 0.0038,
      provider_cost_usd: 0.0038,
      credits_used: 3,
    });
    expect(body.teams.map((t: { team_id: string }) => t.team_id)).toEqual([teamA, teamB, teamC]);
  });
});
