import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { startFakeUpstream } from './fake-upstream/server';
import { MASTER_KEY, RunningApp, startAdmin, startGateway, uid } from './helpers/apps';
import { registeredRoutes } from './helpers/routes';

interface Seen {
  what: string;
  status: number;
  /** The raw body and every response header, as the client receives them. */
  text: string;
  /** The key this response issued (create, rotate): allowed in its `virtual_key` field only. */
  issued?: string;
}

const hello = [{ role: 'user', content: 'Say hello' }];

/**
 * SPEC §1-2: no endpoint ever returns a stored virtual key, its hash, or a provider api_key. Every
 * registered GET route of both services is walked with real ids after real traffic.
 */
describe('no response of any endpoint contains a virtual key, a key hash or a provider api_key', () => {
  let admin: RunningApp;
  let gateway: RunningApp;
  let fake: Awaited<ReturnType<typeof startFakeUpstream>>;
  let db: DataSource;

  const org = uid('org');
  const teamId = uid('team');
  const modelName = uid('model');
  const group = uid('group');
  const providerKey = `sk-provider-${randomBytes(24).toString('hex')}`;
  const issued: string[] = [];
  const setup: Seen[] = [];
  const ids = {
    key_id: [] as string[],
    job_id: [] as string[],
    credential_id: [] as string[],
    model_id: [] as string[],
    webhook_id: [] as string[],
  };
  /** key_hash, api_key_encrypted and secret_encrypted values read from the database after the set-up. */
  const stored: string[] = [];

  async function request(
    what: string,
    service: RunningApp,
    method: string,
    path: string,
    auth: { admin?: boolean; bearer?: string },
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Seen & { json: any }> {
    const res = await fetch(service.url + path, {
      method,
      headers: {
        ...headers,
        ...(auth.admin ? { 'X-Admin-Key': MASTER_KEY } : {}),
        ...(auth.bearer ? { Authorization: `Bearer ${auth.bearer}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const raw = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(raw);
    } catch {
      // not JSON (docs, metrics)
    }
    const head = [...res.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
    return { what, status: res.status, text: `${head}\n\n${raw}`, json };
  }

  /** A set-up request: must succeed; its response is kept for the leak check. */
  async function step(
    what: string,
    service: RunningApp,
    method: string,
    path: string,
    auth: { admin?: boolean; bearer?: string },
    body?: unknown,
    headers?: Record<string, string>,
  ) {
    const res = await request(what, service, method, path, auth, body, headers);
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
    const key = (res.json as { virtual_key?: unknown } | null)?.virtual_key;
    if (typeof key === 'string') {
      issued.push(key);
      res.issued = key;
    }
    setup.push(res);
    return res.json;
  }

  const asAdmin = { admin: true };
  const viaAdmin = (
    what: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => step(what, admin, method, path, asAdmin, body, headers);
  const viaGateway = (what: string, key: string, path: string, body: unknown) =>
    step(what, gateway, 'POST', path, { bearer: key }, body);

  /** Every secret of this test, in full and without its `sk-` prefix. */
  function secrets(): string[] {
    const keys = [...issued, providerKey];
    return [
      ...keys,
      ...keys.map((k) => k.slice(3)),
      ...stored,
      ...stored.map((s) => s.toUpperCase()),
    ];
  }

  const leaksIn = (text: string) => secrets().filter((secret) => text.includes(secret));

  beforeAll(async () => {
    [admin, gateway, fake] = await Promise.all([startAdmin(), startGateway(), startFakeUpstream()]);
    db = admin.app.get(DataSource);

    await viaAdmin('org', 'POST', '/api/organizations/create', {
      organization_id: org,
      name: org,
    });
    const credential = await viaAdmin('credential', 'POST', '/api/provider-credentials/create', {
      organization_id: org,
      provider: 'openai-compatible',
      credential_name: uid('cred'),
      api_key: providerKey,
      api_base: `${fake.url}/v1`,
    });
    ids.credential_id.push(credential.credential_id);
    const model = await viaAdmin('model', 'POST', '/api/models/create', {
      model_name: modelName,
      provider: 'openai-compatible',
      provider_model: modelName,
      credential_id: credential.credential_id,
      input_price_per_million: 2,
      output_price_per_million: 8,
    });
    ids.model_id.push(model.model_id);
    await viaAdmin('group', 'POST', '/api/model-groups/create', {
      group_name: group,
      models: [modelName],
    });
    const team = await viaAdmin('team', 'POST', '/api/teams/create', {
      organization_id: org,
      team_id: teamId,
      team_alias: 'secrets',
      model_groups: [group],
      credits_allocated: 100,
    });
    ids.key_id.push(team.key_id);
    const second = await viaAdmin('second key', 'POST', `/api/teams/${teamId}/keys`, {
      key_alias: 'second',
      max_budget: 50,
      budget_duration: '30d',
    });
    ids.key_id.push(second.key_id);
    const rotated = await viaAdmin('rotate', 'POST', `/api/keys/${second.key_id}/rotate`, {
      grace_period: '1h',
    });
    ids.key_id.push(rotated.key_id);
    await viaAdmin('patch key', 'PATCH', `/api/keys/${rotated.key_id}`, { metadata: { a: 1 } });
    await viaAdmin('patch team', 'PATCH', `/api/teams/${teamId}`, { rpm_limit: 1000 });
    const webhook = await viaAdmin('webhook', 'POST', '/api/webhooks', {
      url: 'http://127.0.0.1:9/hook',
      events: ['credits.added'],
      team_id: teamId,
    });
    ids.webhook_id.push(webhook.webhook_id);
    await viaAdmin(
      'add credits',
      'POST',
      `/api/credits/teams/${teamId}/add`,
      { credits: 5, reason: 'top-up' },
      { 'Idempotency-Key': uid('idem') },
    );

    // Traffic with each key: a job with a call, a one-call job, and an OpenAI-style request.
    const [key1, key2, key3] = issued;
    const job = await viaGateway('job', key1, '/api/jobs/create', { job_type: 'secrets' });
    ids.job_id.push(job.job_id);
    await viaGateway('llm-call', key1, `/api/jobs/${job.job_id}/llm-call`, {
      model: group,
      messages: hello,
    });
    await viaGateway('complete', key1, `/api/jobs/${job.job_id}/complete`, {
      status: 'completed',
    });
    await viaGateway('create-and-call', key2, '/api/jobs/create-and-call', {
      job_type: 'one-shot',
      model: modelName,
      messages: hello,
    });
    await viaGateway('/v1 chat', key3, '/v1/chat/completions', {
      model: modelName,
      messages: hello,
    });

    const jobs = await db.query<Array<{ job_id: string }>>(
      'SELECT job_id FROM jobs WHERE team_id = $1',
      [teamId],
    );
    for (const row of jobs) if (!ids.job_id.includes(row.job_id)) ids.job_id.push(row.job_id);
    const hashes = await db.query<Array<{ key_hash: string }>>(
      'SELECT key_hash FROM virtual_keys WHERE team_id = $1',
      [teamId],
    );
    const sealed = await db.query<Array<{ api_key_encrypted: string }>>(
      'SELECT api_key_encrypted FROM provider_credentials WHERE credential_id = $1',
      [credential.credential_id],
    );
    const sealedHooks = await db.query<Array<{ secret_encrypted: string }>>(
      'SELECT secret_encrypted FROM webhooks WHERE team_id = $1',
      [teamId],
    );
    stored.push(
      ...hashes.map((r) => r.key_hash),
      ...sealed.map((r) => r.api_key_encrypted),
      ...sealedHooks.map((r) => r.secret_encrypted),
    );
  });

  afterAll(async () => {
    await Promise.all([admin?.close(), gateway?.close(), fake?.close()]);
  });

  it('the set-up issued three keys and called the upstream with the provider key, three times', async () => {
    expect(issued).toHaveLength(3);
    expect(stored).toHaveLength(5);
    expect(ids.job_id).toHaveLength(3);
    const upstreamAuth = fake.requests.map((r) => r.headers.authorization);
    expect(upstreamAuth).toHaveLength(3);
    expect(new Set(upstreamAuth)).toEqual(new Set([`Bearer ${providerKey}`]));
    const calls = await db.query<Array<{ n: number }>>(
      'SELECT count(*)::int AS n FROM llm_calls WHERE team_id = $1',
      [teamId],
    );
    expect(calls[0].n).toBe(3);
  });

  it('set-up responses show a virtual key only once, in the virtual_key of the response that issued it', () => {
    expect(setup.length).toBeGreaterThanOrEqual(14);
    const leaks = setup.flatMap((res) => {
      const text = res.issued ? res.text.replace(`"virtual_key":"${res.issued}"`, '') : res.text;
      return leaksIn(text).map((secret) => `${res.what}: ${secret.slice(0, 12)}…`);
    });
    expect(leaks).toEqual([]);
    for (const res of setup.filter((r) => r.issued)) {
      expect(res.text.split(res.issued!.slice(3)).length - 1).toBe(1);
    }
  });

  /** Requests every GET route with every combination of the real ids for its path parameters. */
  async function walk(
    service: RunningApp,
    auth: { admin?: boolean; bearer?: string },
    values: Record<string, string[]>,
    queries: Record<string, string[]>,
  ) {
    const routes = registeredRoutes(service.app).filter(
      (r) => r.method === 'GET' && r.path !== '/{*path}',
    );
    const seen: Array<{ route: string; url: string; status: number; leaks: string[] }> = [];
    for (const route of routes) {
      const names = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]);
      const missing = names.filter((name) => !values[name]?.length);
      if (missing.length > 0) {
        throw new Error(`${route.path}: no test value for :${missing.join(', :')} — add one`);
      }
      let paths = [route.path];
      for (const name of names) {
        paths = paths.flatMap((p) => values[name].map((v) => p.replace(`:${name}`, v)));
      }
      for (const path of paths) {
        for (const query of ['', ...(queries[route.path] ?? [])]) {
          const res = await request(route.path, service, 'GET', path + query, auth);
          seen.push({
            route: route.path,
            url: path + query,
            status: res.status,
            leaks: leaksIn(res.text).map((s) => `${s.slice(0, 12)}…`),
          });
        }
      }
    }
    return seen;
  }

  /** Routes that never answered 200 (Swagger UI's static files aside): the walk missed real data. */
  const unanswered = (seen: Array<{ route: string; status: number }>) => {
    const answered = new Set(seen.filter((s) => s.status === 200).map((s) => s.route));
    return [...new Set(seen.map((s) => s.route))].filter(
      // GET /v1/responses/{id} is always a 404: the gateway stores no responses
      (route) =>
        !answered.has(route) &&
        !route.startsWith('/docs/') &&
        route !== '/v1/responses/:response_id',
    );
  };

  it('admin-api: every GET route, with every real id, leaks nothing', async () => {
    const everyId = [
      org,
      teamId,
      group,
      ...ids.key_id,
      ...ids.job_id,
      ...ids.credential_id,
      ...ids.model_id,
    ];
    const seen = await walk(
      admin,
      asAdmin,
      {
        org_id: [org],
        team_id: [teamId],
        group_name: [group],
        ...ids,
      },
      {
        '/api/audit-log': ['?limit=200', ...everyId.map((id) => `?target_id=${id}`)],
        '/api/teams': ['?limit=200', `?organization_id=${org}&include_deleted=true`],
        '/api/organizations': ['?limit=200'],
        '/api/provider-credentials': [`?organization_id=${org}`],
        '/api/models': [`?model_name=${modelName}`],
        '/api/model-groups': ['?limit=200'],
        '/api/teams/:team_id/keys': ['?limit=200'],
        '/api/jobs/teams/:team_id': ['?limit=200'],
        '/api/credits/teams/:team_id/transactions': ['?limit=200'],
      },
    );
    expect(seen.filter((s) => s.leaks.length > 0)).toEqual([]);
    expect(seen.filter((s) => s.status >= 500)).toEqual([]);
    expect(unanswered(seen)).toEqual([]);
    expect(new Set(seen.map((s) => s.route)).size).toBeGreaterThanOrEqual(25);
  });

  it('team-gateway: every GET route, with each of the team keys, leaks nothing', async () => {
    for (const bearer of issued) {
      const seen = await walk(
        gateway,
        { bearer },
        {
          team_id: [teamId],
          job_id: ids.job_id,
          model: [modelName, group],
          response_id: ['resp_0123456789abcdef'],
        },
        {
          '/api/credits/balance': [`?team_id=${teamId}`],
          '/api/teams/:team_id/jobs': ['?limit=200'],
          '/api/credits/teams/:team_id/transactions': ['?limit=200'],
        },
      );
      expect(seen.filter((s) => s.leaks.length > 0)).toEqual([]);
      expect(seen.filter((s) => s.status >= 500)).toEqual([]);
      expect(unanswered(seen)).toEqual([]);
    }
  });
});
