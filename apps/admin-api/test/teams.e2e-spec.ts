import { DataSource } from 'typeorm';
import { RunningApp, startAdmin, startGateway, uid } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';

const PLAINTEXT_KEY = /sk-[A-Za-z0-9]{32,}/;
const hello = [{ role: 'user', content: 'Say hello' }];

/** Teams on the admin-api: create, PATCH, model groups, statuses and delete, seen by two gateways. */
describe('admin teams: create, patch, model groups, delete', () => {
  let admin: RunningApp;
  let gateways: RunningApp[];
  let db: DataSource;
  let orgId: string;
  const models: string[] = [];
  const groups: string[] = [];

  beforeAll(async () => {
    admin = await startAdmin();
    gateways = [await startGateway(), await startGateway()];
    db = admin.app.get(DataSource);
    orgId = uid('org');
    await call(admin.url, 'POST', '/api/organizations/create', {
      admin: true,
      body: { organization_id: orgId, name: 'Teams' },
    });
    // The model and model-group admin routes belong to another feature: rows go in by SQL.
    for (let i = 0; i < 3; i++) {
      const model = uid('model');
      const group = uid('group');
      await db.query(
        `INSERT INTO model_deployments (model_name, provider, provider_model, input_price_per_million, output_price_per_million)
         VALUES ($1, 'mock', 'mock-1', 1, 2)`,
        [model],
      );
      await db.query('INSERT INTO model_groups (group_name, models) VALUES ($1, $2)', [
        group,
        [model],
      ]);
      models.push(model);
      groups.push(group);
    }
  });
  afterAll(async () => {
    await Promise.all([admin, ...gateways].map((a) => a.close()));
  });

  const adminCall = (method: string, path: string, body?: unknown) =>
    call(admin.url, method, path, { admin: true, body });
  const verify = (gw: RunningApp, key: string) =>
    call(gw.url, 'GET', '/api/teams/verify', { bearer: key });

  async function newTeam(extra: Record<string, unknown> = {}) {
    const teamId = uid('team');
    const res = await adminCall('POST', '/api/teams/create', {
      organization_id: orgId,
      team_id: teamId,
      ...extra,
    });
    expect(res.status).toBe(201);
    return { teamId, key: res.body.virtual_key as string, keyId: res.body.key_id as string };
  }
  const ledgerRows = async (teamId: string) =>
    Number(
      (
        await db.query('SELECT count(*)::int AS n FROM credit_transactions WHERE team_id = $1', [
          teamId,
        ])
      )[0].n,
    );

  describe('POST /api/teams/create', () => {
    it('accepts every SPEC field; access_groups is a synonym of model_groups', async () => {
      const teamId = uid('team');
      const res = await adminCall('POST', '/api/teams/create', {
        organization_id: orgId,
        team_id: teamId,
        team_alias: 'Research',
        model_groups: [groups[0]],
        access_groups: [groups[1], groups[0]],
        credits_allocated: 300,
        budget_mode: 'consumption_tokens',
        credits_per_dollar: 25,
        tokens_per_credit: 500,
        cost_markup_percentage: 15.5,
        rpm_limit: 120,
        tpm_limit: 50000,
        metadata: { plan: 'pro' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        team_id: teamId,
        organization_id: orgId,
        team_alias: 'Research',
        status: 'active',
        credits_allocated: 300,
        credits_remaining: 300,
        budget_mode: 'consumption_tokens',
        credits_per_dollar: 25,
        tokens_per_credit: 500,
        cost_markup_percentage: 15.5,
        rpm_limit: 120,
        tpm_limit: 50000,
        metadata: { plan: 'pro' },
        key_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        virtual_key: expect.stringMatching(/^sk-/),
      });
      expect([...res.body.model_groups].sort()).toEqual([groups[0], groups[1]].sort());
      const got = await adminCall('GET', `/api/teams/${teamId}`);
      expect(JSON.stringify(got.body)).not.toMatch(PLAINTEXT_KEY);
      expect([...got.body.model_groups].sort()).toEqual([groups[0], groups[1]].sort());
      const ledger = await adminCall('GET', `/api/credits/teams/${teamId}/transactions`);
      expect(ledger.body.data).toEqual([
        expect.objectContaining({
          transaction_type: 'allocation',
          credits_amount: 300,
          credits_before: 0,
          credits_after: 300,
        }),
      ]);
    });

    it('unknown groups in access_groups → 400 naming them; nothing is created', async () => {
      const teamId = uid('team');
      const res = await adminCall('POST', '/api/teams/create', {
        organization_id: orgId,
        team_id: teamId,
        access_groups: [groups[0], 'ghost-a', 'ghost-b'],
      });
      expect(res.status).toBe(400);
      expect(res.body.detail).toMatch(/model_groups: unknown model group\(s\): ghost-a, ghost-b/);
      expect((await adminCall('GET', `/api/teams/${teamId}`)).status).toBe(404);
    });
  });

  describe('PATCH /api/teams/{team_id}', () => {
    it('changes alias, limits, budget settings, markup and metadata', async () => {
      const { teamId } = await newTeam({ rpm_limit: 10, credits_allocated: 5 });
      const res = await adminCall('PATCH', `/api/teams/${teamId}`, {
        team_alias: 'Renamed',
        budget_mode: 'consumption_usd',
        credits_per_dollar: 40,
        tokens_per_credit: 2000,
        cost_markup_percentage: 30,
        tpm_limit: 9000,
        metadata: { tier: 'gold' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        team_id: teamId,
        team_alias: 'Renamed',
        budget_mode: 'consumption_usd',
        credits_per_dollar: 40,
        tokens_per_credit: 2000,
        cost_markup_percentage: 30,
        rpm_limit: 10,
        tpm_limit: 9000,
        metadata: { tier: 'gold' },
        credits_allocated: 5,
      });
      expect(JSON.stringify(res.body)).not.toMatch(PLAINTEXT_KEY);
      const cleared = await adminCall('PATCH', `/api/teams/${teamId}`, {
        rpm_limit: null,
        team_alias: null,
      });
      expect(cleared.body).toMatchObject({ rpm_limit: null, team_alias: null, tpm_limit: 9000 });
    });

    it('any credit field → 400 pointing at the credits endpoints; the balance is unchanged', async () => {
      const { teamId } = await newTeam({ credits_allocated: 12 });
      const balance = async () =>
        (await adminCall('GET', `/api/credits/teams/${teamId}/balance`)).body as {
          credits_allocated: number;
          credits_remaining: number;
        };
      const before = await balance();
      for (const field of [
        'credits_allocated',
        'credits_remaining',
        'credits',
        'credits_used',
        'credits_held',
      ]) {
        for (const value of [1000, 0, null]) {
          const res = await adminCall('PATCH', `/api/teams/${teamId}`, {
            team_alias: 'sneaky',
            [field]: value,
          });
          expect({ field, value, status: res.status }).toEqual({ field, value, status: 400 });
          expect(res.body.code).toBe('VALIDATION_ERROR');
          expect(res.body.detail).toContain(`${field}: cannot be set here`);
          expect(res.body.detail).toContain('credits endpoints');
        }
      }
      expect(await balance()).toEqual(before);
      expect(before.credits_allocated).toBe(12);
      expect(await ledgerRows(teamId)).toBe(1);
      expect((await adminCall('GET', `/api/teams/${teamId}`)).body.team_alias).toBeNull();
    });

    it('400 naming bad fields (no coercion), 404 unknown team', async () => {
      const { teamId } = await newTeam();
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ rpm_limit: '5' }, /rpm_limit: must be an integer/],
        [{ rpm_limit: 0 }, /rpm_limit: must not be less than 1/],
        [{ budget_mode: 'free' }, /budget_mode/],
        [{ cost_markup_percentage: -1 }, /cost_markup_percentage: must not be less than 0/],
        [{ metadata: [1] }, /metadata/],
        [{ status: 'active' }, /status: unknown field/],
        [{ organization_id: 'other' }, /organization_id: unknown field/],
      ];
      for (const [body, detail] of cases) {
        const res = await adminCall('PATCH', `/api/teams/${teamId}`, body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body.detail).toMatch(detail);
      }
      expect((await adminCall('PATCH', `/api/teams/${uid('ghost')}`, {})).status).toBe(404);
    });
  });

  describe('PUT /api/teams/{team_id}/model-groups', () => {
    it('replaces the set; unknown groups → 400 naming them and nothing changes', async () => {
      const { teamId } = await newTeam({ model_groups: [groups[0], groups[1]] });
      const set = await adminCall('PUT', `/api/teams/${teamId}/model-groups`, {
        model_groups: [groups[1], groups[2]],
      });
      expect(set.status).toBe(200);
      expect([...set.body.model_groups].sort()).toEqual([groups[1], groups[2]].sort());

      const bad = await adminCall('PUT', `/api/teams/${teamId}/model-groups`, {
        model_groups: [groups[0], 'nope-1', 'nope-2'],
      });
      expect(bad.status).toBe(400);
      expect(bad.body.detail).toContain('nope-1, nope-2');
      const got = await adminCall('GET', `/api/teams/${teamId}`);
      expect([...got.body.model_groups].sort()).toEqual([groups[1], groups[2]].sort());

      // keys may now only name what the new set reaches
      const outside = await adminCall('POST', `/api/teams/${teamId}/keys`, { models: [models[0]] });
      expect(outside.status).toBe(400);
      expect(outside.body.detail).toContain(models[0]);
      const inside = await adminCall('POST', `/api/teams/${teamId}/keys`, {
        models: [models[2], groups[1]],
      });
      expect(inside.status).toBe(201);

      const empty = await adminCall('PUT', `/api/teams/${teamId}/model-groups`, {
        model_groups: [],
      });
      expect(empty.body.model_groups).toEqual([]);
    });

    it('400 for a missing or malformed body, 404 unknown team', async () => {
      const { teamId } = await newTeam();
      for (const body of [{}, { model_groups: 'x' }, { model_groups: [1] }, { groups: [] }]) {
        const res = await adminCall('PUT', `/api/teams/${teamId}/model-groups`, body);
        expect(res.status).toBe(400);
        expect(res.body.detail).toMatch(/model_groups|groups: unknown field/);
      }
      const missing = await adminCall('PUT', `/api/teams/${uid('ghost')}/model-groups`, {
        model_groups: [],
      });
      expect(missing.status).toBe(404);
    });
  });

  describe('suspend / pause / resume', () => {
    it('blocks new keys (409) while not active', async () => {
      const { teamId, key } = await newTeam();
      const suspended = await adminCall('PUT', `/api/teams/${teamId}/suspend`);
      expect(suspended.body.status).toBe('suspended');
      for (const gw of gateways) {
        await eventually(async () => (await verify(gw, key)).status === 403, 1000, 20);
      }
      expect((await adminCall('POST', `/api/teams/${teamId}/keys`, {})).status).toBe(409);
      expect((await adminCall('PUT', `/api/teams/${teamId}/resume`)).body.status).toBe('active');
      expect((await adminCall('POST', `/api/teams/${teamId}/keys`, {})).status).toBe(201);
    });
  });

  describe('DELETE /api/teams/{team_id}', () => {
    it('revokes every key (401 on every replica within 1 s) and keeps jobs and the ledger', async () => {
      const { teamId, key, keyId } = await newTeam({
        model_groups: [groups[0]],
        credits_allocated: 10,
      });
      const second = await adminCall('POST', `/api/teams/${teamId}/keys`, { key_alias: 'two' });
      const keys = [key, second.body.virtual_key as string];

      // some history: one completed job through the gateway
      const gw = gateways[0].url;
      const job = await call(gw, 'POST', '/api/jobs/create', {
        bearer: key,
        body: { job_type: 'history' },
      });
      const jobId = job.body.job_id as string;
      expect(
        (
          await call(gw, 'POST', `/api/jobs/${jobId}/llm-call`, {
            bearer: key,
            body: { model: models[0], messages: hello },
          })
        ).status,
      ).toBe(200);
      await call(gw, 'POST', `/api/jobs/${jobId}/complete`, {
        bearer: key,
        body: { status: 'completed' },
      });
      for (const gw of gateways)
        for (const k of keys) expect((await verify(gw, k)).status).toBe(200);

      const res = await adminCall('DELETE', `/api/teams/${teamId}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ team_id: teamId, status: 'deleted', model_groups: [] });
      expect(res.body.deleted_at).not.toBeNull();
      expect(res.body.keys).toHaveLength(2);
      for (const k of res.body.keys) {
        expect(k.status).toBe('revoked');
        expect(k.revoked_at).not.toBeNull();
      }
      expect(JSON.stringify(res.body)).not.toMatch(PLAINTEXT_KEY);

      for (const gw of gateways) {
        for (const k of keys) {
          await eventually(async () => (await verify(gw, k)).status === 401, 1000, 20);
          expect((await verify(gw, k)).body).toEqual({
            detail: 'Invalid or missing API key',
            code: 'INVALID_API_KEY',
          });
        }
      }

      // history is kept and readable
      const got = await adminCall('GET', `/api/teams/${teamId}`);
      expect(got.status).toBe(200);
      expect(got.body.status).toBe('deleted');
      const ledger = await adminCall('GET', `/api/credits/teams/${teamId}/transactions`);
      expect(ledger.status).toBe(200);
      expect(ledger.body.data.map((t: { transaction_type: string }) => t.transaction_type)).toEqual(
        ['deduction', 'allocation'],
      );
      const jobs = await adminCall('GET', `/api/jobs/teams/${teamId}`);
      expect(jobs.status).toBe(200);
      expect(jobs.body.data.map((j: { job_id: string }) => j.job_id)).toEqual([jobId]);
      const oneJob = await adminCall('GET', `/api/jobs/teams/${teamId}/${jobId}`);
      expect(oneJob.status).toBe(200);
      expect(oneJob.body.calls).toHaveLength(1);
      const keyInfo = await adminCall('GET', `/api/keys/${keyId}`);
      expect(keyInfo.body.status).toBe('revoked');

      // a deleted team is listed only on request
      const ids = async (query: string) =>
        (
          await adminCall('GET', `/api/teams?organization_id=${orgId}&limit=200${query}`)
        ).body.data.map((t: { team_id: string }) => t.team_id);
      expect(await ids('')).not.toContain(teamId);
      expect(await ids('&include_deleted=true')).toContain(teamId);
      expect((await adminCall('GET', `/api/teams?include_deleted=maybe`)).status).toBe(400);

      // it cannot change or get keys any more; deleting again is a no-op
      expect((await adminCall('POST', `/api/teams/${teamId}/keys`, {})).status).toBe(409);
      expect((await adminCall('PATCH', `/api/teams/${teamId}`, { team_alias: 'x' })).status).toBe(
        409,
      );
      expect(
        (await adminCall('PUT', `/api/teams/${teamId}/model-groups`, { model_groups: [] })).status,
      ).toBe(409);
      expect((await adminCall('PUT', `/api/teams/${teamId}/resume`)).status).toBe(409);
      expect((await adminCall('POST', `/api/keys/${keyId}/rotate`, {})).status).toBe(409);
      const again = await adminCall('DELETE', `/api/teams/${teamId}`);
      expect(again.status).toBe(200);
      expect(again.body.deleted_at).toBe(res.body.deleted_at);
    });

    it('404 for an unknown team', async () => {
      expect((await adminCall('DELETE', `/api/teams/${uid('ghost')}`)).status).toBe(404);
    });
  });

  describe('GET /api/teams', () => {
    it('pages with a cursor over teams created in one statement', async () => {
      const org = uid('org');
      await adminCall('POST', '/api/organizations/create', { organization_id: org, name: 'P' });
      const ids = Array.from({ length: 5 }, () => uid('team'));
      await db.query(
        `INSERT INTO teams (team_id, organization_id) SELECT id, $2 FROM unnest($1::text[]) AS id`,
        [ids, org],
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${cursor}` : '';
        const page = await adminCall('GET', `/api/teams?organization_id=${org}&limit=2${query}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.data.map((t: { team_id: string }) => t.team_id));
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      expect(seen.sort()).toEqual([...ids].sort());
    });
  });
});
