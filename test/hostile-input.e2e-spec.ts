import { hello, World } from '../apps/team-gateway/test/gateway-fixtures';
import { call } from './helpers/http';

/**
 * Defects a mutation fuzzer found (reliability issue, item 6), each refused before any upstream
 * call or state change: text PostgreSQL cannot store, JSON too deep to validate, and virtual keys
 * outside the Authorization header.
 */
describe('hostile input is refused before anything happens', () => {
  let w: World;
  let model: string;
  let teamId: string;
  let key: string;
  const NUL = 'a\u0000b';
  const SURROGATES = '\udfff\ud800';

  const deep = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);

  beforeAll(async () => {
    w = await World.start();
    ({ group: model } = await w.modelInGroup());
    ({ teamId, key } = await w.team({
      groups: [model],
      credits: 50,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 10,
    }));
  });
  afterAll(() => w.stop());

  /** Nothing was called upstream, held, charged or recorded. */
  async function nothingHappened() {
    expect(w.fake.requests).toHaveLength(0);
    expect(await w.team_row(teamId)).toEqual({
      allocated: 50,
      used: 0,
      held: 0,
      ledger_sum: 50,
      holds: 0,
    });
    const calls = await w.pg.query('SELECT count(*)::int AS n FROM llm_calls WHERE team_id = $1', [
      teamId,
    ]);
    expect(calls.rows[0]).toEqual({ n: 0 });
  }

  describe.each([
    ['NUL', NUL],
    ['lone surrogates', SURROGATES],
  ])('%s in call_metadata or a message', (_name, bad) => {
    let jobId: string;
    beforeAll(async () => {
      jobId = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'probe' })).body.job_id;
      w.fake.reset();
    });

    it.each([
      ['/api/jobs/JOB/llm-call', 'call_metadata.note'],
      ['/api/jobs/JOB/llm-call-stream', 'call_metadata.note'],
      ['/api/jobs/create-and-call', 'call_metadata.note'],
      ['/api/jobs/create-and-call-stream', 'call_metadata.note'],
    ])('POST %s → 400 naming %s, no upstream call, no charge', async (path, field) => {
      const body = {
        job_type: path.includes('create-and-call') ? 'probe' : undefined,
        model,
        messages: hello,
        call_metadata: { note: bad },
      };
      const res = await w.gw('POST', path.replace('JOB', jobId), key, body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        code: 'VALIDATION_ERROR',
        detail: expect.stringContaining(field),
      });
      await nothingHappened();
    });

    it.each([false, true])(
      '/v1/chat/completions (stream: %s) → 400 naming the message',
      async (stream) => {
        const res = await w.gw('POST', '/v1/chat/completions', key, {
          model,
          stream,
          messages: [{ role: 'user', content: bad }],
        });
        expect(res.status).toBe(400);
        expect(res.body.error).toMatchObject({
          type: 'invalid_request_error',
          message: expect.stringContaining('messages[0].content'),
        });
        await nothingHappened();
      },
    );

    it('job metadata on create and on PATCH → 400, job unchanged', async () => {
      const created = await w.gw('POST', '/api/jobs/create', key, {
        job_type: 'probe',
        metadata: { note: bad },
      });
      expect(created.status).toBe(400);
      const patched = await w.gw('PATCH', `/api/jobs/${jobId}/metadata`, key, {
        metadata: { note: bad },
      });
      expect(patched.status).toBe(400);
      expect((await w.gw('GET', `/api/jobs/${jobId}`, key)).body.metadata).toEqual({});
    });

    it('admin: team alias, credits reason and key alias → 400, nothing applied', async () => {
      const admin = (method: string, path: string, body: unknown) =>
        call(w.admin.url, method, path, { admin: true, body });
      const before = (await admin('GET', `/api/teams/${teamId}`, undefined)).body;
      const cases: Array<[string, string, unknown, string]> = [
        ['PATCH', `/api/teams/${teamId}`, { team_alias: bad }, 'team_alias'],
        ['POST', `/api/credits/teams/${teamId}/add`, { credits: 5, reason: bad }, 'reason'],
        ['POST', `/api/teams/${teamId}/keys`, { key_alias: bad }, 'key_alias'],
      ];
      for (const [method, path, body, field] of cases) {
        const res = await admin(method, path, body);
        expect({ path, status: res.status, body: res.body }).toEqual({
          path,
          status: 400,
          body: {
            code: 'VALIDATION_ERROR',
            detail: expect.stringMatching(new RegExp(`^${field}: `)),
          },
        });
      }
      expect((await admin('GET', `/api/teams/${teamId}`, undefined)).body).toEqual(before);
      const keys = await admin('GET', `/api/teams/${teamId}/keys`, undefined);
      expect(keys.body.data).toHaveLength(1);
      await nothingHappened();
    });
  });

  describe('JSON nested 10,000 levels → 400 before validation, on both services', () => {
    it.each([
      ['gateway', 'POST', '/v1/chat/completions'],
      ['gateway', 'POST', '/api/jobs/create'],
      ['gateway', 'POST', '/api/jobs/create-and-call'],
      ['admin', 'POST', '/api/teams/create'],
      ['admin', 'PATCH', '/api/teams/TEAM'],
    ])('%s %s %s', async (service, method, path) => {
      const res =
        service === 'gateway'
          ? await call(w.gateway.url, method, path, { bearer: key, raw: deep(10_000) })
          : await call(w.admin.url, method, path.replace('TEAM', teamId), {
              admin: true,
              raw: deep(10_000),
            });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('nested deeper than 64 levels');
    });

    it('64 levels of metadata pass the depth check (the DTO then judges them)', async () => {
      let metadata: unknown = 'leaf';
      for (let i = 0; i < 62; i++) metadata = { a: metadata };
      const res = await w.gw('POST', '/api/jobs/create', key, { job_type: 'deep', metadata });
      expect(res.status).toBe(201);
    });
  });

  describe("a key named 'constructor' or '__proto__' (class-transformer crashed: 500) → 400", () => {
    // found by test/fuzz: {"metadata":{"constructor":true}} answered 500 on every validated route
    const bodies: Array<[string, string, string, (raw: string) => string]> = [
      [
        'gateway',
        'POST',
        '/v1/chat/completions',
        (m) => `{"model":"${model}","messages":[{"role":"user","content":"hi"}],"metadata":${m}}`,
      ],
      [
        'gateway',
        'POST',
        '/api/jobs/create-and-call',
        (m) =>
          `{"job_type":"p","model":"${model}","messages":[{"role":"user","content":"hi"}],"call_metadata":${m}}`,
      ],
      ['gateway', 'POST', '/api/jobs/create', (m) => `{"job_type":"p","metadata":${m}}`],
      ['admin', 'PATCH', '/api/teams/TEAM', (m) => `{"metadata":${m}}`],
    ];
    it.each(
      bodies.flatMap(([service, method, path, body]) =>
        ['{"constructor":true}', '{"constructor":{"a":1}}', '{"__proto__":{"a":1}}'].map(
          (m) => [service, method, path, m, body(m)] as const,
        ),
      ),
    )('%s %s %s with %s', async (service, method, path, _m, raw) => {
      const res =
        service === 'gateway'
          ? await call(w.gateway.url, method, path, { bearer: key, raw })
          : await call(w.admin.url, method, path.replace('TEAM', teamId), { admin: true, raw });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(
        /metadata: the key '(constructor|__proto__)' is not accepted/,
      );
      await nothingHappened();
    });
  });

  describe('virtual keys are read from the Authorization header only', () => {
    it.each(['/api/teams/verify', '/v1/models'])(
      'GET %s?access_token=<key> → 401',
      async (path) => {
        const res = await call(w.gateway.url, 'GET', `${path}?access_token=${key}`);
        expect(res.status).toBe(401);
      },
    );

    it('access_token in a JSON body → 401', async () => {
      const res = await call(w.gateway.url, 'POST', '/api/jobs/create', {
        body: { job_type: 'probe', access_token: key },
      });
      expect(res.status).toBe(401);
    });

    it('the same key in the header still works', async () => {
      expect((await w.gw('GET', '/api/teams/verify', key)).status).toBe(200);
    });
  });
});
