import { DataSource } from 'typeorm';
import { RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { call } from '../../../test/helpers/http';

interface CallSpec {
  model: string;
  prompt: number;
  completion: number;
  provider: number;
  client: number;
  at: string;
  status?: 'success' | 'error';
  credits?: number;
}

describe('admin-api analytics: org usage, team jobs, one job, org analytics', () => {
  let admin: RunningApp;
  let db: DataSource;
  const orgId = uid('org');
  const teamA = uid('team-a');
  const teamB = uid('team-b');
  const teamC = uid('team-c');
  const jobs: Record<string, string> = {};

  const api = (path: string) => call(admin.url, 'GET', path, { admin: true });

  async function job(
    name: string,
    teamId: string,
    status: string,
    at: string,
    calls: CallSpec[],
  ): Promise<void> {
    const [row]: Array<{ job_id: string }> = await db.query(
      `INSERT INTO jobs (team_id, job_type, status, created_at, credits_charged)
       VALUES ($1, 'summarise', $2, $3, 0) RETURNING job_id`,
      [teamId, status, at],
    );
    jobs[name] = row.job_id;
    for (const c of calls) {
      await db.query(
        `INSERT INTO llm_calls (job_id, team_id, model_requested, model_name, provider,
           provider_model, prompt_tokens, completion_tokens, total_tokens, provider_cost_usd,
           client_cost_usd, input_price_per_million, output_price_per_million, credits_charged,
           latency_ms, status, created_at)
         VALUES ($1, $2, $3::varchar, $3::varchar, 'mock', $3::varchar || '-v1', $4::int, $5::int, $4::int + $5::int, $6, $7,
                 1.5, 3, $8, 120, $9, $10)`,
        [
          row.job_id,
          teamId,
          c.model,
          c.prompt,
          c.completion,
          c.provider,
          c.client,
          c.credits ?? 0,
          c.status ?? 'success',
          c.at,
        ],
      );
    }
  }

  async function deduction(teamId: string, credits: number, at: string): Promise<void> {
    await db.query(
      `INSERT INTO credit_transactions
         (team_id, transaction_type, credits_amount, credits_before, credits_after, created_at)
       VALUES ($1, 'deduction', $2::bigint, 100, 100 - $3::bigint, $4::timestamptz)`,
      [teamId, -credits, credits, at],
    );
  }

  beforeAll(async () => {
    admin = await startAdmin();
    db = admin.app.get(DataSource);
    const created = await call(admin.url, 'POST', '/api/organizations/create', {
      admin: true,
      body: { organization_id: orgId, name: 'Analytics' },
    });
    expect(created.status).toBe(201);
    for (const [teamId, alias] of [
      [teamA, 'Alpha'],
      [teamB, 'Beta'],
      [teamC, 'Idle'],
    ]) {
      const res = await call(admin.url, 'POST', '/api/teams/create', {
        admin: true,
        body: { organization_id: orgId, team_id: teamId, team_alias: alias },
      });
      expect(res.status).toBe(201);
    }
    // outside a 2026-03-01..2026-03-02 window
    await job('a0', teamA, 'completed', '2026-02-27T09:00:00Z', [
      {
        model: 'gpt-x',
        prompt: 5,
        completion: 5,
        provider: 0.00001,
        client: 0.000012,
        at: '2026-02-27T09:00:01Z',
      },
    ]);
    await deduction(teamA, 1, '2026-02-27T09:05:00Z');
    await job('b2', teamB, 'completed', '2026-03-03T00:00:00Z', [
      {
        model: 'gpt-x',
        prompt: 7,
        completion: 7,
        provider: 0.00002,
        client: 0.00002,
        at: '2026-03-03T00:00:01Z',
      },
    ]);
    // inside
    await job('a1', teamA, 'completed', '2026-03-01T10:00:00Z', [
      {
        model: 'gpt-x',
        prompt: 100,
        completion: 50,
        provider: 0.001,
        client: 0.0012,
        at: '2026-03-01T10:00:01Z',
      },
      {
        model: 'gpt-y',
        prompt: 200,
        completion: 100,
        provider: 0.002,
        client: 0.0024,
        at: '2026-03-01T10:00:02Z',
      },
    ]);
    await job('a2', teamA, 'failed', '2026-03-01T11:00:00Z', [
      {
        model: 'gpt-x',
        prompt: 10,
        completion: 0,
        provider: 0.0001,
        client: 0.00012,
        at: '2026-03-01T11:00:01Z',
        status: 'error',
      },
    ]);
    await job('a3', teamA, 'completed', '2026-03-02T09:00:00Z', [
      {
        model: 'gpt-x',
        prompt: 1000,
        completion: 500,
        provider: 0.01,
        client: 0.012,
        at: '2026-03-02T09:00:01Z',
        credits: 2,
      },
    ]);
    await job('b1', teamB, 'pending', '2026-03-02T12:00:00Z', [
      {
        model: 'gpt-y',
        prompt: 50,
        completion: 50,
        provider: 0.0005,
        client: 0.0005,
        at: '2026-03-02T12:00:01Z',
      },
    ]);
    await deduction(teamA, 1, '2026-03-01T10:05:00Z');
    await deduction(teamA, 2, '2026-03-02T09:05:00Z');
    await deduction(teamB, 1, '2026-03-02T12:05:00Z');
  });
  afterAll(() => admin.close());

  describe('GET /api/organizations/{org_id}/usage', () => {
    it('totals and per-team numbers match the rows, within the window', async () => {
      const res = await api(`/api/organizations/${orgId}/usage?from=2026-03-01&to=2026-03-02`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        organization_id: orgId,
        from: '2026-03-01T00:00:00.000Z',
        to: '2026-03-03T00:00:00.000Z',
      });
      const { cost_usd, provider_cost_usd, ...totals } = res.body.totals;
      expect(totals).toEqual({
        jobs: 4,
        jobs_completed: 2,
        jobs_failed: 1,
        calls: 5,
        failed_calls: 1,
        prompt_tokens: 1360,
        completion_tokens: 700,
        tokens: 2060,
        credits_used: 4,
      });
      expect(cost_usd).toBeCloseTo(0.01622, 10);
      expect(provider_cost_usd).toBeCloseTo(0.0136, 10);

      const byId = Object.fromEntries(
        res.body.teams.map((t: { team_id: string }) => [t.team_id, t]),
      );
      expect(Object.keys(byId).sort()).toEqual([teamA, teamB, teamC].sort());
      expect(byId[teamA]).toMatchObject({
        team_alias: 'Alpha',
        jobs: 3,
        calls: 4,
        tokens: 1960,
        credits_used: 3,
      });
      expect(byId[teamA].cost_usd).toBeCloseTo(0.01572, 10);
      expect(byId[teamA].provider_cost_usd).toBeCloseTo(0.0131, 10);
      expect(byId[teamB]).toMatchObject({ jobs: 1, calls: 1, tokens: 100, credits_used: 1 });
      expect(byId[teamC]).toMatchObject({
        jobs: 0,
        calls: 0,
        tokens: 0,
        cost_usd: 0,
        credits_used: 0,
      });
    });

    it('without a window counts everything; a datetime window is exact', async () => {
      const all = await api(`/api/organizations/${orgId}/usage`);
      expect(all.body.totals).toMatchObject({
        jobs: 6,
        calls: 7,
        tokens: 2060 + 10 + 14,
        credits_used: 5,
      });
      expect(all.body.from).toBeNull();

      const hour = await api(
        `/api/organizations/${orgId}/usage?from=2026-03-01T10:00:00Z&to=2026-03-01T11:00:00Z`,
      );
      expect(hour.body.totals).toMatchObject({ jobs: 1, calls: 2, tokens: 450, credits_used: 1 });
    });

    it('400 on a malformed date or from after to; 404 on an unknown organization', async () => {
      for (const q of [
        'from=yesterday',
        'to=2026-13-01',
        'from=2026-03-02&to=2026-03-01',
        'extra=1',
      ]) {
        const res = await api(`/api/organizations/${orgId}/usage?${q}`);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_ERROR');
      }
      expect((await api(`/api/organizations/${uid('none')}/usage`)).status).toBe(404);
    });
  });

  describe('GET /api/jobs/organizations/{org_id}/analytics', () => {
    it('daily, by_team and by_model series match the rows', async () => {
      const res = await api(
        `/api/jobs/organizations/${orgId}/analytics?from=2026-03-01&to=2026-03-02`,
      );
      expect(res.status).toBe(200);
      const daily = res.body.daily.map(
        ({ date, jobs, calls, tokens, credits }: Record<string, unknown>) => ({
          date,
          jobs,
          calls,
          tokens,
          credits,
        }),
      );
      expect(daily).toEqual([
        { date: '2026-03-01', jobs: 2, calls: 3, tokens: 460, credits: 1 },
        { date: '2026-03-02', jobs: 2, calls: 2, tokens: 1600, credits: 3 },
      ]);
      expect(res.body.daily[0].cost_usd).toBeCloseTo(0.00372, 10);
      expect(res.body.daily[1].cost_usd).toBeCloseTo(0.0125, 10);

      expect(res.body.by_team).toHaveLength(3);
      const alpha = res.body.by_team.find((t: { team_id: string }) => t.team_id === teamA);
      expect(alpha).toMatchObject({ jobs: 3, calls: 4, credits_used: 3 });

      const [x, y] = res.body.by_model;
      expect(x).toMatchObject({
        model: 'gpt-x',
        jobs: 3,
        calls: 3,
        failed_calls: 1,
        tokens: 1660,
        credits: 2,
        avg_latency_ms: 120,
      });
      expect(x.cost_usd).toBeCloseTo(0.01332, 10);
      expect(y).toMatchObject({ model: 'gpt-y', jobs: 2, calls: 2, tokens: 400, credits: 0 });
      expect(y.provider_cost_usd).toBeCloseTo(0.0025, 10);
      expect(res.body.by_model).toHaveLength(2);
    });

    it('400 on from after to; 404 on an unknown organization', async () => {
      expect(
        (
          await api(
            `/api/jobs/organizations/${orgId}/analytics?from=2026-03-02T00:00:01Z&to=2026-03-02T00:00:00Z`,
          )
        ).status,
      ).toBe(400);
      expect((await api(`/api/jobs/organizations/${uid('none')}/analytics`)).status).toBe(404);
    });
  });

  describe('GET /api/jobs/teams/{team_id}', () => {
    it('lists the team jobs newest first with their call totals', async () => {
      const res = await api(`/api/jobs/teams/${teamA}`);
      expect(res.status).toBe(200);
      expect(res.body.data.map((j: { job_id: string }) => j.job_id)).toEqual([
        jobs.a3,
        jobs.a2,
        jobs.a1,
        jobs.a0,
      ]);
      expect(res.body.next_cursor).toBeNull();
      const a1 = res.body.data[2];
      expect(a1).toMatchObject({
        job_id: jobs.a1,
        team_id: teamA,
        job_type: 'summarise',
        status: 'completed',
        created_at: '2026-03-01T10:00:00.000Z',
        costs: { total_calls: 2, successful_calls: 2, failed_calls: 0, total_tokens: 450 },
      });
      expect(a1.costs.total_cost_usd).toBeCloseTo(0.0036, 10);
      expect(a1.costs.provider_cost_usd).toBeCloseTo(0.003, 10);
    });

    it('filters by status and window, and pages with a cursor', async () => {
      const done = await api(`/api/jobs/teams/${teamA}?status=completed`);
      expect(done.body.data.map((j: { job_id: string }) => j.job_id)).toEqual([
        jobs.a3,
        jobs.a1,
        jobs.a0,
      ]);
      const window = await api(`/api/jobs/teams/${teamA}?from=2026-03-01&to=2026-03-01`);
      expect(window.body.data.map((j: { job_id: string }) => j.job_id)).toEqual([jobs.a2, jobs.a1]);

      const first = await api(`/api/jobs/teams/${teamA}?limit=3`);
      expect(first.body.data).toHaveLength(3);
      expect(first.body.next_cursor).toEqual(expect.any(String));
      const second = await api(`/api/jobs/teams/${teamA}?limit=3&cursor=${first.body.next_cursor}`);
      expect(second.body.data.map((j: { job_id: string }) => j.job_id)).toEqual([jobs.a0]);
      expect(second.body.next_cursor).toBeNull();
    });

    it('400 on a bad status, date, limit or cursor; 404 on an unknown team', async () => {
      for (const q of [
        'status=done',
        'from=2026-3-1',
        'limit=0',
        'limit=x',
        'cursor=zzz',
        'from=2026-03-02&to=2026-03-01',
      ]) {
        expect((await api(`/api/jobs/teams/${teamA}?${q}`)).status).toBe(400);
      }
      expect((await api(`/api/jobs/teams/${uid('none')}`)).status).toBe(404);
    });
  });

  describe('GET /api/jobs/teams/{team_id}/{job_id}', () => {
    it('returns the job with all its calls, provider cost included', async () => {
      const res = await api(`/api/jobs/teams/${teamA}/${jobs.a1}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        job_id: jobs.a1,
        status: 'completed',
        costs: { total_calls: 2 },
      });
      expect(res.body.calls).toHaveLength(2);
      expect(res.body.calls[0]).toMatchObject({
        model: 'gpt-x',
        provider: 'mock',
        provider_model: 'gpt-x-v1',
        prompt_tokens: 100,
        completion_tokens: 50,
        total_tokens: 150,
        cost_usd: 0.0012,
        provider_cost_usd: 0.001,
        input_price_per_million: 1.5,
        output_price_per_million: 3,
        latency_ms: 120,
        status: 'success',
      });
      expect(res.body.calls[1]).toMatchObject({
        model: 'gpt-y',
        cost_usd: 0.0024,
        provider_cost_usd: 0.002,
      });
    });

    it('404 for another team’s job or an unknown job; 400 for a malformed id', async () => {
      expect((await api(`/api/jobs/teams/${teamA}/${jobs.b1}`)).status).toBe(404);
      expect((await api(`/api/jobs/teams/${teamB}/${jobs.b1}`)).status).toBe(200);
      expect(
        (await api(`/api/jobs/teams/${teamA}/00000000-0000-4000-8000-000000000000`)).status,
      ).toBe(404);
      const bad = await api(`/api/jobs/teams/${teamA}/not-a-uuid`);
      expect(bad.status).toBe(400);
      expect(bad.body.detail).toMatch(/job_id/);
      expect((await api(`/api/jobs/teams/${uid('none')}/${jobs.a1}`)).status).toBe(404);
    });
  });
});
