import { hello, World } from '../apps/team-gateway/test/gateway-fixtures';
import { MASTER_KEY, uid } from './helpers/apps';
import { call } from './helpers/http';

/**
 * Security probes of the reliability issue (OWASP API Top 10), part 3: header and encoding abuse
 * (API4, API8). Each is refused with a 4xx before anything happens, never a 5xx, and the service
 * stays healthy.
 */
describe('security probes: header and encoding abuse', () => {
  let w: World;
  let group: string;
  let teamId: string;
  let key: string;

  beforeAll(async () => {
    w = await World.start();
    ({ group } = await w.modelInGroup());
    ({ teamId, key } = await w.team({ groups: [group], credits: 20 }));
  });
  afterAll(() => w.stop());

  const services = () => ({
    admin: { url: w.admin.url, auth: { 'X-Admin-Key': MASTER_KEY } },
    gateway: { url: w.gateway.url, auth: { Authorization: `Bearer ${key}` } },
  });

  /** A POST of raw bytes declared as JSON. */
  async function post(service: 'admin' | 'gateway', path: string, body: string | Uint8Array) {
    const { url, auth } = services()[service];
    const res = await fetch(url + path, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body,
    });
    return { status: res.status, text: await res.text() };
  }

  /** `value` as JSON, with the bytes FF FE (not UTF-8) in place of the string "BAD". */
  function invalidUtf8(value: unknown): Uint8Array {
    const [before, after] = JSON.stringify(value).split('BAD');
    const utf8 = new TextEncoder();
    return new Uint8Array([...utf8.encode(before), 0xff, 0xfe, ...utf8.encode(after)]);
  }

  it.each(['admin', 'gateway'] as const)(
    '%s: a 20 KB header → 431, then /health answers',
    async (service) => {
      const { url, auth } = services()[service];
      const res = await fetch(`${url}/api/teams/${teamId}`, {
        headers: { ...auth, 'X-Filler': 'x'.repeat(20 * 1024) },
      });
      expect(res.status).toBe(431);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    },
  );

  it('invalid UTF-8 inside a JSON string → 400 on both services, nothing created', async () => {
    const orgId = uid('org');
    const cases: Array<['admin' | 'gateway', string, unknown]> = [
      ['admin', '/api/organizations/create', { organization_id: orgId, name: 'BAD' }],
      ['gateway', '/api/jobs/create', { job_type: 'BAD' }],
      [
        'gateway',
        '/v1/chat/completions',
        { model: group, messages: [{ role: 'user', content: 'BAD' }] },
      ],
    ];
    // the team's other jobs (other tests, in any order) are not this test's
    const jobsOf = async () =>
      (await w.pg.query('SELECT job_id FROM jobs WHERE team_id = $1 ORDER BY job_id', [teamId]))
        .rows;
    const jobsBefore = await jobsOf();
    w.fake.reset();
    for (const [service, path, body] of cases) {
      const res = await post(service, path, invalidUtf8(body));
      const detail = 'The request body is not valid UTF-8';
      expect({ path, status: res.status, body: JSON.parse(res.text) as unknown }).toEqual({
        path,
        status: 400,
        body: path.startsWith('/v1')
          ? { error: expect.objectContaining({ type: 'invalid_request_error', message: detail }) }
          : { code: 'VALIDATION_ERROR', detail },
      });
    }
    const org = await call(w.admin.url, 'GET', `/api/organizations/${orgId}`, { admin: true });
    expect(org.status).toBe(404);
    expect(await jobsOf()).toEqual(jobsBefore);
    expect(w.fake.requests).toHaveLength(0);
  });

  it('the same characters sent as UTF-8 are accepted', async () => {
    const res = await w.gw('POST', '/api/jobs/create', key, { job_type: 'ÿþ' });
    expect(res.status).toBe(201);
    const chat = await w.gw('POST', '/v1/chat/completions', key, { model: group, messages: hello });
    expect(chat.status).toBe(200);
  });

  it.each([
    ['admin', '/api/teams/create'],
    ['admin', '/api/organizations/create'],
    ['gateway', '/api/jobs/create'],
    ['gateway', '/v1/chat/completions'],
  ] as const)(
    '%s POST %s with Content-Type: application/json and no body → 400',
    async (service, path) => {
      const res = await post(service, path, '');
      expect(res.status).toBe(400);
    },
  );

  it('gateway: a body over MAX_BODY_BYTES → 413 in the error shape of each surface, before auth', async () => {
    const upstreamBefore = w.fake.requests.length;
    const big = JSON.stringify({
      model: group,
      messages: [{ role: 'user', content: 'x'.repeat(10 * 1024 * 1024) }],
    });
    const openai = await post('gateway', '/v1/chat/completions', big);
    expect(openai.status).toBe(413);
    expect(JSON.parse(openai.text)).toMatchObject({ error: { code: 'payload_too_large' } });
    const anthropic = await post('gateway', '/v1/messages', big);
    expect(anthropic.status).toBe(413);
    expect(JSON.parse(anthropic.text)).toMatchObject({
      type: 'error',
      error: { type: 'request_too_large' },
    });
    const api = await post('gateway', '/api/jobs/create', big);
    expect(api.status).toBe(413);
    expect(JSON.parse(api.text)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(w.fake.requests).toHaveLength(upstreamBefore);
  });

  it('gateway: a bare JSON value → 400 invalid JSON; an own __proto__ key → 400 naming it', async () => {
    const bare = await post('gateway', '/api/jobs/create', '"job"');
    expect(bare.status).toBe(400);
    expect(JSON.parse(bare.text)).toMatchObject({ code: 'INVALID_JSON' });
    const proto = await post('gateway', '/api/jobs/create', '{"job_type":"x","__proto__":{"a":1}}');
    expect(proto.status).toBe(400);
    expect(JSON.parse(proto.text)).toMatchObject({
      code: 'VALIDATION_ERROR',
      detail: "body: the key '__proto__' is not accepted",
    });
  });

  it.each([['text/plain'], ['no']])(
    'gateway: a body with %s content type is left unread as Express did → 400 from validation, not 415',
    async (type) => {
      const typed = type !== 'no';
      const res = await fetch(`${w.gateway.url}/api/jobs/create`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, ...(typed ? { 'Content-Type': type } : {}) },
        body: typed ? '{"job_type":"x"}' : undefined,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('VALIDATION_ERROR');
    },
  );
});
