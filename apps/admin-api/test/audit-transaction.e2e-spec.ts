import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';

const MARKER = 'fail-audit-marker';
const KEY_INVALIDATION = 'tollgate:key-invalidation';
const CATALOG_CHANGED = 'tollgate:catalog-changed';

interface Published {
  channel: string;
  message: string;
}

/**
 * A change and its audit row commit together: when the audit row cannot be written, the change
 * is rolled back and the client gets an error; caches are told only after the commit.
 */
describe('admin-api: a change commits with its audit row, or not at all', () => {
  let admin: RunningApp;
  let db: DataSource;
  let subscriber: Redis;
  const published: Published[] = [];
  const orgId = uid('org');

  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call(admin.url, method, path, { admin: true, body, headers });
  const auditRows = (type: string, id: string) =>
    db.query<Array<{ method: string; route: string; status_code: number }>>(
      `SELECT method, route, status_code FROM audit_log
        WHERE target_type = $1 AND target_id = $2 ORDER BY created_at`,
      [type, id],
    );
  /** Waits until a message matching `match` was published on the watched channels. */
  const heard = (match: (p: Published) => boolean) =>
    eventually(() => Promise.resolve(published.some(match)));
  const newTeam = async () => {
    const teamId = uid('team');
    const res = await api('POST', '/api/teams/create', { organization_id: orgId, team_id: teamId });
    expect(res.status).toBe(201);
    return res.body as { team_id: string; key_id: string };
  };
  const expectRolledBack = (res: { status: number; body: any }) => {
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      detail: 'The change was not applied: its audit record could not be written',
      code: 'INTERNAL_ERROR',
    });
  };

  beforeAll(async () => {
    admin = await startAdmin();
    db = admin.app.get(DataSource);
    // Refuses any audit row whose summary carries the marker (so only the marked request fails).
    await db.query(`
      CREATE OR REPLACE FUNCTION test_refuse_marked_audit() RETURNS trigger AS $$
      BEGIN
        IF NEW.summary::text LIKE '%${MARKER}%' THEN
          RAISE EXCEPTION 'audit write refused by the test';
        END IF;
        RETURN NEW;
      END $$ LANGUAGE plpgsql`);
    await db.query(`
      CREATE TRIGGER test_refuse_marked_audit BEFORE INSERT ON audit_log
      FOR EACH ROW EXECUTE FUNCTION test_refuse_marked_audit()`);
    subscriber = new Redis(process.env.REDIS_URL!);
    await subscriber.subscribe(KEY_INVALIDATION, CATALOG_CHANGED);
    subscriber.on('message', (channel: string, message: string) =>
      published.push({ channel, message }),
    );
    expect(
      (await api('POST', '/api/organizations/create', { organization_id: orgId, name: 'Tx' }))
        .status,
    ).toBe(201);
  });
  afterAll(async () => {
    await db.query('DROP TRIGGER IF EXISTS test_refuse_marked_audit ON audit_log');
    await db.query('DROP FUNCTION IF EXISTS test_refuse_marked_audit()');
    subscriber.disconnect();
    await admin.close();
  });

  it('team PATCH: the alias stays, no key cache is invalidated; a normal PATCH then works', async () => {
    const team = await newTeam();
    published.length = 0;
    expectRolledBack(await api('PATCH', `/api/teams/${team.team_id}`, { team_alias: MARKER }));
    expect((await api('GET', `/api/teams/${team.team_id}`)).body.team_alias).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(published).toEqual([]);

    const ok = await api('PATCH', `/api/teams/${team.team_id}`, { team_alias: 'renamed' });
    expect(ok.status).toBe(200);
    expect(ok.body.team_alias).toBe('renamed');
    expect(
      (await auditRows('team', team.team_id)).map((r) => `${r.method} ${r.status_code}`),
    ).toEqual(['POST 201', 'PATCH 200']);
    await heard((p) => p.message.includes(team.team_id));
  });

  it('credits add: balance and ledger unchanged, the Idempotency-Key left free for a retry', async () => {
    const team = await newTeam();
    const key = uid('idem');
    const before = (await api('GET', `/api/credits/teams/${team.team_id}/balance`)).body;
    expectRolledBack(
      await api(
        'POST',
        `/api/credits/teams/${team.team_id}/add`,
        { credits: 40, reason: `promo ${MARKER}` },
        { 'Idempotency-Key': key },
      ),
    );
    expect((await api('GET', `/api/credits/teams/${team.team_id}/balance`)).body).toEqual(before);
    const ledger = await api('GET', `/api/credits/teams/${team.team_id}/transactions`);
    expect(ledger.body.data).toEqual([]);
    const keys: unknown[] = await db.query(
      'SELECT 1 FROM idempotency_keys WHERE idempotency_key = $1',
      [key],
    );
    expect(keys).toHaveLength(0);

    // the same key runs again (another body is no mismatch: the first left nothing), then replays
    const retry = await api(
      'POST',
      `/api/credits/teams/${team.team_id}/add`,
      { credits: 40, reason: 'promo' },
      { 'Idempotency-Key': key },
    );
    expect(retry.status).toBe(200);
    expect(retry.body.balance.credits_allocated).toBe(40);
    const replay = await api(
      'POST',
      `/api/credits/teams/${team.team_id}/add`,
      { credits: 40, reason: 'promo' },
      { 'Idempotency-Key': key },
    );
    expect(replay.body).toEqual(retry.body);
    expect(
      (await api('GET', `/api/credits/teams/${team.team_id}/transactions`)).body.data,
    ).toHaveLength(1);
    expect((await auditRows('team', team.team_id)).map((r) => r.status_code)).toEqual([
      201, 200, 200,
    ]);
  });

  it('key create: no key is created; a normal create then works and is audited', async () => {
    const team = await newTeam();
    expectRolledBack(await api('POST', `/api/teams/${team.team_id}/keys`, { key_alias: MARKER }));
    const keys = await api('GET', `/api/teams/${team.team_id}/keys`);
    expect(keys.body.data.map((k: { key_id: string }) => k.key_id)).toEqual([team.key_id]);

    const ok = await api('POST', `/api/teams/${team.team_id}/keys`, { key_alias: 'ci' });
    expect(ok.status).toBe(201);
    expect((await api('GET', `/api/teams/${team.team_id}/keys`)).body.data).toHaveLength(2);
    expect(
      (await auditRows('team', team.team_id)).map((r) => `${r.route} ${r.status_code}`),
    ).toEqual(['/api/teams/create 201', '/api/teams/:team_id/keys 201']);
  });

  it('model group create: not created, and gateways are not told the catalog changed', async () => {
    const model = uid('model');
    const created = await api('POST', '/api/models/create', {
      model_name: model,
      provider: 'mock',
      provider_model: 'mock-1',
      input_price_per_million: 1,
      output_price_per_million: 2,
    });
    expect(created.status).toBe(201);
    // the model's own announcement may reach us late: hear it before watching for the group's
    await heard((p) => p.channel === CATALOG_CHANGED);
    const group = uid('group');
    published.length = 0;
    expectRolledBack(
      await api('POST', '/api/model-groups/create', {
        group_name: group,
        description: MARKER,
        models: [model],
      }),
    );
    expect((await api('GET', `/api/model-groups/${group}`)).status).toBe(404);
    await new Promise((r) => setTimeout(r, 100));
    expect(published.filter((p) => p.channel === CATALOG_CHANGED)).toEqual([]);

    const ok = await api('POST', '/api/model-groups/create', {
      group_name: group,
      models: [model],
    });
    expect(ok.status).toBe(201);
    expect(await auditRows('model_group', group)).toHaveLength(1);
    await heard((p) => p.channel === CATALOG_CHANGED);
  });

  it('caches are told only once the change has committed', async () => {
    const team = await newTeam();
    // Hold the audit table: the request's transaction waits at its audit row, uncommitted.
    const blocker = db.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    await blocker.query('LOCK TABLE audit_log IN EXCLUSIVE MODE');
    published.length = 0;
    const pending = api('PUT', `/api/teams/${team.team_id}/suspend`);
    try {
      await new Promise((r) => setTimeout(r, 400));
      expect(published).toEqual([]);
      const [row] = await blocker.query('SELECT status FROM teams WHERE team_id = $1', [
        team.team_id,
      ]);
      expect(row.status).toBe('active');
    } finally {
      await blocker.commitTransaction();
      await blocker.release();
    }
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('suspended');
    await heard((p) => p.message.includes(team.team_id));
  });
});
