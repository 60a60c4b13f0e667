import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { MASTER_KEY, RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { builtMain } from '../../../test/helpers/build';
import { call } from '../../../test/helpers/http';

interface OpenApiOperation {
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}
interface OpenApiDoc {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, unknown> };
}

describe('admin-api foundation: auth, organizations, teams, keys shown once', () => {
  let admin: RunningApp;

  beforeAll(async () => {
    admin = await startAdmin();
  });
  afterAll(() => admin.close());

  describe('X-Admin-Key', () => {
    it('is required: missing → 401 with the SPEC message', async () => {
      const res = await call(admin.url, 'GET', '/api/organizations');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        detail: 'Missing X-Admin-Key header. Admin authentication required.',
        code: 'ADMIN_KEY_MISSING',
      });
    });

    it('must match: wrong → 401 Invalid admin API key', async () => {
      for (const wrong of ['nope', MASTER_KEY + 'x', MASTER_KEY.slice(0, -1), '']) {
        const res = await call(admin.url, 'GET', '/api/organizations', {
          headers: { 'X-Admin-Key': wrong },
        });
        expect(res.status).toBe(401);
        expect(res.body.detail).toMatch(/Invalid admin API key|Missing X-Admin-Key/);
      }
    });

    it('is accepted when right, and health/docs are public', async () => {
      expect((await call(admin.url, 'GET', '/api/organizations', { admin: true })).status).toBe(
        200,
      );
      expect((await call(admin.url, 'GET', '/health')).body).toEqual({ status: 'healthy' });
      expect((await call(admin.url, 'GET', '/health/ready')).status).toBe(200);
      const docs = await call(admin.url, 'GET', '/docs-json');
      expect(docs.status).toBe(200);
      expect(docs.body.components.securitySchemes['admin-key']).toMatchObject({
        type: 'apiKey',
        in: 'header',
        name: 'X-Admin-Key',
      });
      expect((await fetch(admin.url + '/docs')).status).toBe(200);
    });

    it('docs: Idempotency-Key once and optional; every /api error refers to the {detail, code} schema', async () => {
      const doc = (await call(admin.url, 'GET', '/docs-json')).body as OpenApiDoc;
      const add = doc.paths['/api/credits/teams/{team_id}/add'].post;
      const headers = add.parameters!.filter((p) => p.in === 'header');
      expect(headers).toEqual([
        expect.objectContaining({ name: 'Idempotency-Key', required: false }),
      ]);
      expect(doc.components.schemas.ApiErrorDto).toMatchObject({
        required: ['detail', 'code'],
        properties: { detail: { type: 'string' }, code: { type: 'string' } },
      });
      const errors = Object.entries(doc.paths)
        .filter(([path]) => path.startsWith('/api/'))
        .flatMap(([, item]) => Object.values(item))
        .flatMap((op) => Object.entries(op.responses).filter(([status]) => Number(status) >= 400));
      expect(errors.length).toBeGreaterThan(50);
      for (const [, response] of errors) {
        expect(response.content?.['application/json'].schema).toEqual({
          $ref: '#/components/schemas/ApiErrorDto',
        });
      }
    });

    // The Swagger CLI plugin documents DTO and query classes at build time (ts-jest does not run it),
    // so this reads the document the real build writes: `node main.js --openapi FILE`.
    it('docs (real build): list endpoints document their query parameters', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'tollgate-docs-')), 'admin-api.json');
      await promisify(execFile)('node', [builtMain('admin-api'), '--openapi', file]);
      const doc = JSON.parse(readFileSync(file, 'utf8')) as OpenApiDoc;
      const query = (path: string, method: string) =>
        (doc.paths[path][method].parameters ?? [])
          .filter((p) => p.in === 'query')
          .map((p) => p.name)
          .sort();
      expect(query('/api/teams', 'get')).toEqual(
        ['cursor', 'include_deleted', 'limit', 'organization_id'].sort(),
      );
      expect(query('/api/jobs/teams/{team_id}', 'get')).toEqual(
        ['cursor', 'from', 'limit', 'status', 'to'].sort(),
      );
      expect(query('/api/audit-log', 'get')).toEqual(
        ['cursor', 'limit', 'target_id', 'target_type'].sort(),
      );
      expect(query('/api/model-groups/{group_name}', 'delete')).toEqual(['force']);
      expect(query('/api/teams/{team_id}/keys', 'get')).toEqual(['cursor', 'limit']);
      expect(
        doc.paths['/api/credits/teams/{team_id}/add'].post.parameters!.filter(
          (p) => p.in === 'header',
        ),
      ).toEqual([expect.objectContaining({ name: 'Idempotency-Key', required: false })]);
      // every request body of the admin API carries examples for Swagger UI's "Try it out"
      const bodies = Object.values(doc.paths).flatMap((ops) =>
        Object.values(ops).flatMap((op) => {
          const ref = (
            op as { requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> } }
          ).requestBody?.content?.['application/json']?.schema?.$ref;
          return ref ? [ref.split('/').pop()!] : [];
        }),
      );
      expect(bodies.length).toBeGreaterThan(10);
      const schemas = (
        doc as unknown as {
          components: {
            schemas: Record<string, { properties?: Record<string, { example?: unknown }> }>;
          };
        }
      ).components.schemas;
      for (const name of new Set(bodies)) {
        const props = Object.entries(schemas[name].properties ?? {}).filter(
          ([, p]) => !('not' in p), // the refused credit fields of the team PATCH
        );
        const withExample = props.filter(([, p]) => p.example !== undefined);
        expect({ name, examples: withExample.length > 0 }).toEqual({ name, examples: true });
      }
      expect(schemas.CreateTeamDto.properties!.team_id.example).toBe('acme-research');
    }, 120_000);
  });

  describe('organizations', () => {
    it('create → 201, get, list, duplicate → 409', async () => {
      const id = uid('org');
      const created = await call(admin.url, 'POST', '/api/organizations/create', {
        admin: true,
        body: { organization_id: id, name: 'Acme', metadata: { tier: 'gold' } },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        organization_id: id,
        name: 'Acme',
        metadata: { tier: 'gold' },
      });

      const again = await call(admin.url, 'POST', '/api/organizations/create', {
        admin: true,
        body: { organization_id: id, name: 'Other' },
      });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('CONFLICT');

      expect(
        (await call(admin.url, 'GET', `/api/organizations/${id}`, { admin: true })).body.name,
      ).toBe('Acme');
      const missing = await call(admin.url, 'GET', `/api/organizations/${uid('none')}`, {
        admin: true,
      });
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('NOT_FOUND');
      const list = await call(admin.url, 'GET', '/api/organizations?limit=200', { admin: true });
      expect(list.body.data.map((o: { organization_id: string }) => o.organization_id)).toContain(
        id,
      );
      expect(list.body).toHaveProperty('next_cursor');
    });

    it('paginates with a cursor without skipping rows created in the same millisecond', async () => {
      // Inserted in one statement, so they share a created_at down to the microsecond.
      const created = Array.from({ length: 5 }, () => uid('page'));
      await admin.app
        .get(DataSource)
        .query(
          `INSERT INTO organizations (organization_id, name) SELECT id, id FROM unnest($1::text[]) AS id`,
          [created],
        );
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${cursor}` : '';
        const page = await call(admin.url, 'GET', `/api/organizations?limit=2${query}`, {
          admin: true,
        });
        expect(page.status).toBe(200);
        expect(page.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.data.map((o: { organization_id: string }) => o.organization_id));
        cursor = page.body.next_cursor as string | null;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining(created));
      const bad = await call(admin.url, 'GET', '/api/organizations?cursor=garbage', {
        admin: true,
      });
      expect(bad.status).toBe(400);
    });
  });

  describe('teams and keys', () => {
    let orgId: string;
    beforeAll(async () => {
      orgId = uid('org');
      await call(admin.url, 'POST', '/api/organizations/create', {
        admin: true,
        body: { organization_id: orgId, name: 'Team org' },
      });
    });

    it('create returns the virtual key once; get/list/keys show it masked only', async () => {
      const teamId = uid('team');
      const created = await call(admin.url, 'POST', '/api/teams/create', {
        admin: true,
        body: { organization_id: orgId, team_id: teamId, team_alias: 'Eng', credits_allocated: 25 },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        team_id: teamId,
        organization_id: orgId,
        team_alias: 'Eng',
        model_groups: [],
        credits_allocated: 25,
        credits_remaining: 25,
        status: 'active',
      });
      const key: string = created.body.virtual_key;
      expect(key).toMatch(/^sk-[A-Za-z0-9]{32,}$/);
      expect(created.body.key_id).toMatch(/^[0-9a-f-]{36}$/);

      const views = await Promise.all([
        call(admin.url, 'GET', `/api/teams/${teamId}`, { admin: true }),
        call(admin.url, 'GET', `/api/teams?organization_id=${orgId}`, { admin: true }),
        call(admin.url, 'GET', `/api/organizations/${orgId}/teams`, { admin: true }),
        call(admin.url, 'GET', `/api/teams/${teamId}/keys`, { admin: true }),
      ]);
      for (const view of views) {
        expect(view.status).toBe(200);
        const text = JSON.stringify(view.body);
        expect(text).not.toContain(key);
        expect(text).not.toContain(key.slice(3, 20));
      }
      const keys = views[3].body.data;
      expect(keys).toHaveLength(1);
      expect(keys[0].masked_key).toBe(`${key.slice(0, 7)}…${key.slice(-4)}`);
      expect(views[0].body.keys[0].masked_key).toBe(keys[0].masked_key);

      const second = await call(admin.url, 'POST', `/api/teams/${teamId}/keys`, {
        admin: true,
        body: { key_alias: 'ci', duration: '30d', rpm_limit: 60 },
      });
      expect(second.status).toBe(201);
      expect(second.body.virtual_key).toMatch(/^sk-/);
      expect(second.body.virtual_key).not.toBe(key);
      expect(second.body.key_alias).toBe('ci');
      expect(Date.parse(second.body.expires_at)).toBeGreaterThan(Date.now() + 29 * 86400_000);
      const listed = await call(admin.url, 'GET', `/api/teams/${teamId}/keys`, { admin: true });
      expect(listed.body.data).toHaveLength(2);
      expect(JSON.stringify(listed.body)).not.toContain(second.body.virtual_key);
    });

    it('writes the initial allocation to the ledger', async () => {
      const teamId = uid('team');
      await call(admin.url, 'POST', '/api/teams/create', {
        admin: true,
        body: { organization_id: orgId, team_id: teamId, credits_allocated: 40 },
      });
      const ds = admin.app.get(DataSource);
      const rows = await ds.query('SELECT * FROM credit_transactions WHERE team_id = $1', [teamId]);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        transaction_type: 'allocation',
        credits_amount: '40',
        credits_before: '0',
        credits_after: '40',
      });
    });

    it('duplicate team → 409, unknown organization → 404, bad input → 400 naming the field', async () => {
      const teamId = uid('team');
      const body = { organization_id: orgId, team_id: teamId };
      expect(
        (await call(admin.url, 'POST', '/api/teams/create', { admin: true, body })).status,
      ).toBe(201);
      const dup = await call(admin.url, 'POST', '/api/teams/create', { admin: true, body });
      expect(dup.status).toBe(409);
      expect(dup.body.detail).toContain(teamId);

      const noOrg = await call(admin.url, 'POST', '/api/teams/create', {
        admin: true,
        body: { organization_id: uid('ghost'), team_id: uid('team') },
      });
      expect(noOrg.status).toBe(404);

      const cases: Array<[unknown, RegExp]> = [
        [{ ...body, team_id: uid('t'), surprise: 1 }, /surprise: unknown field/],
        [
          { ...body, team_id: uid('t'), credits_allocated: '5' },
          /credits_allocated: must be an integer/,
        ],
        [
          { ...body, team_id: uid('t'), credits_allocated: -1 },
          /credits_allocated: must not be less than 0/,
        ],
        [{ ...body, team_id: 'has spaces' }, /team_id/],
        [{ ...body, team_id: uid('t'), budget_mode: 'free' }, /budget_mode/],
        [{ organization_id: orgId }, /team_id/],
        [{ ...body, team_id: uid('t'), model_groups: ['no-such-group'] }, /no-such-group/],
      ];
      for (const [payload, detail] of cases) {
        const res = await call(admin.url, 'POST', '/api/teams/create', {
          admin: true,
          body: payload,
        });
        expect({ status: res.status, code: res.body.code }).toEqual({
          status: 400,
          code: 'VALIDATION_ERROR',
        });
        expect(res.body.detail).toMatch(detail);
      }
    });

    it('malformed JSON → 400, oversized body → 413, malformed id → 400', async () => {
      const bad = await call(admin.url, 'POST', '/api/teams/create', {
        admin: true,
        raw: '{"team_id": ',
      });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('INVALID_JSON');
      const huge = await call(admin.url, 'POST', '/api/organizations/create', {
        admin: true,
        body: { organization_id: uid('big'), name: 'x'.repeat(1_100_000) },
      });
      expect(huge.status).toBe(413);
      expect(huge.body.code).toBe('PAYLOAD_TOO_LARGE');
      const badId = await call(admin.url, 'DELETE', '/api/keys/not-a-uuid', { admin: true });
      expect(badId.status).toBe(400);
      expect(badId.body.detail).toMatch(/key_id/);
      const missing = await call(
        admin.url,
        'DELETE',
        '/api/keys/00000000-0000-4000-8000-000000000000',
        {
          admin: true,
        },
      );
      expect(missing.status).toBe(404);
    });
  });
});
