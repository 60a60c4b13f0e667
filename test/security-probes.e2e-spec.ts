import { hello, World } from '../apps/team-gateway/test/gateway-fixtures';
import { MASTER_KEY, uid } from './helpers/apps';
import { call, eventually, JsonResponse } from './helpers/http';
import { registeredRoutes } from './helpers/routes';

/**
 * Security probes of the reliability issue (OWASP API Top 10), part 1: object-level
 * authorization (API1) and the class of credential (API2). Each probe enumerates the registered
 * routes, so a new route without a probe fails here.
 */
describe('security probes: who may touch what', () => {
  let w: World;
  let model: string;
  let group: string;
  /** The caller. */
  const a = { teamId: '', key: '', keyId: '', jobId: '' };
  /** Another team, in another organization: its ids and values must never reach the caller. */
  const b = {
    org: uid('org-b'),
    teamId: '',
    key: '',
    keyId: '',
    jobId: '',
    callId: '',
    marker: uid('secret-meta'),
    jobType: uid('secret-type'),
    /** A model group only B may use. */
    group: '',
  };
  const B_CREDITS = 7919;

  const admin = (method: string, path: string, body?: unknown) =>
    call(w.admin.url, method, path, { admin: true, body });

  beforeAll(async () => {
    w = await World.start();
    ({ model, group } = await w.modelInGroup());
    Object.assign(a, await w.team({ groups: [group] }));
    a.keyId = (await admin('GET', `/api/teams/${a.teamId}/keys`)).body.data[0].key_id;
    a.jobId = (await w.gw('POST', '/api/jobs/create', a.key, { job_type: 'mine' })).body.job_id;

    await admin('POST', '/api/organizations/create', { organization_id: b.org, name: b.org });
    // credentials belong to an organization: B's org gets its own deployment of the same model
    const credential = await admin('POST', '/api/provider-credentials/create', {
      organization_id: b.org,
      provider: 'openai-compatible',
      credential_name: uid('cred-b'),
      api_key: w.providerKey,
      api_base: `${w.fake.url}/v1`,
    });
    const deployment = await admin('POST', '/api/models/create', {
      model_name: model,
      provider: 'openai-compatible',
      provider_model: model,
      credential_id: credential.body.credential_id,
      input_price_per_million: 2,
      output_price_per_million: 8,
    });
    expect(deployment.status).toBe(201);
    b.teamId = uid('team-b');
    const created = await admin('POST', '/api/teams/create', {
      organization_id: b.org,
      team_id: b.teamId,
      model_groups: [group],
      credits_allocated: B_CREDITS,
      metadata: { note: b.marker },
    });
    expect(created.status).toBe(201);
    b.key = created.body.virtual_key;
    b.keyId = created.body.key_id;
    ({ group: b.group } = await w.modelInGroup());
    await admin('PUT', `/api/teams/${b.teamId}/model-groups`, { model_groups: [group, b.group] });
    const job = await w.gw('POST', '/api/jobs/create', b.key, {
      job_type: b.jobType,
      metadata: { note: b.marker },
    });
    b.jobId = job.body.job_id;
    const called = await w.gw('POST', `/api/jobs/${b.jobId}/llm-call`, b.key, {
      model,
      messages: hello,
    });
    if (called.status !== 200) throw new Error(JSON.stringify(called));
    b.callId = called.body.call_id;
    // the journal writes the call shortly after; the probes compare the victim's rows before/after
    await eventually(async () => (await victimState()).calls.n === 1);
  });
  afterAll(() => w.stop());

  /** The victim's books, job and calls, and what reached the upstream. */
  async function victimState() {
    const job = await w.pg.query(
      'SELECT status, metadata, credits_charged FROM jobs WHERE team_id = $1 ORDER BY job_id',
      [b.teamId],
    );
    const calls = await w.pg.query('SELECT count(*)::int AS n FROM llm_calls WHERE team_id = $1', [
      b.teamId,
    ]);
    return {
      books: await w.team_row(b.teamId),
      jobs: job.rows,
      calls: calls.rows[0],
      upstream: w.fake.requests.length,
    };
  }

  describe("BOLA: another team's ids with the caller's key → 403 or 404, none of its data", () => {
    const asA = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
      call(w.gateway.url, method, path, { bearer: a.key, body, headers });
    const oneCall = () => ({ model, messages: hello });
    /** Every gateway route that takes an id, and the routes that take a team or job id elsewhere. */
    const probes: Array<[string, () => Promise<JsonResponse>]> = [
      ['GET /api/jobs/:job_id', () => asA('GET', `/api/jobs/${b.jobId}`)],
      [
        'PATCH /api/jobs/:job_id/metadata',
        () => asA('PATCH', `/api/jobs/${b.jobId}/metadata`, { metadata: { x: 1 } }),
      ],
      [
        'POST /api/jobs/:job_id/llm-call',
        () => asA('POST', `/api/jobs/${b.jobId}/llm-call`, oneCall()),
      ],
      [
        'POST /api/jobs/:job_id/llm-call-stream',
        () => asA('POST', `/api/jobs/${b.jobId}/llm-call-stream`, oneCall()),
      ],
      [
        'POST /api/jobs/:job_id/complete',
        () => asA('POST', `/api/jobs/${b.jobId}/complete`, { status: 'completed' }),
      ],
      ['GET /api/jobs/:job_id/costs', () => asA('GET', `/api/jobs/${b.jobId}/costs`)],
      ['GET /api/teams/:team_id', () => asA('GET', `/api/teams/${b.teamId}`)],
      ['GET /api/teams/:team_id/jobs', () => asA('GET', `/api/teams/${b.teamId}/jobs`)],
      ['GET /api/teams/:team_id/usage', () => asA('GET', `/api/teams/${b.teamId}/usage`)],
      [
        'GET /api/credits/teams/:team_id/balance',
        () => asA('GET', `/api/credits/teams/${b.teamId}/balance`),
      ],
      [
        'GET /api/credits/teams/:team_id/transactions',
        () => asA('GET', `/api/credits/teams/${b.teamId}/transactions`),
      ],
      ['GET /api/credits/balance', () => asA('GET', `/api/credits/balance?team_id=${b.teamId}`)],
      [
        'POST /api/jobs/create',
        () => asA('POST', '/api/jobs/create', { team_id: b.teamId, job_type: 'x' }),
      ],
      [
        'POST /api/jobs/create-and-call',
        () =>
          asA('POST', '/api/jobs/create-and-call', {
            ...oneCall(),
            team_id: b.teamId,
            job_type: 'x',
          }),
      ],
      [
        'POST /api/jobs/create-and-call-stream',
        () =>
          asA('POST', '/api/jobs/create-and-call-stream', {
            ...oneCall(),
            team_id: b.teamId,
            job_type: 'x',
          }),
      ],
      [
        'POST /v1/chat/completions (X-Job-Id)',
        () => asA('POST', '/v1/chat/completions', oneCall(), { 'X-Job-Id': b.jobId }),
      ],
      [
        'POST /v1/responses (X-Job-Id)',
        () =>
          asA(
            'POST',
            '/v1/responses',
            { model: oneCall().model, input: 'x' },
            { 'X-Job-Id': b.jobId },
          ),
      ],
      // nothing is stored: any id, another team's job included, is a 404
      ['GET /v1/responses/:response_id', () => asA('GET', `/v1/responses/resp_${b.jobId}`)],
      ['GET /v1/models/:model', () => asA('GET', `/v1/models/${b.group}`)],
      ['GET /models/:model', () => asA('GET', `/models/${b.group}`)],
    ];

    it('probes every gateway route with an id parameter', () => {
      const withIds = registeredRoutes(w.gateway.app)
        .filter((r) => r.path.includes(':'))
        .map((r) => `${r.method} ${r.path}`);
      expect(withIds.length).toBeGreaterThan(5);
      const probed = probes.map(([route]) => route);
      expect(withIds.filter((r) => !probed.includes(r))).toEqual([]);
    });

    it.each(probes)('%s', async (route, send) => {
      const before = await victimState();
      const res = await send();
      const refused = res.status === 403 || res.status === 404;
      expect({ route, status: refused ? 'refused' : res.status }).toEqual({
        route,
        status: 'refused',
      });
      const text = JSON.stringify(res.body) + [...res.headers].join('\n');
      const victim = [b.teamId, b.org, b.keyId, b.callId, b.marker, b.jobType, String(B_CREDITS)];
      expect(victim.filter((v) => text.includes(v))).toEqual([]);
      expect(await victimState()).toEqual(before);
    });

    it('the same routes with the owner key answer (the probes hit real data)', async () => {
      expect((await w.gw('GET', `/api/jobs/${b.jobId}/costs`, b.key)).body.calls).toHaveLength(1);
      expect((await w.gw('GET', `/api/teams/${b.teamId}`, b.key)).body.team_id).toBe(b.teamId);
      expect((await w.gw('GET', `/api/jobs/${a.jobId}`, a.key)).status).toBe(200);
    });
  });

  describe('wrong credential class → 401', () => {
    // /ui: the console's static files (route-auth.e2e-spec.ts keeps the list of public routes)
    const PUBLIC = /^\/(health|docs|metrics|ui)|^\/\{\*path\}$/;
    const ZERO_UUID = '00000000-0000-4000-8000-000000000000';

    function concrete(path: string): string {
      const ids: Record<string, string> = {
        team_id: a.teamId,
        org_id: w.org,
        key_id: a.keyId,
        job_id: a.jobId,
        group_name: group,
        model: group,
      };
      return path.replace(
        /:([A-Za-z_]+)/g,
        (_m, name: string) => ids[name] ?? (name.endsWith('_id') ? ZERO_UUID : uid(name)),
      );
    }

    /** Every protected route of `app` called with `auth`; the routes that did not answer 401. */
    async function notRefused(app: World['admin'], auth: Record<string, string>) {
      const answered: string[] = [];
      for (const route of registeredRoutes(app.app)) {
        if (PUBLIC.test(route.path)) continue;
        const res = await call(app.url, route.method, concrete(route.path), {
          headers: auth,
          body: ['POST', 'PUT', 'PATCH'].includes(route.method) ? {} : undefined,
        });
        if (res.status !== 401) answered.push(`${route.method} ${route.path} → ${res.status}`);
      }
      return answered;
    }

    it('admin-api refuses a virtual key as X-Admin-Key', async () => {
      expect(await notRefused(w.admin, { 'X-Admin-Key': a.key })).toEqual([]);
    });

    it('admin-api refuses a virtual key as Bearer', async () => {
      expect(await notRefused(w.admin, { Authorization: `Bearer ${a.key}` })).toEqual([]);
    });

    it('the gateway refuses the master key as Bearer and as X-Admin-Key', async () => {
      expect(await notRefused(w.gateway, { Authorization: `Bearer ${MASTER_KEY}` })).toEqual([]);
      expect(await notRefused(w.gateway, { 'X-Admin-Key': MASTER_KEY })).toEqual([]);
    });

    it('the same keys in their own class are accepted', async () => {
      expect((await admin('GET', `/api/teams/${a.teamId}`)).status).toBe(200);
      expect((await w.gw('GET', '/api/teams/verify', a.key)).status).toBe(200);
    });
  });
});
