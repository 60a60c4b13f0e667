import { hello, World } from '../apps/team-gateway/test/gateway-fixtures';
import { uid } from './helpers/apps';
import { call } from './helpers/http';
import { registeredRoutes } from './helpers/routes';

/**
 * Security probes of the reliability issue (OWASP API Top 10), part 2: mass assignment (API3).
 * Every create and update body of both services, with a field the caller may not set, is refused
 * with a 400 naming the field, and nothing changes. A route with a body and no probe fails here.
 */
describe('security probes: mass assignment', () => {
  let w: World;
  let model: string;
  let group: string;

  const admin = (method: string, path: string, body?: unknown) =>
    call(w.admin.url, method, path, { admin: true, body });

  /** The target of the probes: a team of the caller's organization, its key and open job. */
  const t = {
    teamId: '',
    key: '',
    keyId: '',
    jobId: '',
    credentialId: '',
    modelId: '',
    webhookId: '',
  };
  const fresh = { org: uid('org-new'), team: uid('team-new'), model: uid('model-new') };
  const freshGroup = uid('group-new');
  const freshCredential = uid('cred-new');
  const LOCAL = 'http://127.0.0.1:9/v1';
  const VALUES: Record<string, unknown> = {
    credits_allocated: 1_000_000,
    credits_used: 0,
    credits_remaining: 1_000_000,
    credits_held: 0,
    credits: 1_000_000,
    credits_charged: 0,
    status: 'active',
    organization_id: 'org-elsewhere',
    team_id: 'team-elsewhere',
    spend: 0,
    total_spend: 0,
    key_hash: 'f'.repeat(64),
    key_id: '00000000-0000-4000-8000-000000000000',
    model_id: '00000000-0000-4000-8000-000000000000',
    credential_id: '00000000-0000-4000-8000-000000000000',
    group_name: 'group-elsewhere',
    is_active: true,
    api_key_encrypted: 'AAAA',
    provider: 'openai',
    transaction_type: 'allocation',
    cost_usd: 0,
    total_cost_usd: 0,
    created_at: '2020-01-01T00:00:00Z',
    completed_at: '2020-01-01T00:00:00Z',
    secret: 'whsec_chosen-by-the-caller',
    secret_encrypted: 'AAAA',
    webhook_id: '00000000-0000-4000-8000-000000000000',
    attempts: 0,
  };
  const call1 = () => ({ model, messages: hello });

  /** Route, concrete path, a body the route accepts, and the fields it must refuse. */
  type Case = [string, () => string, () => Record<string, unknown>, string[]];
  const CREDITS = ['credits_allocated', 'credits_used', 'credits_remaining', 'credits_held'];
  const adminCases: Case[] = [
    [
      'POST /api/organizations/create',
      () => '/api/organizations/create',
      () => ({ organization_id: fresh.org, name: 'x' }),
      ['status', 'credits_allocated', 'spend'],
    ],
    [
      'POST /api/teams/create',
      () => '/api/teams/create',
      () => ({ organization_id: w.org, team_id: fresh.team, credits_allocated: 5 }),
      ['credits_used', 'credits_remaining', 'credits_held', 'status', 'key_hash', 'spend'],
    ],
    [
      'PATCH /api/teams/:team_id',
      () => `/api/teams/${t.teamId}`,
      () => ({ team_alias: 'renamed' }),
      [...CREDITS, 'credits', 'status', 'team_id', 'organization_id', 'spend'],
    ],
    [
      'PUT /api/teams/:team_id/model-groups',
      () => `/api/teams/${t.teamId}/model-groups`,
      () => ({ model_groups: [group] }),
      ['team_id', 'credits_allocated', 'status'],
    ],
    [
      'POST /api/teams/:team_id/keys',
      () => `/api/teams/${t.teamId}/keys`,
      () => ({ key_alias: 'extra' }),
      ['spend', 'total_spend', 'key_hash', 'team_id', 'status', 'key_id'],
    ],
    [
      'PATCH /api/keys/:key_id',
      () => `/api/keys/${t.keyId}`,
      () => ({ key_alias: 'renamed' }),
      ['spend', 'total_spend', 'key_hash', 'team_id', 'status'],
    ],
    [
      'POST /api/keys/:key_id/rotate',
      () => `/api/keys/${t.keyId}/rotate`,
      () => ({}),
      ['key_hash', 'team_id', 'spend', 'status'],
    ],
    [
      'POST /api/credits/teams/:team_id/add',
      () => `/api/credits/teams/${t.teamId}/add`,
      () => ({ credits: 5 }),
      ['credits_allocated', 'credits_used', 'team_id', 'transaction_type'],
    ],
    [
      'PATCH /api/credits/teams/:team_id/budget-mode',
      () => `/api/credits/teams/${t.teamId}/budget-mode`,
      () => ({ budget_mode: 'consumption_usd', credits_per_dollar: 3 }),
      ['credits_allocated', 'credits_used', 'team_id'],
    ],
    [
      'POST /api/credits/teams/:team_id/configure-auto-refill',
      () => `/api/credits/teams/${t.teamId}/configure-auto-refill`,
      () => ({ enabled: true, refill_amount: 5, refill_period: 'daily' }),
      ['credits_allocated', 'team_id', 'status'],
    ],
    [
      'POST /api/provider-credentials/create',
      () => '/api/provider-credentials/create',
      () => ({
        organization_id: w.org,
        provider: 'openai-compatible',
        credential_name: freshCredential,
        api_base: LOCAL,
      }),
      ['is_active', 'api_key_encrypted', 'credential_id', 'status'],
    ],
    [
      'PUT /api/provider-credentials/:credential_id',
      () => `/api/provider-credentials/${t.credentialId}`,
      () => ({ credential_name: uid('renamed') }),
      ['organization_id', 'provider', 'api_key_encrypted', 'is_active'],
    ],
    [
      'POST /api/models/create',
      () => '/api/models/create',
      () => ({
        model_name: fresh.model,
        provider: 'openai-compatible',
        provider_model: 'x',
        api_base: LOCAL,
        input_price_per_million: 1,
        output_price_per_million: 1,
      }),
      ['model_id', 'created_at', 'organization_id'],
    ],
    [
      'PUT /api/models/:model_id',
      () => `/api/models/${t.modelId}`,
      () => ({ weight: 3 }),
      ['model_id', 'created_at', 'organization_id'],
    ],
    [
      'POST /api/model-groups/create',
      () => '/api/model-groups/create',
      () => ({ group_name: freshGroup, models: [model] }),
      ['created_at', 'team_id', 'organization_id'],
    ],
    [
      'PUT /api/model-groups/:group_name/models',
      () => `/api/model-groups/${group}/models`,
      () => ({ models: [model] }),
      ['group_name', 'team_id', 'created_at'],
    ],
    [
      'POST /api/webhooks',
      () => '/api/webhooks',
      () => ({ url: 'http://127.0.0.1:9/hook', events: ['credits.added'], organization_id: w.org }),
      ['secret', 'secret_encrypted', 'webhook_id', 'created_at'],
    ],
    [
      'PATCH /api/webhooks/:webhook_id',
      () => `/api/webhooks/${t.webhookId}`,
      () => ({ description: 'renamed' }),
      ['secret', 'secret_encrypted', 'webhook_id', 'attempts'],
    ],
  ];
  /** Actions whose body is not read. */
  const ADMIN_NO_BODY = [
    'PUT /api/teams/:team_id/suspend',
    'PUT /api/teams/:team_id/pause',
    'PUT /api/teams/:team_id/resume',
    'PUT /api/provider-credentials/:credential_id/activate',
    'PUT /api/provider-credentials/:credential_id/deactivate',
    'POST /api/webhooks/:webhook_id/rotate-secret',
  ];
  const gatewayCases: Case[] = [
    [
      'POST /api/jobs/create',
      () => '/api/jobs/create',
      () => ({ job_type: 'x' }),
      ['status', 'key_id', 'credits_charged', 'organization_id'],
    ],
    [
      'POST /api/jobs/create-and-call',
      () => '/api/jobs/create-and-call',
      () => ({ job_type: 'x', ...call1() }),
      ['status', 'credits_charged', 'cost_usd', 'organization_id'],
    ],
    [
      'POST /api/jobs/create-and-call-stream',
      () => '/api/jobs/create-and-call-stream',
      () => ({ job_type: 'x', ...call1() }),
      ['status', 'credits_charged', 'cost_usd', 'organization_id'],
    ],
    [
      'PATCH /api/jobs/:job_id/metadata',
      () => `/api/jobs/${t.jobId}/metadata`,
      () => ({ metadata: { a: 1 } }),
      ['status', 'team_id', 'credits_charged'],
    ],
    [
      'POST /api/jobs/:job_id/llm-call',
      () => `/api/jobs/${t.jobId}/llm-call`,
      call1,
      ['team_id', 'cost_usd', 'credits_charged', 'status'],
    ],
    [
      'POST /api/jobs/:job_id/llm-call-stream',
      () => `/api/jobs/${t.jobId}/llm-call-stream`,
      call1,
      ['team_id', 'cost_usd', 'credits_charged', 'status'],
    ],
    [
      'POST /api/jobs/:job_id/complete',
      () => `/api/jobs/${t.jobId}/complete`,
      () => ({ status: 'failed' }),
      ['credits_charged', 'team_id', 'total_cost_usd', 'completed_at'],
    ],
  ];
  /**
   * OpenAI's wire format: unknown fields are dropped, as OpenAI does; the Responses API keeps them
   * only for an `openai` deployment's pass-through, Anthropic's only for an Anthropic upstream
   * (billing is the key's). Checked below.
   */
  const GATEWAY_LENIENT = [
    'POST /v1/chat/completions',
    'POST /chat/completions',
    'POST /v1/embeddings',
    'POST /v1/completions',
    'POST /v1/responses',
    'POST /v1/messages',
    'POST /v1/messages/count_tokens',
  ];

  beforeAll(async () => {
    w = await World.start();
    ({ model, group } = await w.modelInGroup());
    Object.assign(t, await w.team({ groups: [group], credits: 40 }));
    t.keyId = (await admin('GET', `/api/teams/${t.teamId}/keys`)).body.data[0].key_id;
    t.jobId = (await w.gw('POST', '/api/jobs/create', t.key, { job_type: 'open' })).body.job_id;
    const credential = await admin('POST', '/api/provider-credentials/create', {
      organization_id: w.org,
      provider: 'openai-compatible',
      credential_name: uid('cred'),
      api_base: LOCAL,
    });
    t.credentialId = credential.body.credential_id;
    const deployment = await admin('POST', '/api/models/create', {
      model_name: uid('model'),
      provider: 'openai-compatible',
      provider_model: 'x',
      credential_id: t.credentialId,
      input_price_per_million: 1,
      output_price_per_million: 1,
    });
    t.modelId = deployment.body.model_id;
    const webhook = await admin('POST', '/api/webhooks', {
      url: 'http://127.0.0.1:9/hook',
      events: ['team.suspended'],
      team_id: t.teamId,
    });
    t.webhookId = webhook.body.webhook_id;
  });
  afterAll(() => w.stop());

  /** Every row a probe could have created or changed. */
  async function state() {
    const rows = async (sql: string, params: unknown[]) => (await w.pg.query(sql, params)).rows;
    const ofOrg = 'SELECT team_id FROM teams WHERE organization_id = $1';
    return {
      orgs: await rows('SELECT * FROM organizations WHERE organization_id = ANY($1)', [
        [w.org, fresh.org],
      ]),
      teams: await rows('SELECT * FROM teams WHERE organization_id = $1 ORDER BY team_id', [w.org]),
      groups: await rows(`SELECT * FROM team_model_groups WHERE team_id IN (${ofOrg})`, [w.org]),
      keys: await rows(
        `SELECT key_id, key_hash, key_alias, status, spend, total_spend, metadata, expires_at
           FROM virtual_keys WHERE team_id IN (${ofOrg}) ORDER BY key_id`,
        [w.org],
      ),
      ledger: await rows(
        `SELECT transaction_id FROM credit_transactions WHERE team_id IN (${ofOrg}) ORDER BY 1`,
        [w.org],
      ),
      jobs: await rows(`SELECT * FROM jobs WHERE team_id IN (${ofOrg}) ORDER BY job_id`, [w.org]),
      calls: await rows(`SELECT call_id FROM llm_calls WHERE team_id IN (${ofOrg})`, [w.org]),
      credentials: await rows(
        'SELECT * FROM provider_credentials WHERE organization_id = $1 ORDER BY credential_id',
        [w.org],
      ),
      models: await rows('SELECT * FROM model_deployments ORDER BY model_id', []),
      modelGroups: await rows('SELECT * FROM model_groups ORDER BY group_name', []),
      webhooks: await rows(
        `SELECT * FROM webhooks WHERE team_id IN (${ofOrg}) OR organization_id = $1 ORDER BY webhook_id`,
        [w.org],
      ),
      upstream: w.fake.requests.length,
    };
  }

  function covers(app: World['admin'], cases: Case[], exempt: string[]) {
    const writes = registeredRoutes(app.app)
      .filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method) && r.path !== '/{*path}')
      .map((r) => `${r.method} ${r.path}`);
    expect(writes.length).toBeGreaterThan(3);
    const probed = [...cases.map(([route]) => route), ...exempt];
    expect(writes.filter((r) => !probed.includes(r))).toEqual([]);
  }

  async function refused(service: 'admin' | 'gateway', [route, path, body, fields]: Case) {
    const before = await state();
    const [method] = route.split(' ');
    for (const field of fields) {
      const res = await call(service === 'admin' ? w.admin.url : w.gateway.url, method, path(), {
        ...(service === 'admin' ? { admin: true } : { bearer: t.key }),
        body: { ...body(), [field]: VALUES[field] },
      });
      expect({ route, field, status: res.status, body: res.body }).toEqual({
        route,
        field,
        status: 400,
        body: {
          code: 'VALIDATION_ERROR',
          // the field alone: the rest of the body is valid
          detail: expect.stringMatching(new RegExp(`^${field}: [^;]*$`)),
        },
      });
    }
    expect(await state()).toEqual(before);
  }

  it('probes every admin route with a body', () => covers(w.admin, adminCases, ADMIN_NO_BODY));
  it('probes every gateway route with a body', () =>
    covers(w.gateway, gatewayCases, GATEWAY_LENIENT));

  it.each(adminCases)('admin %s', async (...c) => refused('admin', c));
  it.each(gatewayCases)('gateway %s', async (...c) => refused('gateway', c));

  it('PATCH /api/teams/{id} names credits as settable only through the credits endpoints', async () => {
    const { teamId } = await w.team({ groups: [group], credits: 40 });
    const res = await admin('PATCH', `/api/teams/${teamId}`, { credits_allocated: 999 });
    expect(res.body.detail).toMatch(/^credits_allocated: cannot be set here: .*\/add/);
    expect((await admin('GET', `/api/credits/teams/${teamId}/balance`)).body).toMatchObject({
      credits_allocated: 40,
      credits_used: 0,
    });
  });

  it("/v1/chat/completions drops unknown fields: another team's team_id bills the caller", async () => {
    const caller = await w.team({ groups: [group], credits: 30 });
    const other = await w.team({ groups: [group], credits: 30 });
    const before = await w.team_row(other.teamId);
    const res = await w.gw('POST', '/v1/chat/completions', caller.key, {
      ...call1(),
      team_id: other.teamId,
      credits_used: 0,
    });
    expect(res.status).toBe(200);
    const job = await w.pg.query('SELECT team_id FROM jobs WHERE job_id = $1', [
      res.headers.get('x-job-id'),
    ]);
    expect(job.rows).toEqual([{ team_id: caller.teamId }]);
    expect(await w.team_row(other.teamId)).toEqual(before);
    const jobs = await w.pg.query('SELECT 1 FROM jobs WHERE team_id = $1', [other.teamId]);
    expect(jobs.rows).toEqual([]);
  });

  it("/v1/messages ignores unknown fields: another team's team_id bills the caller", async () => {
    const caller = await w.team({ groups: [group], credits: 30 });
    const other = await w.team({ groups: [group], credits: 30 });
    const before = await w.team_row(other.teamId);
    const res = await w.gw('POST', '/v1/messages', caller.key, {
      model,
      max_tokens: 20,
      messages: [{ role: 'user', content: 'hi' }],
      team_id: other.teamId,
      key_id: other.teamId,
      credits_used: 0,
      passthrough: { anthropic: { model: 'x' } },
    });
    expect(res.status).toBe(200);
    const job = await w.pg.query('SELECT team_id, job_type FROM jobs WHERE job_id = $1', [
      res.headers.get('x-job-id'),
    ]);
    expect(job.rows).toEqual([{ team_id: caller.teamId, job_type: 'messages' }]);
    expect(await w.team_row(other.teamId)).toEqual(before);
    const upstream = w.fake.requests.at(-1)!.body as Record<string, unknown>;
    expect(upstream).not.toHaveProperty('team_id');
    expect(upstream).not.toHaveProperty('passthrough');
  });
});
