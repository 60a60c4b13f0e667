import { RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { call } from '../../../test/helpers/http';

const INT4_MAX = 2_147_483_647;
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const UUID = '3f2b8c1e-7d4a-4c59-9a57-2f4b1e6f8c21';

/** SPEC §7: bad input never causes a 5xx. Each case here was a 500 before. */
describe('admin-api: bad input is a 400 naming the field, never a 5xx', () => {
  let admin: RunningApp;
  const org = uid('org');
  let teamId: string;
  let keyId: string;
  let modelId: string;
  let credentialId: string;

  const api = (method: string, path: string, body?: unknown) =>
    call(admin.url, method, path, { admin: true, body });

  async function created(path: string, body: Record<string, unknown>) {
    const res = await api('POST', path, body);
    expect(res.status).toBe(201);
    return res.body;
  }

  /** A 400 VALIDATION_ERROR whose detail starts with the field's name. */
  async function refused(method: string, path: string, body: unknown, field: string) {
    const res = await api(method, path, body);
    expect({ field, status: res.status, body: res.body }).toEqual({
      field,
      status: 400,
      body: { code: 'VALIDATION_ERROR', detail: expect.stringMatching(new RegExp(`^${field}: `)) },
    });
  }

  beforeAll(async () => {
    admin = await startAdmin();
    await created('/api/organizations/create', { organization_id: org, name: org });
    teamId = uid('team');
    keyId = (await created('/api/teams/create', { organization_id: org, team_id: teamId }))
      .key_id as string;
    credentialId = (
      await created('/api/provider-credentials/create', {
        organization_id: org,
        provider: 'openai',
        credential_name: uid('cred'),
        api_key: `sk-${uid('secret')}`,
      })
    ).credential_id as string;
    modelId = (
      await created('/api/models/create', {
        model_name: uid('model'),
        provider: 'mock',
        provider_model: 'mock-1',
        input_price_per_million: 1,
        output_price_per_million: 2,
      })
    ).model_id as string;
  });
  afterAll(() => admin.close());

  describe('null for a field that may be omitted but not cleared', () => {
    it.each(['budget_mode', 'credits_per_dollar', 'tokens_per_credit', 'cost_markup_percentage'])(
      'POST /api/teams/create and PATCH /api/teams/{team_id} with %s: null',
      async (field) => {
        const before = (await api('GET', `/api/teams/${teamId}`)).body;
        await refused(
          'POST',
          '/api/teams/create',
          { organization_id: org, team_id: uid('team'), [field]: null },
          field,
        );
        await refused('PATCH', `/api/teams/${teamId}`, { [field]: null }, field);
        expect((await api('GET', `/api/teams/${teamId}`)).body).toEqual(before);
      },
    );

    it.each([
      'model_name',
      'provider',
      'provider_model',
      'input_price_per_million',
      'output_price_per_million',
      'weight',
      'status',
    ])('PUT /api/models/{model_id} with %s: null', async (field) => {
      const before = (await api('GET', `/api/models/${modelId}`)).body;
      await refused('PUT', `/api/models/${modelId}`, { [field]: null }, field);
      expect((await api('GET', `/api/models/${modelId}`)).body).toEqual(before);
    });

    it.each(['credential_name', 'api_key'])(
      'PUT /api/provider-credentials/{credential_id} with %s: null',
      async (field) => {
        const before = (await api('GET', `/api/provider-credentials/${credentialId}`)).body;
        await refused('PUT', `/api/provider-credentials/${credentialId}`, { [field]: null }, field);
        expect((await api('GET', `/api/provider-credentials/${credentialId}`)).body).toEqual(
          before,
        );
      },
    );

    it('POST /api/provider-credentials/create with api_key: null', async () => {
      await refused(
        'POST',
        '/api/provider-credentials/create',
        { provider: 'mock', credential_name: uid('cred'), api_key: null },
        'api_key',
      );
    });

    it('key create and rotate with duration: null (and grace_period: null)', async () => {
      await refused('POST', `/api/teams/${teamId}/keys`, { duration: null }, 'duration');
      await refused('POST', `/api/keys/${keyId}/rotate`, { duration: null }, 'duration');
      await refused('POST', `/api/keys/${keyId}/rotate`, { grace_period: null }, 'grace_period');
      expect((await api('GET', `/api/keys/${keyId}`)).body).toMatchObject({
        status: 'active',
        rotated_to: null,
      });
    });

    it('null still clears where it means something: alias, limits, metadata, api_base', async () => {
      const patched = await api('PATCH', `/api/teams/${teamId}`, {
        team_alias: null,
        rpm_limit: null,
        tpm_limit: null,
        metadata: null,
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ team_alias: null, rpm_limit: null, metadata: {} });
      const key = await api('PATCH', `/api/keys/${keyId}`, { duration: null, metadata: null });
      expect(key.status).toBe(200);
      expect(key.body).toMatchObject({ expires_at: null, metadata: {} });
      const credential = await api('PUT', `/api/provider-credentials/${credentialId}`, {
        api_base: null,
      });
      expect(credential.status).toBe(200);
    });
  });

  describe('integers beyond their column', () => {
    it.each([
      ['rpm_limit', 1_000_000],
      ['tpm_limit', 1_000_000_000],
      ['tokens_per_credit', 1_000_000_000],
    ])(
      'team create: %s above the int4 range → 400; the bound itself is accepted',
      async (field, max) => {
        for (const value of [INT4_MAX + 1, max + 1]) {
          await refused(
            'POST',
            '/api/teams/create',
            { organization_id: org, team_id: uid('team'), [field]: value },
            field,
          );
        }
        const ok = await api('POST', '/api/teams/create', {
          organization_id: org,
          team_id: uid('team'),
          [field]: max,
        });
        expect(ok.status).toBe(201);
        expect(ok.body).toMatchObject({ [field]: max });
      },
    );

    it('team PATCH: tokens_per_credit above the int4 range → 400', async () => {
      await refused(
        'PATCH',
        `/api/teams/${teamId}`,
        { tokens_per_credit: INT4_MAX + 1 },
        'tokens_per_credit',
      );
      await refused(
        'PATCH',
        `/api/teams/${teamId}`,
        { credits_per_dollar: 1e300 },
        'credits_per_dollar',
      );
      const ok = await api('PATCH', `/api/teams/${teamId}`, { tokens_per_credit: 1_000_000_000 });
      expect(ok.status).toBe(200);
      expect(ok.body.tokens_per_credit).toBe(1_000_000_000);
    });
  });

  describe('crafted cursors', () => {
    const lists = () => [
      '/api/teams',
      '/api/organizations',
      `/api/organizations/${org}/teams`,
      `/api/teams/${teamId}/keys`,
      '/api/models',
      '/api/provider-credentials',
      '/api/audit-log',
      `/api/jobs/teams/${teamId}`,
      `/api/credits/teams/${teamId}/transactions`,
    ];

    it.each([
      ['a date JS parses but Postgres refuses', cursorOf(['1', 'x'])],
      ['an impossible day', cursorOf(['2026-02-30T10:00:00.000Z', UUID])],
      ['a number for the time', cursorOf([1, UUID])],
      ['a NUL byte in the id', cursorOf(['2026-03-01T10:00:00.000Z', 'a\u0000b'])],
    ])('%s → 400 invalid cursor on every list', async (_case, cursor) => {
      for (const path of lists()) {
        const res = await api('GET', `${path}?cursor=${cursor}`);
        expect({ path, status: res.status, body: res.body }).toEqual({
          path,
          status: 400,
          body: { detail: 'cursor: invalid cursor', code: 'VALIDATION_ERROR' },
        });
      }
    });

    it('model groups: a group cursor that is not a group name → 400', async () => {
      const res = await api('GET', `/api/model-groups?cursor=${cursorOf({ g: 'a\u0000b' })}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ detail: 'cursor: invalid cursor', code: 'VALIDATION_ERROR' });
    });

    it('real cursors still page', async () => {
      for (let i = 0; i < 2; i++) {
        await created('/api/teams/create', { organization_id: org, team_id: uid('team') });
      }
      const first = await api('GET', `/api/teams?organization_id=${org}&limit=1`);
      expect(first.body.next_cursor).toEqual(expect.any(String));
      const second = await api(
        'GET',
        `/api/teams?organization_id=${org}&limit=1&cursor=${first.body.next_cursor}`,
      );
      expect(second.status).toBe(200);
      expect(second.body.data[0].team_id).not.toBe(first.body.data[0].team_id);
    });
  });

  describe('NUL (\\u0000), which PostgreSQL text and jsonb cannot hold', () => {
    const nul = { detail: expect.stringContaining('NUL'), code: 'VALIDATION_ERROR' };
    it.each([
      ['GET', '/api/teams/a%00b', undefined],
      ['GET', `/api/teams?organization_id=a%00b`, undefined],
      ['POST', '/api/organizations/create', { organization_id: 'nul-org', name: 'a\u0000b' }],
      ['PATCH', '/api/teams/TEAM', { team_alias: 'a\u0000b' }],
      ['PATCH', '/api/teams/TEAM', { metadata: { note: 'a\u0000b' } }],
      ['POST', '/api/credits/teams/TEAM/add', { credits: 5, reason: 'a\u0000b' }],
    ])('%s %s → 400, nothing written', async (method, path, body) => {
      const res = await api(method, path.replace('TEAM', teamId), body);
      expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: nul });
    });

    it('the credit add with NUL left the balance and ledger untouched', async () => {
      const balance = await api('GET', `/api/credits/teams/${teamId}/balance`);
      expect(balance.body.credits_allocated).toBe(0);
      const ledger = await api('GET', `/api/credits/teams/${teamId}/transactions`);
      expect(ledger.body.data).toEqual([]);
    });
  });
});
