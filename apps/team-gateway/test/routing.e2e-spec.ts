import { uid } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { hello, World } from './gateway-fixtures';

describe('model access and resolution', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start({ UPSTREAM_TIMEOUT_MS: '1000' });
  });
  afterAll(() => w.stop());
  beforeEach(() => w.fake.reset());

  it('observes every request by route and status: answered, refused by auth and unmatched ones', async () => {
    const count = async (labels: string) => {
      const text = await (await fetch(`${w.gateway.url}/metrics`)).text();
      const prefix = `tollgate_http_request_duration_seconds_count{${labels}} `;
      const line = text.split('\n').find((l) => l.startsWith(prefix));
      return Number(line?.slice(prefix.length) ?? 0);
    };
    const answered = 'method="POST",route="/api/jobs/create-and-call",status="200"';
    const refused = 'method="GET",route="/v1/models",status="401"';
    const unmatched = 'method="GET",route="unmatched",status="404"';
    const before = [await count(answered), await count(refused), await count(unmatched)];
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group] });
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(res.status).toBe(200);
    expect((await call(w.gateway.url, 'GET', '/v1/models', { bearer: 'sk-nobody' })).status).toBe(
      401,
    );
    expect((await call(w.gateway.url, 'GET', `/no-such-path-${uid('p')}`)).status).toBe(404);
    // observed when the response closes, which may follow the client's read by a tick
    await eventually(
      async () =>
        (await count(answered)) === before[0] + 1 &&
        (await count(refused)) === before[1] + 1 &&
        (await count(unmatched)) === before[2] + 1,
    );
  });

  const attempts = async (jobId: string) =>
    (
      await w.pg.query(
        `SELECT attempt, model_name, provider_model, status, error_class
           FROM llm_calls WHERE job_id = $1 ORDER BY attempt`,
        [jobId],
      )
    ).rows as Array<{
      attempt: number;
      model_name: string;
      provider_model: string;
      status: string;
      error_class: string | null;
    }>;

  it('refuses a model outside the team groups with 403 and no upstream request', async () => {
    const allowed = await w.modelInGroup();
    const other = await w.modelInGroup();
    const { key } = await w.team({ groups: [allowed.group], credits: 5 });
    const before = w.fake.requests.length;
    for (const model of [other.model, other.group]) {
      const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
        job_type: 'x',
        model,
        messages: hello,
      });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        detail: 'Team does not have access to the requested model',
        code: 'MODEL_ACCESS_DENIED',
      });
    }
    expect(w.fake.requests.length).toBe(before);
  });

  it('answers 404 for a model or group that does not exist', async () => {
    const { group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group] });
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model: uid('nope'),
      messages: hello,
    });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('MODEL_NOT_FOUND');
  });

  it('applies the key allow-list (a subset of the team models)', async () => {
    const a = uid('model');
    const b = uid('model');
    const group = uid('group');
    await w.model(a);
    await w.model(b);
    await w.group(group, [a, b]);
    const { teamId } = await w.team({ groups: [group] });
    const created = await call(w.admin.url, 'POST', `/api/teams/${teamId}/keys`, {
      admin: true,
      body: { key_alias: 'narrow', models: [a] },
    });
    expect(created.status).toBe(201);
    const key = created.body.virtual_key as string;
    const ok = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model: a,
      messages: hello,
    });
    expect(ok.status).toBe(200);
    const denied = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model: b,
      messages: hello,
    });
    expect(denied.status).toBe(403);
    // a group resolves to the models the key may use
    const viaGroup = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model: group,
      messages: hello,
    });
    expect(viaGroup.status).toBe(200);
    expect(viaGroup.body.metadata.model).toBe(a);
  });

  it('falls back to the next model of a group on a 5xx and records both attempts', async () => {
    const bad = uid('model');
    const good = uid('model');
    const group = uid('group');
    await w.model(bad);
    await w.model(good);
    await w.group(group, [bad, good]);
    const { key } = await w.team({ groups: [group], credits: 5 });
    w.fake.setBehavior({ mode: 'ok', perModel: { [bad]: { mode: 'status', status: 500 } } });
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model: group,
      messages: hello,
    });
    expect(res.status).toBe(200);
    expect(res.body.metadata.model).toBe(good);
    expect(await attempts(res.body.job_id)).toEqual([
      {
        attempt: 1,
        model_name: bad,
        provider_model: bad,
        status: 'error',
        error_class: 'server_error',
      },
      { attempt: 2, model_name: good, provider_model: good, status: 'success', error_class: null },
    ]);
    expect(res.body.costs).toMatchObject({ total_calls: 2, successful_calls: 1, failed_calls: 1 });
  });

  it("goes straight to a group's healthy model while a failed deployment cools down", async () => {
    const bad = uid('model');
    const good = uid('model');
    const group = uid('group');
    await w.model(bad);
    await w.model(good);
    await w.group(group, [bad, good]);
    const { key } = await w.team({ groups: [group], credits: 10 });
    w.fake.setBehavior({ mode: 'ok', perModel: { [bad]: { mode: 'status', status: 503 } } });
    const ask = () =>
      w.gw('POST', '/api/jobs/create-and-call', key, {
        job_type: 'x',
        model: group,
        messages: hello,
      });
    expect((await ask()).status).toBe(200); // bad tried first, then good
    const sentTo = () => w.fake.requests.map((r) => (r.body as { model: string }).model);
    expect(sentTo()).toEqual([bad, good]);
    const second = await ask();
    expect(second.status).toBe(200);
    expect(second.body.metadata.model).toBe(good);
    expect(sentTo()).toEqual([bad, good, good]); // no second request to the failing deployment
    expect(await attempts(second.body.job_id)).toHaveLength(1);
  });

  it.each([
    ['a provider 429', 429],
    ['a refused connection', 0],
  ])('falls back to the next model of a group on %s', async (_what, status) => {
    const bad = uid('model');
    const good = uid('model');
    const group = uid('group');
    // status 0: a deployment whose base URL nobody listens on
    await w.model(bad, status === 0 ? { apiBase: 'http://127.0.0.1:9/v1' } : {});
    await w.model(good);
    await w.group(group, [bad, good]);
    const { key } = await w.team({ groups: [group], credits: 10 });
    if (status) {
      w.fake.setBehavior({ mode: 'ok', perModel: { [bad]: { mode: 'status', status } } });
    }
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model: group,
      messages: hello,
    });
    expect(res.status).toBe(200);
    expect(res.body.metadata.model).toBe(good);
    const rows = await attempts(res.body.job_id);
    expect(
      rows.map((r: { model_name: string; error_class: string | null }) => [
        r.model_name,
        r.error_class,
      ]),
    ).toEqual([
      [bad, status ? 'rate_limited' : 'connection'],
      [good, null],
    ]);
  });

  it('retries the next deployment of the same model when one fails', async () => {
    const model = uid('model');
    const group = uid('group');
    await w.model(model, { providerModel: `${model}-broken` });
    await w.model(model, { providerModel: `${model}-fine` });
    await w.group(group, [model]);
    const { key } = await w.team({ groups: [group], credits: 50 });
    w.fake.setBehavior({
      mode: 'ok',
      perModel: { [`${model}-broken`]: { mode: 'status', status: 503 } },
    });
    let retried = 0;
    for (let i = 0; i < 12; i++) {
      const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
        job_type: 'x',
        model,
        messages: hello,
      });
      expect(res.status).toBe(200);
      // a leased call's rows are written by the journal: a read on the gateway writes it first
      expect((await w.gw('GET', `/api/jobs/${res.body.job_id}`, key)).status).toBe(200);
      const rows = await attempts(res.body.job_id);
      expect(rows[rows.length - 1]).toMatchObject({
        provider_model: `${model}-fine`,
        status: 'success',
      });
      if (rows.length === 2) {
        retried += 1;
        expect(rows[0]).toMatchObject({ provider_model: `${model}-broken`, status: 'error' });
      }
    }
    expect(retried).toBeGreaterThan(0);
  });

  it('spreads load across deployments of one model by weight', async () => {
    const model = uid('model');
    const group = uid('group');
    await w.model(model, { providerModel: `${model}-east`, weight: 1 });
    await w.model(model, { providerModel: `${model}-west`, weight: 1 });
    await w.group(group, [model]);
    const { key } = await w.team({ groups: [group], credits: 100 });
    const jobs = Array.from({ length: 40 }, () =>
      w.gw('POST', '/api/jobs/create-and-call', key, { job_type: 'x', model, messages: hello }),
    );
    expect((await Promise.all(jobs)).every((r) => r.status === 200)).toBe(true);
    const served = (suffix: string) =>
      w.fake.requests.filter((r) => (r.body as { model?: string })?.model === `${model}-${suffix}`)
        .length;
    expect(served('east') + served('west')).toBe(40);
    expect(served('east')).toBeGreaterThanOrEqual(5);
    expect(served('west')).toBeGreaterThanOrEqual(5);
  });

  it('answers 504 when every attempt times out, and records the timeout', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 5 });
    w.fake.setBehavior({ mode: 'ok', perModel: { [model]: { mode: 'hang' } } });
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(res.status).toBe(504);
    expect(res.body.code).toBe('UPSTREAM_TIMEOUT');
    const rows = await w.pg.query(
      `SELECT c.status, c.error_class, j.status AS job_status FROM llm_calls c JOIN jobs j USING (job_id) WHERE c.team_id = $1`,
      [teamId],
    );
    expect(rows.rows).toEqual([{ status: 'error', error_class: 'timeout', job_status: 'failed' }]);
    // the failed one-call job is free and its hold is gone
    expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 0, holds: 0 });
  });

  it('passes a provider refusal of the request on as 400, with its reason and no fallback', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group], credits: 5 });
    w.fake.setBehavior({
      mode: 'ok',
      perModel: {
        [model]: { mode: 'status', status: 400, errorMessage: 'maximum context length exceeded' },
      },
    });
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('UPSTREAM_BAD_REQUEST');
    expect(res.body.detail).toContain('maximum context length exceeded');
    expect(JSON.stringify(res.body)).not.toContain(w.providerKey);
    expect(w.fake.requests).toHaveLength(1); // not retryable: no second attempt
  });

  it("answers 502 without the provider's words when the provider refuses the gateway's credential", async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group], credits: 5 });
    const providerText = `Incorrect API key provided: sk-ab…${w.providerKey.slice(-4)}`;
    w.fake.setBehavior({
      mode: 'ok',
      perModel: { [model]: { mode: 'status', status: 401, errorMessage: providerText } },
    });
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(res.status).toBe(502);
    expect(res.body.code).toBe('UPSTREAM_ERROR');
    expect(res.body.detail).toMatch(/auth error \(status 401\)/);
    expect(JSON.stringify(res.body)).not.toContain('Incorrect API key');
    expect(JSON.stringify(res.body)).not.toContain(w.providerKey.slice(-4));
  });

  it('answers 429 with Retry-After when every deployment is rate limited by its provider', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({ groups: [group], credits: 5 });
    w.fake.setBehavior({
      mode: 'ok',
      perModel: { [model]: { mode: 'status', status: 429, retryAfter: 7 } },
    });
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(res.status).toBe(429);
    expect(res.body.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(res.headers.get('retry-after')).toBe('7'); // the provider's own Retry-After
    expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 0, holds: 0 });
  });

  it("never serves a team with another organization's provider credential", async () => {
    const { model, group } = await w.modelInGroup(); // on the credential of w.org
    const otherOrg = uid('org');
    await call(w.admin.url, 'POST', '/api/organizations/create', {
      admin: true,
      body: { organization_id: otherOrg, name: 'Other' },
    });
    const team = await call(w.admin.url, 'POST', '/api/teams/create', {
      admin: true,
      body: {
        organization_id: otherOrg,
        team_id: uid('team'),
        model_groups: [group],
        credits_allocated: 5,
      },
    });
    expect(team.status).toBe(201);
    const res = await w.gw('POST', '/api/jobs/create-and-call', team.body.virtual_key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(res.status).toBe(503);
    expect(w.fake.requests).toHaveLength(0);
    expect(JSON.stringify(res.body)).not.toContain(w.providerKey);
  });

  describe('catalog changes reach the gateway within 1 s', () => {
    const call1 = (key: string, model: string) =>
      w.gw('POST', '/api/jobs/create-and-call', key, { job_type: 'x', model, messages: hello });

    it("taking a group from a team (its cached catalog warm) refuses the team's next call", async () => {
      const { model, group } = await w.modelInGroup();
      const { teamId, key } = await w.team({ groups: [group], credits: 1000 });
      expect((await call1(key, model)).status).toBe(200); // catalog and team groups cached
      const res = await call(w.admin.url, 'PUT', `/api/teams/${teamId}/model-groups`, {
        admin: true,
        body: { model_groups: [] },
      });
      expect(res.status).toBe(200);
      await eventually(
        async () => (await call1(key, model)).body.code === 'MODEL_ACCESS_DENIED',
        1000,
      );
    });

    it('changing the models of a group takes the old model away at once', async () => {
      const { model, group } = await w.modelInGroup();
      const other = uid('model');
      await w.model(other);
      const { key } = await w.team({ groups: [group], credits: 1000 });
      expect((await call1(key, model)).status).toBe(200);
      const res = await call(w.admin.url, 'PUT', `/api/model-groups/${group}/models`, {
        admin: true,
        body: { models: [other] },
      });
      expect(res.status).toBe(200);
      await eventually(
        async () => (await call1(key, model)).body.code === 'MODEL_ACCESS_DENIED',
        1000,
      );
      expect((await call1(key, other)).status).toBe(200);
    });
  });
});
