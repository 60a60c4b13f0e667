import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { CredentialCipher } from '../../../libs/auth/src';
import { ENCRYPTION_KEY, RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { call, eventually, JsonResponse } from '../../../test/helpers/http';
import { builtMain } from '../../../test/helpers/build';
import {
  reencryptCredentials,
  WEBHOOK_SECRETS,
} from '../src/provider-credentials/reencrypt-credentials';

const K1 = { id: 'k1', key: Buffer.from(ENCRYPTION_KEY, 'base64') };
const cipherK1 = new CredentialCipher({ encryption: { current: K1, previous: [] } });
const secret = (label: string) => `sk-${label}-${randomBytes(12).toString('hex')}`;
const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';

describe('admin-api catalog: provider credentials, models, model groups', () => {
  let admin: RunningApp;
  let db: DataSource;
  const org = uid('org');
  const otherOrg = uid('org');
  /** Every plaintext api_key sent; no response body may ever contain one. */
  const plaintexts: string[] = [];
  const bodies: string[] = [];

  async function api<T = any>(method: string, path: string, body?: unknown) {
    const res: JsonResponse<T> = await call<T>(admin.url, method, path, { admin: true, body });
    bodies.push(JSON.stringify(res.body));
    return res;
  }

  async function credential(body: Record<string, unknown>) {
    if (typeof body.api_key === 'string') plaintexts.push(body.api_key);
    const res = await api('POST', '/api/provider-credentials/create', {
      credential_name: uid('cred'),
      ...body,
    });
    expect(res.status).toBe(201);
    return res.body;
  }

  async function model(body: Record<string, unknown>) {
    const res = await api('POST', '/api/models/create', {
      provider_model: 'upstream-model',
      input_price_per_million: 1,
      output_price_per_million: 2,
      ...body,
    });
    expect(res.status).toBe(201);
    return res.body;
  }

  const storedRow = async (credentialId: string) =>
    (
      await db.query(
        'SELECT api_key_encrypted, encryption_key_id, api_key_last4 FROM provider_credentials WHERE credential_id = $1',
        [credentialId],
      )
    )[0] as { api_key_encrypted: string; encryption_key_id: string; api_key_last4: string | null };

  beforeAll(async () => {
    admin = await startAdmin();
    db = admin.app.get(DataSource);
    for (const id of [org, otherOrg]) {
      expect(
        (await api('POST', '/api/organizations/create', { organization_id: id, name: id })).status,
      ).toBe(201);
    }
  });

  afterAll(() => admin.close());

  describe('provider credentials', () => {
    it('creates an org credential: key encrypted at rest under the current key id, shown only masked', async () => {
      const apiKey = secret('openai');
      const created = await credential({
        organization_id: org,
        provider: 'openai',
        api_key: apiKey,
      });
      expect(created).toMatchObject({
        organization_id: org,
        provider: 'openai',
        api_base: null,
        has_api_key: true,
        masked_api_key: `…${apiKey.slice(-4)}`,
        encryption_key_id: 'k1',
        is_active: true,
      });
      expect(created).not.toHaveProperty('api_key');
      const row = await storedRow(created.credential_id);
      expect(row.api_key_encrypted).not.toContain(apiKey);
      expect(row.api_key_encrypted).not.toContain(apiKey.slice(3));
      expect(
        cipherK1.decrypt({ ciphertext: row.api_key_encrypted, keyId: row.encryption_key_id }),
      ).toBe(apiKey);
    });

    it('creates shared and keyless local credentials; accepts http://localhost:11434/v1', async () => {
      const shared = await credential({ provider: 'anthropic', api_key: secret('anthropic') });
      expect(shared.organization_id).toBeNull();
      const ollama = await credential({
        organization_id: org,
        provider: 'openai-compatible',
        api_base: 'http://localhost:11434/v1',
      });
      expect(ollama).toMatchObject({
        has_api_key: false,
        masked_api_key: null,
        api_base: 'http://localhost:11434/v1',
      });
      const nullOrg = await credential({ organization_id: null, provider: 'mock' });
      expect(nullOrg.organization_id).toBeNull();
    });

    it('400 naming the field: unknown, missing, wrong type, bad URL, missing api_key / api_base', async () => {
      const create = (body: Record<string, unknown>) =>
        api('POST', '/api/provider-credentials/create', body);
      const ok = { provider: 'openai', credential_name: uid('c'), api_key: secret('x') };
      plaintexts.push(ok.api_key);
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ ...ok, extra: 1 }, /extra: unknown field/],
        [{ ...ok, provider: 'azure' }, /provider:/],
        [{ credential_name: 'x', api_key: 'y' }, /provider:/],
        [{ ...ok, credential_name: undefined }, /credential_name:/],
        [{ ...ok, api_key: 12345 }, /api_key:/],
        [{ ...ok, api_base: 'ftp://files.example/v1' }, /api_base: must be an http\(s\) URL/],
        [{ ...ok, api_base: 'not a url' }, /api_base: must be an http\(s\) URL/],
        [{ ...ok, api_key: undefined }, /api_key: required for provider 'openai'/],
        [{ provider: 'openai-compatible', credential_name: uid('c') }, /api_base: required/],
        [{ ...ok, organization_id: 'bad id!' }, /organization_id/],
      ];
      for (const [body, detail] of cases) {
        const res = await create(body);
        expect({ status: res.status, code: res.body.code }).toEqual({
          status: 400,
          code: 'VALIDATION_ERROR',
        });
        expect(res.body.detail).toMatch(detail);
      }
    });

    it('404 for an unknown organization, 409 for a duplicate name (also among shared ones)', async () => {
      const missing = await api('POST', '/api/provider-credentials/create', {
        organization_id: uid('nope'),
        provider: 'mock',
        credential_name: 'x',
      });
      expect(missing.status).toBe(404);
      const name = uid('dup');
      await credential({ organization_id: org, provider: 'mock', credential_name: name });
      const again = await api('POST', '/api/provider-credentials/create', {
        organization_id: org,
        provider: 'mock',
        credential_name: name,
      });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('CONFLICT');
      // the same name in another org is fine
      await credential({ organization_id: otherOrg, provider: 'mock', credential_name: name });
      const sharedName = uid('shared');
      await credential({ provider: 'mock', credential_name: sharedName });
      const sharedAgain = await api('POST', '/api/provider-credentials/create', {
        provider: 'mock',
        credential_name: sharedName,
      });
      expect(sharedAgain.status).toBe(409);
    });

    it('lists with filters and cursor pagination; gets one; 400/404 on bad ids', async () => {
      const listOrg = uid('org');
      await api('POST', '/api/organizations/create', { organization_id: listOrg, name: 'list' });
      const made = [];
      for (let i = 0; i < 3; i++)
        made.push(await credential({ organization_id: listOrg, provider: 'mock' }));
      await credential({
        organization_id: listOrg,
        provider: 'anthropic',
        api_key: secret('list'),
      });

      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: JsonResponse = await api(
          'GET',
          `/api/provider-credentials?organization_id=${listOrg}&provider=mock&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        expect(page.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.data.map((c: any) => c.credential_id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen.sort()).toEqual(made.map((c) => c.credential_id).sort());

      expect((await api('GET', '/api/provider-credentials?cursor=garbage')).status).toBe(400);
      expect((await api('GET', '/api/provider-credentials?provider=azure')).status).toBe(400);
      expect((await api('GET', '/api/provider-credentials?limit=0')).body.detail).toMatch(/limit/);

      const one = await api('GET', `/api/provider-credentials/${made[0].credential_id}`);
      expect(one.status).toBe(200);
      expect(one.body).toEqual(made[0]);
      const notUuid = await api('GET', '/api/provider-credentials/not-a-uuid');
      expect(notUuid.status).toBe(400);
      expect(notUuid.body.detail).toMatch(/credential_id/);
      expect((await api('GET', `/api/provider-credentials/${UNKNOWN_UUID}`)).status).toBe(404);
    });

    it('PUT is partial; a new api_key is re-encrypted; bad input is refused', async () => {
      const original = await credential({
        organization_id: org,
        provider: 'openai-compatible',
        api_base: 'https://llm.internal.example/v1',
        api_key: secret('before'),
      });
      const renamed = await api('PUT', `/api/provider-credentials/${original.credential_id}`, {
        credential_name: `${original.credential_name}-2`,
      });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({
        credential_name: `${original.credential_name}-2`,
        api_base: original.api_base,
        masked_api_key: original.masked_api_key,
        provider: 'openai-compatible',
      });
      const before = await storedRow(original.credential_id);

      const newKey = secret('after');
      plaintexts.push(newKey);
      const rekeyed = await api('PUT', `/api/provider-credentials/${original.credential_id}`, {
        api_key: newKey,
      });
      expect(rekeyed.status).toBe(200);
      expect(rekeyed.body.masked_api_key).toBe(`…${newKey.slice(-4)}`);
      expect(rekeyed.body.api_base).toBe(original.api_base);
      const after = await storedRow(original.credential_id);
      expect(after.api_key_encrypted).not.toBe(before.api_key_encrypted);
      expect(
        cipherK1.decrypt({ ciphertext: after.api_key_encrypted, keyId: after.encryption_key_id }),
      ).toBe(newKey);

      const put = (id: string, body: unknown) =>
        api('PUT', `/api/provider-credentials/${id}`, body);
      expect(
        (await put(original.credential_id, { api_base: 'http://localhost:8000/v1' })).body.api_base,
      ).toBe('http://localhost:8000/v1');
      const cleared = await put(original.credential_id, { api_base: null });
      expect(cleared.status).toBe(400);
      expect(cleared.body.detail).toMatch(/api_base: required/);
      expect((await put(original.credential_id, { api_base: 'gopher://x' })).body.detail).toMatch(
        /api_base/,
      );
      expect((await put(original.credential_id, { provider: 'openai' })).body.detail).toMatch(
        /provider: unknown field/,
      );
      expect((await put(UNKNOWN_UUID, { credential_name: 'x' })).status).toBe(404);

      const taken = await credential({ organization_id: org, provider: 'mock' });
      const clash = await put(original.credential_id, { credential_name: taken.credential_name });
      expect(clash.status).toBe(409);
    });

    it('activate / deactivate', async () => {
      const c = await credential({ organization_id: org, provider: 'mock' });
      const off = await api('PUT', `/api/provider-credentials/${c.credential_id}/deactivate`);
      expect(off.status).toBe(200);
      expect(off.body.is_active).toBe(false);
      const on = await api('PUT', `/api/provider-credentials/${c.credential_id}/activate`);
      expect(on.body.is_active).toBe(true);
      expect(
        (await api('PUT', `/api/provider-credentials/${UNKNOWN_UUID}/deactivate`)).status,
      ).toBe(404);
    });

    it('DELETE is refused (409) while a deployment uses the credential, then works', async () => {
      const c = await credential({
        organization_id: org,
        provider: 'openai',
        api_key: secret('del'),
      });
      const d = await model({
        model_name: uid('m'),
        provider: 'openai',
        credential_id: c.credential_id,
      });
      const refused = await api('DELETE', `/api/provider-credentials/${c.credential_id}`);
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toContain(d.model_id);
      expect((await api('DELETE', `/api/models/${d.model_id}`)).status).toBe(200);
      const deleted = await api('DELETE', `/api/provider-credentials/${c.credential_id}`);
      expect(deleted.status).toBe(200);
      expect(deleted.body.credential_id).toBe(c.credential_id);
      expect((await api('GET', `/api/provider-credentials/${c.credential_id}`)).status).toBe(404);
      expect((await api('DELETE', `/api/provider-credentials/${c.credential_id}`)).status).toBe(
        404,
      );
    });
  });

  describe('models (deployments)', () => {
    let openaiCred: any;
    let compatCred: any;
    let anthropicCred: any;

    beforeAll(async () => {
      openaiCred = await credential({
        organization_id: org,
        provider: 'openai',
        api_key: secret('m1'),
      });
      compatCred = await credential({
        organization_id: org,
        provider: 'openai-compatible',
        api_base: 'http://127.0.0.1:9/v1',
        api_key: secret('m2'),
      });
      anthropicCred = await credential({ provider: 'anthropic', api_key: secret('m3') });
    });

    it('creates deployments: with a credential, with only an api_base, mock with neither', async () => {
      const name = uid('gpt');
      const a = await model({
        model_name: name,
        provider: 'openai',
        credential_id: openaiCred.credential_id,
        input_price_per_million: 0.15,
        output_price_per_million: 0.6,
      });
      expect(a).toMatchObject({
        model_name: name,
        provider: 'openai',
        provider_model: 'upstream-model',
        credential_id: openaiCred.credential_id,
        api_base: null,
        input_price_per_million: 0.15,
        output_price_per_million: 0.6,
        weight: 1,
        status: 'active',
      });
      const b = await model({
        model_name: name,
        provider: 'openai-compatible',
        api_base: 'http://localhost:11434/v1',
        weight: 3,
        status: 'inactive',
      });
      expect(b).toMatchObject({ credential_id: null, weight: 3, status: 'inactive' });
      // an openai key serves an openai-compatible deployment; the credential's api_base is used
      await model({
        model_name: name,
        provider: 'openai-compatible',
        credential_id: compatCred.credential_id,
      });
      await model({ model_name: uid('mock'), provider: 'mock' });
      await model({
        model_name: uid('claude'),
        provider: 'anthropic',
        credential_id: anthropicCred.credential_id,
      });
    });

    it('400 naming the field; 404 for an unknown credential; 400 for an incompatible one', async () => {
      const ok = {
        model_name: uid('m'),
        provider: 'openai',
        provider_model: 'gpt-4o',
        credential_id: openaiCred.credential_id,
        input_price_per_million: 1,
        output_price_per_million: 2,
      };
      const cases: Array<[Record<string, unknown>, number, RegExp]> = [
        [{ ...ok, extra: true }, 400, /extra: unknown field/],
        [{ ...ok, input_price_per_million: -1 }, 400, /input_price_per_million/],
        [{ ...ok, output_price_per_million: '2' }, 400, /output_price_per_million/],
        [{ ...ok, weight: 0 }, 400, /weight/],
        [{ ...ok, weight: 1.5 }, 400, /weight/],
        [{ ...ok, status: 'paused' }, 400, /status/],
        [{ ...ok, model_name: 'has space' }, 400, /model_name/],
        [{ ...ok, provider: 'vertex-ai' }, 400, /provider/],
        [{ ...ok, credential_id: 'nope' }, 400, /credential_id/],
        [{ ...ok, api_base: 'localhost:11434' }, 400, /api_base: must be an http\(s\) URL/],
        [{ ...ok, credential_id: undefined }, 400, /credential_id: provider 'openai' needs/],
        [
          { ...ok, provider: 'openai-compatible', credential_id: openaiCred.credential_id },
          400,
          /api_base: required/,
        ],
        [
          { ...ok, provider: 'anthropic' },
          400,
          /credential_id: a 'openai' credential cannot serve/,
        ],
        [{ ...ok, credential_id: UNKNOWN_UUID }, 404, /credential_id: provider credential/],
      ];
      for (const [body, status, detail] of cases) {
        const res = await api('POST', '/api/models/create', body);
        expect({ status: res.status, body: res.body }).toMatchObject({
          status,
          body: { detail: expect.stringMatching(detail) },
        });
      }
    });

    it('lists with filters and a cursor, gets one, 400/404 on ids', async () => {
      const name = uid('list');
      const made = [];
      for (let i = 0; i < 3; i++) made.push(await model({ model_name: name, provider: 'mock' }));
      await model({ model_name: name, provider: 'mock', status: 'inactive' });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: JsonResponse = await api(
          'GET',
          `/api/models?model_name=${name}&provider=mock&status=active&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        seen.push(...page.body.data.map((m: any) => m.model_id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen.sort()).toEqual(made.map((m) => m.model_id).sort());
      expect((await api('GET', '/api/models?status=paused')).status).toBe(400);
      expect((await api('GET', `/api/models/${made[0].model_id}`)).body).toEqual(made[0]);
      expect((await api('GET', '/api/models/123')).body.detail).toMatch(/model_id/);
      expect((await api('GET', `/api/models/${UNKNOWN_UUID}`)).status).toBe(404);
    });

    it('PUT is partial and the result must stay routable', async () => {
      const d = await model({
        model_name: uid('put'),
        provider: 'openai',
        credential_id: openaiCred.credential_id,
      });
      const put = (body: unknown, id = d.model_id) => api('PUT', `/api/models/${id}`, body);
      const weighted = await put({ weight: 5 });
      expect(weighted.status).toBe(200);
      expect(weighted.body).toMatchObject({ ...d, weight: 5, updated_at: expect.any(String) });
      const priced = await put({ input_price_per_million: 3, status: 'inactive' });
      expect(priced.body).toMatchObject({
        weight: 5,
        input_price_per_million: 3,
        output_price_per_million: 2,
        status: 'inactive',
      });
      expect((await put({ credential_id: null })).body.detail).toMatch(
        /credential_id: provider 'openai' needs/,
      );
      const own = await put({ credential_id: null, api_base: 'https://proxy.example/v1' });
      expect(own.body).toMatchObject({ credential_id: null, api_base: 'https://proxy.example/v1' });
      expect(
        (await put({ provider: 'anthropic', credential_id: openaiCred.credential_id })).status,
      ).toBe(400);
      expect((await put({ weight: '2' })).body.detail).toMatch(/weight/);
      expect((await put({ credential_id: UNKNOWN_UUID })).status).toBe(404);
      expect((await put({ weight: 2 }, UNKNOWN_UUID)).status).toBe(404);
    });
  });

  describe('model groups', () => {
    let modelA: string;
    let modelB: string;

    beforeAll(async () => {
      modelA = uid('ma');
      modelB = uid('mb');
      await model({ model_name: modelA, provider: 'mock' });
      await model({ model_name: modelB, provider: 'mock' });
    });

    it('creates a group; 400 naming unknown models; 409 duplicate or clash with a model name', async () => {
      const name = uid('grp');
      const created = await api('POST', '/api/model-groups/create', {
        group_name: name,
        description: 'two mocks',
        models: [modelB, modelA],
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        group_name: name,
        description: 'two mocks',
        models: [modelB, modelA],
      });

      const unknown = await api('POST', '/api/model-groups/create', {
        group_name: uid('grp'),
        models: [modelA, 'ghost-1', 'ghost-2'],
      });
      expect(unknown.status).toBe(400);
      expect(unknown.body.detail).toMatch(/models: .*ghost-1, ghost-2/);
      expect(unknown.body.detail).not.toContain(modelA);

      expect(
        (await api('POST', '/api/model-groups/create', { group_name: name, models: [modelA] }))
          .status,
      ).toBe(409);
      expect(
        (await api('POST', '/api/model-groups/create', { group_name: modelA, models: [modelA] }))
          .status,
      ).toBe(409);
      // and a model may not take a group's name
      const clash = await api('POST', '/api/models/create', {
        model_name: name,
        provider: 'mock',
        provider_model: 'x',
        input_price_per_million: 0,
        output_price_per_million: 0,
      });
      expect(clash.status).toBe(409);

      for (const [body, detail] of [
        [{ group_name: uid('g'), models: [] }, /models/],
        [{ group_name: uid('g'), models: [modelA, modelA] }, /models/],
        [{ group_name: uid('g'), models: 'x' }, /models/],
        [{ group_name: 'bad name', models: [modelA] }, /group_name/],
        [{ group_name: uid('g'), models: [modelA], owner: 'me' }, /owner: unknown field/],
      ] as Array<[unknown, RegExp]>) {
        const res = await api('POST', '/api/model-groups/create', body);
        expect(res.status).toBe(400);
        expect(res.body.detail).toMatch(detail);
      }
    });

    it('lists by name with a cursor, gets one, 404 for unknown', async () => {
      const prefix = uid('lst');
      const names = [`${prefix}-c`, `${prefix}-a`, `${prefix}-b`];
      for (const n of names) {
        expect(
          (await api('POST', '/api/model-groups/create', { group_name: n, models: [modelA] }))
            .status,
        ).toBe(201);
      }
      const all: string[] = [];
      let cursor: string | null = null;
      do {
        const page: JsonResponse = await api(
          'GET',
          `/api/model-groups?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        all.push(...page.body.data.map((g: any) => g.group_name));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(all).toEqual([...all].sort());
      expect(all.filter((n) => n.startsWith(prefix))).toEqual([...names].sort());
      expect((await api('GET', '/api/model-groups?cursor=%%%')).status).toBe(400);
      expect((await api('GET', `/api/model-groups/${names[0]}`)).body.models).toEqual([modelA]);
      expect((await api('GET', `/api/model-groups/${uid('none')}`)).status).toBe(404);
    });

    it('PUT models replaces the order; unknown models 400; 404 for unknown group', async () => {
      const name = uid('grp');
      await api('POST', '/api/model-groups/create', { group_name: name, models: [modelA] });
      const set = await api('PUT', `/api/model-groups/${name}/models`, {
        models: [modelB, modelA],
      });
      expect(set.status).toBe(200);
      expect(set.body.models).toEqual([modelB, modelA]);
      const bad = await api('PUT', `/api/model-groups/${name}/models`, { models: ['ghost'] });
      expect(bad.status).toBe(400);
      expect(bad.body.detail).toMatch(/models: .*ghost/);
      expect((await api('GET', `/api/model-groups/${name}`)).body.models).toEqual([modelB, modelA]);
      expect(
        (await api('PUT', `/api/model-groups/${uid('none')}/models`, { models: [modelA] })).status,
      ).toBe(404);
    });

    it('refuses to delete the last deployment of a grouped model (409), not the others', async () => {
      const name = uid('last');
      const first = await model({ model_name: name, provider: 'mock' });
      const second = await model({ model_name: name, provider: 'mock' });
      const group = uid('grp');
      await api('POST', '/api/model-groups/create', { group_name: group, models: [name] });
      expect((await api('DELETE', `/api/models/${first.model_id}`)).status).toBe(200);
      const last = await api('DELETE', `/api/models/${second.model_id}`);
      expect(last.status).toBe(409);
      expect(last.body.detail).toContain(group);
      const rename = await api('PUT', `/api/models/${second.model_id}`, {
        model_name: uid('renamed'),
      });
      expect(rename.status).toBe(409);
    });

    it('409 while a team holds the group; force=true removes the team links in one go', async () => {
      const group = uid('held');
      await api('POST', '/api/model-groups/create', { group_name: group, models: [modelA] });
      const teamId = uid('team');
      const team = await api('POST', '/api/teams/create', {
        organization_id: org,
        team_id: teamId,
        model_groups: [group],
      });
      expect(team.status).toBe(201);

      const refused = await api('DELETE', `/api/model-groups/${group}`);
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toContain(teamId);
      expect((await api('DELETE', `/api/model-groups/${group}?force=maybe`)).body.detail).toMatch(
        /force/,
      );
      expect((await api('GET', `/api/model-groups/${group}`)).status).toBe(200);

      const forced = await api('DELETE', `/api/model-groups/${group}?force=true`);
      expect(forced.status).toBe(200);
      expect(forced.body).toMatchObject({ group_name: group, removed_from_teams: [teamId] });
      expect((await api('GET', `/api/model-groups/${group}`)).status).toBe(404);
      const links = await db.query('SELECT 1 FROM team_model_groups WHERE group_name = $1', [
        group,
      ]);
      expect(links).toHaveLength(0);
      expect((await api('GET', `/api/teams/${teamId}`)).body.model_groups).toEqual([]);

      const free = uid('free');
      await api('POST', '/api/model-groups/create', { group_name: free, models: [modelA] });
      expect((await api('DELETE', `/api/model-groups/${free}`)).status).toBe(200);
      expect((await api('DELETE', `/api/model-groups/${free}`)).status).toBe(404);
    });
  });

  it('audits credential mutations with the api_key redacted', async () => {
    const apiKey = secret('audited');
    const c = await credential({ organization_id: org, provider: 'openai', api_key: apiKey });
    const newKey = secret('audited2');
    plaintexts.push(newKey);
    await api('PUT', `/api/provider-credentials/${c.credential_id}`, { api_key: newKey });
    let rows: any[] = [];
    await eventually(async () => {
      const res = await api(
        'GET',
        `/api/audit-log?target_type=provider_credential&target_id=${c.credential_id}`,
      );
      rows = res.body.data;
      return rows.length >= 2;
    });
    const create = rows.find((r) => r.route === '/api/provider-credentials/create');
    expect(create).toMatchObject({ method: 'POST', status_code: 201 });
    expect(create.summary.body).toMatchObject({ api_key: '[redacted]', provider: 'openai' });
    const put = rows.find((r) => r.method === 'PUT');
    expect(put).toMatchObject({
      route: '/api/provider-credentials/:credential_id',
      status_code: 200,
    });
    expect(put.summary.body).toEqual({ api_key: '[redacted]' });
    const hits = await db.query(
      'SELECT count(*)::int AS n FROM audit_log WHERE summary::text LIKE ANY($1)',
      [plaintexts.map((p) => `%${p}%`)],
    );
    expect(hits[0].n).toBe(0);
  });

  it('re-encryption: `npm run reencrypt-credentials` moves old rows to the new key id, and they still decrypt', async () => {
    const K2 = { id: 'k2', key: randomBytes(32) };
    const apiKey = secret('rotate');
    const c = await credential({ organization_id: org, provider: 'openai', api_key: apiKey });
    // more rows of its own under k1, whatever the other tests of this spec left
    const more: string[] = [];
    for (const name of ['more-1', 'more-2', 'more-3']) {
      const extra = await credential({
        organization_id: org,
        provider: 'openai',
        api_key: secret(name),
      });
      more.push(extra.credential_id as string);
    }
    // a row under a key nobody configured: reported by id, left untouched
    const lost = new CredentialCipher({
      encryption: { current: { id: 'lost', key: randomBytes(32) }, previous: [] },
    });
    const sealedLost = lost.encrypt('sk-lost-value-123456');
    const [{ credential_id: lostId }] = await db.query(
      `INSERT INTO provider_credentials (organization_id, provider, credential_name, api_key_encrypted, encryption_key_id)
       VALUES ($1, 'openai', $2, $3, 'lost') RETURNING credential_id`,
      [org, uid('lost'), sealedLost.ciphertext],
    );

    const hook = await api('POST', '/api/webhooks', {
      url: 'http://127.0.0.1:9/hook',
      events: ['credits.added'],
      organization_id: org,
    });
    expect(hook.status).toBe(201);
    const hookSecret = hook.body.secret as string;

    const run = promisify(execFile);
    const env = {
      ...process.env,
      NODE_ENV: 'development',
      DATABASE_URL: process.env.DATABASE_URL!,
      ENCRYPTION_KEY: K2.key.toString('base64'),
      ENCRYPTION_KEY_ID: 'k2',
      ENCRYPTION_KEYS_PREVIOUS: `k1:${ENCRYPTION_KEY}`,
      TOLLGATE_DATA_DIR: '.test-services/data',
    };
    builtMain('admin-api'); // the command ships in the build: `npm run reencrypt-credentials`
    const failure = await run('npm', ['run', '--silent', 'reencrypt-credentials'], {
      env,
      cwd: process.cwd(),
    }).then(
      () => null,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failure).not.toBeNull(); // exit 1: the 'lost' row could not be decrypted
    expect(failure!.code).toBe(1);
    expect(failure!.stdout).toMatch(/Re-encrypted \d+ provider credential\(s\) under key id 'k2'/);
    expect(failure!.stderr).toContain(lostId);
    expect(failure!.stdout).toMatch(/Re-encrypted [1-9]\d* webhook secret\(s\) under key id 'k2'/);
    for (const text of [failure!.stdout, failure!.stderr]) {
      expect(text).not.toContain(ENCRYPTION_KEY);
      expect(text).not.toContain(K2.key.toString('base64'));
      expect(text).not.toContain(apiKey);
      expect(text).not.toContain(hookSecret);
    }

    const rotated = new CredentialCipher({ encryption: { current: K2, previous: [K1] } });
    const row = await storedRow(c.credential_id);
    expect(row.encryption_key_id).toBe('k2');
    expect(
      rotated.decrypt({ ciphertext: row.api_key_encrypted, keyId: row.encryption_key_id }),
    ).toBe(apiKey);
    // every keyed row of this spec's organization is now under k2, except the undecryptable one
    // (rows other specs sealed under keys this run does not know are reported, never touched)
    const mine: Array<{ credential_id: string; encryption_key_id: string }> = await db.query(
      `SELECT credential_id, encryption_key_id FROM provider_credentials
        WHERE organization_id = $1 AND api_key_encrypted IS NOT NULL`,
      [org],
    );
    expect(mine.map((r) => r.credential_id)).toEqual(
      expect.arrayContaining([c.credential_id, ...more, lostId]),
    );
    expect(mine.filter((r) => r.encryption_key_id !== 'k2').map((r) => r.credential_id)).toEqual([
      lostId,
    ]);
    expect((await storedRow(lostId)).api_key_encrypted).toBe(sealedLost.ciphertext);
    await db.query('DELETE FROM provider_credentials WHERE credential_id = $1', [lostId]);
    const mineIds = mine.map((r) => r.credential_id).filter((id) => id !== lostId);

    const [sealedHook]: Array<{ secret_encrypted: string; encryption_key_id: string }> =
      await db.query(
        'SELECT secret_encrypted, encryption_key_id FROM webhooks WHERE webhook_id = $1',
        [hook.body.webhook_id],
      );
    expect(sealedHook.encryption_key_id).toBe('k2');
    expect(rotated.decrypt({ ciphertext: sealedHook.secret_encrypted, keyId: 'k2' })).toBe(
      hookSecret,
    );
    const hooksBack = await reencryptCredentials(
      db,
      new CredentialCipher({ encryption: { current: K1, previous: [K2] } }),
      WEBHOOK_SECRETS,
    );
    expect(hooksBack.failed).toEqual([]);
    await api('DELETE', `/api/webhooks/${hook.body.webhook_id}`);

    // rotate back with the exported function, so later specs sharing this database keep decrypting
    const back = await reencryptCredentials(
      db,
      new CredentialCipher({ encryption: { current: K1, previous: [K2] } }),
    );
    expect(back.reencrypted).toBeGreaterThanOrEqual(mineIds.length);
    expect(back.failed.filter((id) => mineIds.includes(id))).toEqual([]);
    const again = await reencryptCredentials(db, cipherK1);
    expect(again.reencrypted).toBe(0);
    expect(again.currentKeyId).toBe('k1');
    const restored = await storedRow(c.credential_id);
    expect(
      cipherK1.decrypt({
        ciphertext: restored.api_key_encrypted,
        keyId: restored.encryption_key_id,
      }),
    ).toBe(apiKey);
  });

  // after every test, whatever their order (CI shuffles them): no response body ever contained a plaintext api_key
  afterAll(() => {
    expect(plaintexts.length).toBeGreaterThan(10);
    expect(bodies.length).toBeGreaterThan(50);
    for (const body of bodies) {
      for (const p of plaintexts) expect(body).not.toContain(p);
    }
  });
});
