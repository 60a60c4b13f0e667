import { DataSource } from 'typeorm';
import { RunningApp, startAdmin, startGateway, uid } from '../../../test/helpers/apps';
import { call, eventually, JsonResponse } from '../../../test/helpers/http';

const PLAINTEXT_KEY = /sk-[A-Za-z0-9]{32,}/;
const hello = [{ role: 'user', content: 'Say hello' }];

/** Virtual keys on the admin-api, checked against two real gateway replicas sharing Redis. */
describe('admin keys: create, list, info, patch, rotate, revoke', () => {
  let admin: RunningApp;
  let gateways: RunningApp[];
  let db: DataSource;
  let orgId: string;
  /** A mock deployment in a group the teams below hold, and one in a group they do not. */
  let model: string;
  let group: string;
  let foreignModel: string;

  beforeAll(async () => {
    admin = await startAdmin();
    gateways = [await startGateway(), await startGateway()];
    db = admin.app.get(DataSource);
    orgId = uid('org');
    await call(admin.url, 'POST', '/api/organizations/create', {
      admin: true,
      body: { organization_id: orgId, name: 'Keys' },
    });
    // The model and model-group admin routes belong to another feature: rows go in by SQL.
    model = uid('model');
    group = uid('group');
    foreignModel = uid('model');
    for (const name of [model, foreignModel]) {
      await db.query(
        `INSERT INTO model_deployments (model_name, provider, provider_model, input_price_per_million, output_price_per_million)
         VALUES ($1, 'mock', 'mock-1', 1, 2)`,
        [name],
      );
    }
    await db.query('INSERT INTO model_groups (group_name, models) VALUES ($1, $2), ($3, $4)', [
      group,
      [model],
      uid('group'),
      [foreignModel],
    ]);
  });
  afterAll(async () => {
    await Promise.all([admin, ...gateways].map((a) => a.close()));
  });

  const adminCall = (method: string, path: string, body?: unknown) =>
    call(admin.url, method, path, { admin: true, body });
  const verify = (gw: RunningApp, key: string) =>
    call(gw.url, 'GET', '/api/teams/verify', { bearer: key });
  /** Every replica answers `status` for this key within `ms`. */
  const onEveryGateway = async (key: string, status: number, ms = 1000) => {
    for (const gw of gateways) {
      await eventually(async () => (await verify(gw, key)).status === status, ms, 20);
    }
  };
  const noPlaintext = (res: JsonResponse) =>
    expect(JSON.stringify(res.body)).not.toMatch(PLAINTEXT_KEY);

  async function newTeam(credits = 20) {
    const teamId = uid('team');
    const res = await adminCall('POST', '/api/teams/create', {
      organization_id: orgId,
      team_id: teamId,
      model_groups: [group],
      credits_allocated: credits,
    });
    expect(res.status).toBe(201);
    return teamId;
  }

  async function newKey(teamId: string, body: Record<string, unknown> = {}) {
    const res = await adminCall('POST', `/api/teams/${teamId}/keys`, body);
    expect(res.status).toBe(201);
    return {
      keyId: res.body.key_id as string,
      key: res.body.virtual_key as string,
      body: res.body,
    };
  }

  describe('POST /api/teams/{team_id}/keys', () => {
    it('creates a key with every LiteLLM field and shows the key once', async () => {
      const teamId = await newTeam();
      const res = await adminCall('POST', `/api/teams/${teamId}/keys`, {
        key_alias: 'batch',
        models: [model, group],
        duration: '7d',
        max_budget: 50,
        budget_duration: '30d',
        rpm_limit: 60,
        tpm_limit: 10000,
        metadata: { owner: 'ops' },
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        team_id: teamId,
        key_alias: 'batch',
        status: 'active',
        models: [model, group],
        max_budget: 50,
        budget_duration: '30d',
        spend: 0,
        total_spend: 0,
        budget_remaining: 50,
        rpm_limit: 60,
        tpm_limit: 10000,
        metadata: { owner: 'ops' },
        rotated_to: null,
        grace_expires_at: null,
        last_used_at: null,
      });
      expect(res.body.virtual_key).toMatch(/^sk-[A-Za-z0-9]{32,}$/);
      expect(res.body.masked_key).toBe(
        `${res.body.virtual_key.slice(0, 7)}…${res.body.virtual_key.slice(-4)}`,
      );
      const expires = Date.parse(res.body.expires_at);
      expect(expires).toBeGreaterThan(Date.now() + 6.9 * 86400_000);
      expect(expires).toBeLessThan(Date.now() + 7.1 * 86400_000);
      const reset = Date.parse(res.body.budget_reset_at) - Date.parse(res.body.budget_window_start);
      expect(reset).toBe(30 * 86400_000);
      expect((await verify(gateways[0], res.body.virtual_key)).body.models).toEqual([model, group]);
    });

    it('refuses models outside the team, naming them', async () => {
      const teamId = await newTeam();
      const res = await adminCall('POST', `/api/teams/${teamId}/keys`, {
        models: [model, foreignModel, 'no-such-model'],
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_ERROR');
      expect(res.body.detail).toContain(foreignModel);
      expect(res.body.detail).toContain('no-such-model');
      expect(res.body.detail).not.toContain(`${model},`);
    });

    it('validates the body: 400 naming the field, no coercion', async () => {
      const teamId = await newTeam();
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ duration: '5 days' }, /duration: must be a duration/],
        [{ duration: '1mo' }, /duration: must be a duration/],
        [{ duration: '0s' }, /duration: must be longer than 0s/],
        [{ duration: 30 }, /duration/],
        [{ max_budget: '5' }, /max_budget: must be an integer/],
        [{ max_budget: -1 }, /max_budget: must not be less than 0/],
        [{ max_budget: 1.5 }, /max_budget: must be an integer/],
        [{ budget_duration: '1d' }, /budget_duration: requires max_budget/],
        [{ max_budget: 5, budget_duration: '1y' }, /budget_duration: must be a duration/],
        [{ rpm_limit: 0 }, /rpm_limit: must not be less than 1/],
        [{ tpm_limit: '100' }, /tpm_limit: must be an integer/],
        [{ models: 'gpt' }, /models: must be an array/],
        [{ metadata: 'x' }, /metadata: must be an object/],
        [{ key_alias: '' }, /key_alias/],
        [{ spend: 3 }, /spend: unknown field/],
      ];
      for (const [body, detail] of cases) {
        const res = await adminCall('POST', `/api/teams/${teamId}/keys`, body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body.detail).toMatch(detail);
      }
    });

    it('404 for an unknown team; 409 for a suspended, paused or deleted team', async () => {
      const missing = await adminCall('POST', `/api/teams/${uid('ghost')}/keys`, {});
      expect(missing.status).toBe(404);
      const teamId = await newTeam();
      for (const action of ['suspend', 'pause']) {
        await adminCall('PUT', `/api/teams/${teamId}/${action}`);
        const res = await adminCall('POST', `/api/teams/${teamId}/keys`, {});
        expect(res.status).toBe(409);
        expect(res.body.detail).toContain(action === 'suspend' ? 'suspended' : 'paused');
      }
      await adminCall('PUT', `/api/teams/${teamId}/resume`);
      expect((await adminCall('POST', `/api/teams/${teamId}/keys`, {})).status).toBe(201);
      await adminCall('DELETE', `/api/teams/${teamId}`);
      const deleted = await adminCall('POST', `/api/teams/${teamId}/keys`, {});
      expect(deleted.status).toBe(409);
      expect(deleted.body.detail).toContain('deleted');
    });
  });

  describe('GET /api/teams/{team_id}/keys', () => {
    it('pages with a cursor, masked only', async () => {
      const teamId = await newTeam();
      for (let i = 0; i < 4; i++) await newKey(teamId, { key_alias: `k${i}` });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${cursor}` : '';
        const page = await adminCall('GET', `/api/teams/${teamId}/keys?limit=2${query}`);
        expect(page.status).toBe(200);
        expect(page.body.data.length).toBeLessThanOrEqual(2);
        noPlaintext(page);
        for (const k of page.body.data) {
          expect(k.masked_key).toMatch(/^sk-.{4}….{4}$/);
          expect(k).not.toHaveProperty('virtual_key');
          expect(k).not.toHaveProperty('key_hash');
        }
        seen.push(...page.body.data.map((k: { key_alias: string }) => k.key_alias));
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      expect(seen.sort()).toEqual(['default', 'k0', 'k1', 'k2', 'k3']);
    });

    it('400 for a bad cursor or limit, 404 for an unknown team', async () => {
      const teamId = await newTeam();
      expect((await adminCall('GET', `/api/teams/${teamId}/keys?cursor=nope`)).status).toBe(400);
      expect((await adminCall('GET', `/api/teams/${teamId}/keys?limit=0`)).status).toBe(400);
      expect((await adminCall('GET', `/api/teams/${uid('ghost')}/keys`)).status).toBe(404);
    });
  });

  describe('GET /api/keys/{key_id}', () => {
    it('shows spend in the window, total spend and last use after a real gateway call', async () => {
      const teamId = await newTeam(20);
      const { keyId, key } = await newKey(teamId, {
        key_alias: 'metered',
        max_budget: 10,
        budget_duration: '1d',
      });
      const before = await adminCall('GET', `/api/keys/${keyId}`);
      expect(before.status).toBe(200);
      expect(before.body).toMatchObject({ spend: 0, total_spend: 0, last_used_at: null });

      const gw = gateways[0].url;
      const job = await call(gw, 'POST', '/api/jobs/create', {
        bearer: key,
        body: { job_type: 'keys-e2e' },
      });
      expect(job.status).toBe(201);
      const jobId = job.body.job_id as string;
      const llm = await call(gw, 'POST', `/api/jobs/${jobId}/llm-call`, {
        bearer: key,
        body: { model, messages: hello },
      });
      expect(llm.status).toBe(200);
      const done = await call(gw, 'POST', `/api/jobs/${jobId}/complete`, {
        bearer: key,
        body: { status: 'completed' },
      });
      expect(done.status).toBe(200);

      let info: JsonResponse = before;
      await eventually(async () => {
        info = await adminCall('GET', `/api/keys/${keyId}`);
        return info.body.last_used_at !== null;
      });
      noPlaintext(info);
      expect(info.body).toMatchObject({
        key_id: keyId,
        team_id: teamId,
        key_alias: 'metered',
        status: 'active',
        expired: false,
        max_budget: 10,
        budget_duration: '1d',
        spend: 1,
        spend_held: 0,
        total_spend: 1,
        budget_remaining: 9,
      });
      expect(Date.parse(info.body.budget_reset_at)).toBe(
        Date.parse(info.body.budget_window_start) + 86400_000,
      );
      expect(Date.parse(info.body.last_used_at)).toBeGreaterThan(Date.now() - 60_000);
    });

    it('400 for a malformed id, 404 for an unknown key', async () => {
      expect((await adminCall('GET', '/api/keys/not-a-uuid')).body.detail).toMatch(/key_id/);
      const missing = await adminCall('GET', '/api/keys/00000000-0000-4000-8000-000000000000');
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('NOT_FOUND');
    });
  });

  describe('PATCH /api/keys/{key_id}', () => {
    it('changes alias, models, budget, limits and metadata; gateways see it within 1 s', async () => {
      const teamId = await newTeam();
      const { keyId, key } = await newKey(teamId, { models: [model] });
      for (const gw of gateways) expect((await verify(gw, key)).body.models).toEqual([model]);

      const res = await adminCall('PATCH', `/api/keys/${keyId}`, {
        key_alias: 'renamed',
        models: [group],
        max_budget: 5,
        budget_duration: '1h',
        rpm_limit: 10,
        tpm_limit: 500,
        metadata: { v: 2 },
      });
      expect(res.status).toBe(200);
      noPlaintext(res);
      expect(res.body).toMatchObject({
        key_id: keyId,
        key_alias: 'renamed',
        models: [group],
        max_budget: 5,
        budget_duration: '1h',
        rpm_limit: 10,
        tpm_limit: 500,
        metadata: { v: 2 },
        spend: 0,
      });
      expect(res.body.budget_window_start).not.toBeNull();
      for (const gw of gateways) {
        await eventually(
          async () => JSON.stringify((await verify(gw, key)).body.models) === `["${group}"]`,
          1000,
          20,
        );
      }

      // null clears: no budget (and so no window), no limits, all the team's models
      const cleared = await adminCall('PATCH', `/api/keys/${keyId}`, {
        max_budget: null,
        rpm_limit: null,
        models: [],
      });
      expect(cleared.body).toMatchObject({
        max_budget: null,
        budget_duration: null,
        budget_window_start: null,
        rpm_limit: null,
        tpm_limit: 500,
        models: [],
        key_alias: 'renamed',
      });
    });

    it('a budget set by PATCH is enforced by the gateway at once', async () => {
      const teamId = await newTeam(20);
      const { keyId, key } = await newKey(teamId);
      const gw = gateways[1].url;
      const firstCall = async () => {
        const job = await call(gw, 'POST', '/api/jobs/create', {
          bearer: key,
          body: { job_type: 'b' },
        });
        expect(job.status).toBe(201);
        return call(gw, 'POST', `/api/jobs/${job.body.job_id}/llm-call`, {
          bearer: key,
          body: { model, messages: hello },
        });
      };
      expect((await firstCall()).status).toBe(200); // also warms the cache with the budget-less key
      expect((await adminCall('PATCH', `/api/keys/${keyId}`, { max_budget: 0 })).status).toBe(200);
      let refused: JsonResponse = await firstCall();
      await eventually(async () => {
        refused = await firstCall();
        return refused.status === 403;
      }, 1000);
      expect(refused.body.code).toBe('KEY_BUDGET_EXCEEDED');
    });

    it('duration via PATCH sets a new expiry (null = never); an expired key gets 401', async () => {
      const teamId = await newTeam();
      const { keyId, key } = await newKey(teamId, { duration: '30d' });
      const never = await adminCall('PATCH', `/api/keys/${keyId}`, { duration: null });
      expect(never.body.expires_at).toBeNull();
      const soon = await adminCall('PATCH', `/api/keys/${keyId}`, { duration: '1s' });
      expect(Date.parse(soon.body.expires_at)).toBeLessThanOrEqual(Date.now() + 1500);
      await onEveryGateway(key, 401, 3000);
      const res = await verify(gateways[0], key);
      expect(res.body).toEqual({ detail: 'Invalid or missing API key', code: 'INVALID_API_KEY' });
      expect((await adminCall('GET', `/api/keys/${keyId}`)).body.expired).toBe(true);
    });

    it('400 for bad fields or models outside the team, 404 unknown, 409 revoked', async () => {
      const teamId = await newTeam();
      const { keyId } = await newKey(teamId, { max_budget: 3 });
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ models: [foreignModel] }, new RegExp(foreignModel)],
        [{ max_budget: null, budget_duration: '1d' }, /budget_duration: requires max_budget/],
        [{ max_budget: '7' }, /max_budget: must be an integer/],
        [{ duration: '10 minutes' }, /duration: must be a duration/],
        [{ key_hash: 'x' }, /key_hash: unknown field/],
        [{ team_id: 'other' }, /team_id: unknown field/],
      ];
      for (const [body, detail] of cases) {
        const res = await adminCall('PATCH', `/api/keys/${keyId}`, body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body.detail).toMatch(detail);
      }
      expect((await adminCall('GET', `/api/keys/${keyId}`)).body.max_budget).toBe(3);
      const missing = '00000000-0000-4000-8000-000000000000';
      expect((await adminCall('PATCH', `/api/keys/${missing}`, {})).status).toBe(404);
      await adminCall('DELETE', `/api/keys/${keyId}`);
      const revoked = await adminCall('PATCH', `/api/keys/${keyId}`, { key_alias: 'x' });
      expect(revoked.status).toBe(409);
    });
  });

  describe('POST /api/keys/{key_id}/rotate', () => {
    it('grace "2s": the old key works until then, then 401; the new key carries the settings', async () => {
      const teamId = await newTeam();
      const { keyId, key } = await newKey(teamId, {
        key_alias: 'svc',
        models: [model],
        max_budget: 9,
        budget_duration: '7d',
        rpm_limit: 30,
        tpm_limit: 3000,
        metadata: { app: 'svc' },
      });
      for (const gw of gateways) expect((await verify(gw, key)).status).toBe(200);

      const rotated = await adminCall('POST', `/api/keys/${keyId}/rotate`, { grace_period: '2s' });
      expect(rotated.status).toBe(200);
      const fresh = rotated.body.virtual_key as string;
      expect(fresh).toMatch(/^sk-[A-Za-z0-9]{32,}$/);
      expect(fresh).not.toBe(key);
      expect(rotated.body.key_id).not.toBe(keyId);
      expect(rotated.body).toMatchObject({
        team_id: teamId,
        key_alias: 'svc',
        models: [model],
        max_budget: 9,
        budget_duration: '7d',
        rpm_limit: 30,
        tpm_limit: 3000,
        metadata: { app: 'svc' },
        status: 'active',
      });

      const old = await adminCall('GET', `/api/keys/${keyId}`);
      expect(old.body.rotated_to).toBe(rotated.body.key_id);
      expect(old.body.status).toBe('active');
      const graceEnds = Date.parse(old.body.grace_expires_at);
      expect(graceEnds).toBeGreaterThan(Date.now());
      expect(graceEnds).toBeLessThanOrEqual(Date.now() + 2100);

      // at once: both keys work on every replica
      for (const gw of gateways) {
        expect((await verify(gw, key)).status).toBe(200);
        expect((await verify(gw, fresh)).body.key_id).toBe(rotated.body.key_id);
      }
      // after the grace: the old key is refused everywhere, the new one still works
      await onEveryGateway(key, 401, 4000);
      for (const gw of gateways) expect((await verify(gw, fresh)).status).toBe(200);
      const after = await adminCall('GET', `/api/keys/${keyId}`);
      expect(after.body.status).toBe('revoked');
      expect(after.body.revoked_at).toBe(after.body.grace_expires_at);

      const again = await adminCall('POST', `/api/keys/${keyId}/rotate`, {});
      expect(again.status).toBe(409);
      expect(again.body.detail).toContain(rotated.body.key_id);
    });

    it('grace "0s" (the default) refuses the old key on every replica within 1 s', async () => {
      const teamId = await newTeam();
      for (const body of [{ grace_period: '0s' }, {}]) {
        const { keyId, key } = await newKey(teamId);
        for (const gw of gateways) expect((await verify(gw, key)).status).toBe(200);
        const rotated = await adminCall('POST', `/api/keys/${keyId}/rotate`, body);
        expect(rotated.status).toBe(200);
        await onEveryGateway(key, 401, 1000);
        for (const gw of gateways) {
          expect((await verify(gw, rotated.body.virtual_key as string)).status).toBe(200);
        }
        const old = await adminCall('GET', `/api/keys/${keyId}`);
        expect(old.body).toMatchObject({ status: 'revoked', rotated_to: rotated.body.key_id });
      }
    });

    it('400 for a bad grace_period, 404 unknown, 409 revoked', async () => {
      const teamId = await newTeam();
      const { keyId } = await newKey(teamId);
      for (const grace_period of ['2 hours', '-1s', 5, '1y']) {
        const res = await adminCall('POST', `/api/keys/${keyId}/rotate`, { grace_period });
        expect(res.status).toBe(400);
        expect(res.body.detail).toMatch(/grace_period/);
      }
      const missing = '00000000-0000-4000-8000-000000000000';
      expect((await adminCall('POST', `/api/keys/${missing}/rotate`, {})).status).toBe(404);
      await adminCall('DELETE', `/api/keys/${keyId}`);
      expect((await adminCall('POST', `/api/keys/${keyId}/rotate`, {})).status).toBe(409);
    });
  });

  describe('DELETE /api/keys/{key_id}', () => {
    it('revokes: 200 with the key, 401 on every replica within 1 s, repeat is harmless', async () => {
      const teamId = await newTeam();
      const { keyId, key } = await newKey(teamId);
      for (const gw of gateways) expect((await verify(gw, key)).status).toBe(200);
      const res = await adminCall('DELETE', `/api/keys/${keyId}`);
      expect(res.status).toBe(200);
      noPlaintext(res);
      expect(res.body).toMatchObject({ key_id: keyId, status: 'revoked' });
      expect(res.body.revoked_at).not.toBeNull();
      await onEveryGateway(key, 401, 1000);
      const again = await adminCall('DELETE', `/api/keys/${keyId}`);
      expect(again.body.revoked_at).toBe(res.body.revoked_at);
    });
  });
});
