import { RunningApp, startAdmin, startGateway, uid, MASTER_KEY } from './helpers/apps';
import { call, eventually } from './helpers/http';

/** Two gateway replicas share Redis: an admin change must reach both within 1 s. */
describe('virtual keys across services', () => {
  let admin: RunningApp;
  let gateways: RunningApp[];
  let orgId: string;

  beforeAll(async () => {
    admin = await startAdmin();
    gateways = [await startGateway(), await startGateway()];
    orgId = uid('org');
    await call(admin.url, 'POST', '/api/organizations/create', {
      admin: true,
      body: { organization_id: orgId, name: 'Propagation' },
    });
  });
  afterAll(async () => {
    await Promise.all([admin, ...gateways].map((a) => a.close()));
  });

  async function newTeam(credits = 10) {
    const teamId = uid('team');
    const res = await call(admin.url, 'POST', '/api/teams/create', {
      admin: true,
      body: { organization_id: orgId, team_id: teamId, credits_allocated: credits },
    });
    expect(res.status).toBe(201);
    return { teamId, key: res.body.virtual_key as string, keyId: res.body.key_id as string };
  }

  const verify = (gw: RunningApp, key?: string) =>
    call(gw.url, 'GET', '/api/teams/verify', key ? { bearer: key } : {});

  it('verify answers with the team, key and credits', async () => {
    const { teamId, key, keyId } = await newTeam(7);
    for (const gw of gateways) {
      const res = await verify(gw, key);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        team_id: teamId,
        organization_id: orgId,
        status: 'active',
        key_id: keyId,
        key_alias: 'default',
        models: [],
        credits_remaining: 7,
      });
    }
  });

  it('bearer errors carry the SPEC message', async () => {
    const gw = gateways[0];
    const cases: Array<Record<string, string>> = [
      {},
      { Authorization: 'Bearer' },
      { Authorization: 'Bearer sk-not-a-key' },
      { Authorization: `Bearer sk-${'A'.repeat(40)}` },
      { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      { Authorization: `Bearer ${MASTER_KEY}` },
      { 'X-Admin-Key': MASTER_KEY },
    ];
    for (const headers of cases) {
      const res = await call(gw.url, 'GET', '/api/teams/verify', { headers });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ detail: 'Invalid or missing API key', code: 'INVALID_API_KEY' });
    }
  });

  it('a revoked key is refused by every replica within 1 s', async () => {
    const { key, keyId } = await newTeam();
    for (const gw of gateways) expect((await verify(gw, key)).status).toBe(200); // warm both caches
    const revoked = await call(admin.url, 'DELETE', `/api/keys/${keyId}`, { admin: true });
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    for (const gw of gateways) {
      const elapsed = await eventually(
        async () => (await verify(gw, key)).status === 401,
        1000,
        20,
      );
      expect(elapsed).toBeLessThanOrEqual(1000);
    }
  });

  it('a suspended or paused team gets 403 within 1 s, and resume restores access', async () => {
    const { teamId, key } = await newTeam();
    for (const gw of gateways) expect((await verify(gw, key)).status).toBe(200);

    await call(admin.url, 'PUT', `/api/teams/${teamId}/suspend`, { admin: true });
    for (const gw of gateways) {
      await eventually(async () => (await verify(gw, key)).status === 403, 1000, 20);
      const res = await verify(gw, key);
      expect(res.body).toEqual({
        detail: 'Team access is suspended. Please contact support.',
        code: 'TEAM_SUSPENDED',
      });
    }
    await call(admin.url, 'PUT', `/api/teams/${teamId}/pause`, { admin: true });
    for (const gw of gateways) {
      await eventually(async () => (await verify(gw, key)).body?.code === 'TEAM_PAUSED', 1000, 20);
    }
    await call(admin.url, 'PUT', `/api/teams/${teamId}/resume`, { admin: true });
    for (const gw of gateways) {
      await eventually(async () => (await verify(gw, key)).status === 200, 1000, 20);
    }
  });

  it('an expired key is refused', async () => {
    const { teamId } = await newTeam();
    const res = await call(admin.url, 'POST', `/api/teams/${teamId}/keys`, {
      admin: true,
      body: { duration: '1s' },
    });
    const key = res.body.virtual_key as string;
    expect((await verify(gateways[0], key)).status).toBe(200);
    await eventually(async () => (await verify(gateways[0], key)).status === 401, 3000, 100);
  });

  it('a virtual key is refused on every admin route', async () => {
    const { key } = await newTeam();
    const res = await call(admin.url, 'GET', '/api/organizations', { bearer: key });
    expect(res.status).toBe(401);
    const asAdminKey = await call(admin.url, 'GET', '/api/organizations', {
      headers: { 'X-Admin-Key': key },
    });
    expect(asAdminKey.status).toBe(401);
    expect(asAdminKey.body.detail).toBe('Invalid admin API key');
  });

  it('a team sees only its own team on the gateway', async () => {
    const a = await newTeam();
    const b = await newTeam();
    expect(
      (await call(gateways[0].url, 'GET', `/api/teams/${a.teamId}`, { bearer: a.key })).status,
    ).toBe(200);
    const other = await call(gateways[0].url, 'GET', `/api/teams/${b.teamId}`, { bearer: a.key });
    expect(other.status).toBe(403);
    expect(other.body.detail).toBe('Cannot access teams for a different team');
  });
});
