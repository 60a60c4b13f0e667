import { DataSource } from 'typeorm';
import { MASTER_KEY, RunningApp, startAdmin, uid } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';

interface AuditEntry {
  audit_id: string;
  created_at: string;
  method: string;
  route: string;
  path: string;
  target_type: string | null;
  target_id: string | null;
  request_id: string | null;
  status_code: number;
  summary: Record<string, any>;
}

describe('admin-api audit log', () => {
  let admin: RunningApp;
  let db: DataSource;
  const orgId = uid('org');

  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call(admin.url, method, path, { admin: true, body, headers });

  /** The audit rows of one target, once `count` of them have landed (writes are async). */
  async function auditOf(type: string, id: string, count = 1): Promise<AuditEntry[]> {
    let rows: AuditEntry[] = [];
    await eventually(async () => {
      const res = await api('GET', `/api/audit-log?target_type=${type}&target_id=${id}&limit=200`);
      rows = res.body.data;
      return rows.length >= count;
    });
    return rows;
  }

  beforeAll(async () => {
    admin = await startAdmin();
    db = admin.app.get(DataSource);
    expect(
      (await api('POST', '/api/organizations/create', { organization_id: orgId, name: 'Audit' }))
        .status,
    ).toBe(201);
  });
  afterAll(() => admin.close());

  it('records a team creation with its target, route, request id and status, and no secret', async () => {
    const teamId = uid('team');
    const pasted = 'sk-' + 'Zx9'.repeat(12);
    const created = await api('POST', '/api/teams/create', {
      organization_id: orgId,
      team_id: teamId,
      credits_allocated: 5,
      metadata: { api_key: 'sk-provider-secret-123', note: `old key ${pasted}`, key_alias: 'ci' },
    });
    expect(created.status).toBe(201);
    const virtualKey: string = created.body.virtual_key;
    expect(virtualKey).toMatch(/^sk-/);

    const [row] = await auditOf('team', teamId);
    expect(row).toMatchObject({
      method: 'POST',
      route: '/api/teams/create',
      path: '/api/teams/create',
      target_type: 'team',
      target_id: teamId,
      status_code: 201,
    });
    expect(row.request_id).toEqual(expect.any(String));
    expect(row.summary.body).toMatchObject({
      organization_id: orgId,
      team_id: teamId,
      credits_allocated: 5,
      metadata: { api_key: '[redacted]', note: 'old key [redacted]', key_alias: 'ci' },
    });
    expect(row.summary.result).toMatchObject({ team_id: teamId, key_id: created.body.key_id });

    // no row anywhere in the table holds the virtual key, the master key or the pasted secrets
    for (const secret of [virtualKey, MASTER_KEY, 'sk-provider-secret-123', pasted]) {
      const hits: Array<{ n: number }> = await db.query(
        `SELECT count(*)::int AS n FROM audit_log WHERE strpos(to_jsonb(audit_log)::text, $1) > 0`,
        [secret],
      );
      expect(hits[0].n).toBe(0);
    }
  });

  it('records actions on a route id (credits add, budget mode) and not reads', async () => {
    const teamId = uid('team');
    await api('POST', '/api/teams/create', { organization_id: orgId, team_id: teamId });
    const added = await api(
      'POST',
      `/api/credits/teams/${teamId}/add`,
      { credits: 9, reason: 'promo' },
      { 'Idempotency-Key': 'idem-' + teamId },
    );
    expect(added.status).toBe(200);
    await api('PATCH', `/api/credits/teams/${teamId}/budget-mode`, {
      budget_mode: 'consumption_usd',
    });
    await api('GET', `/api/credits/teams/${teamId}/balance`);

    const rows = await auditOf('team', teamId, 3);
    expect(rows.map((r) => `${r.method} ${r.route} ${r.status_code}`)).toEqual([
      'PATCH /api/credits/teams/:team_id/budget-mode 200',
      'POST /api/credits/teams/:team_id/add 200',
      'POST /api/teams/create 201',
    ]);
    expect(rows[1].path).toBe(`/api/credits/teams/${teamId}/add`);
    expect(rows[1].summary.body).toEqual({ credits: 9, reason: 'promo' });
    expect(rows[1].summary.result).toMatchObject({
      transaction_id: added.body.transaction.transaction_id,
    });
    expect(JSON.stringify(rows)).not.toContain('idem-' + teamId);
  });

  it('records failed mutations (400, 404, 422) with the error code', async () => {
    const teamId = uid('team');
    await api('POST', '/api/teams/create', { organization_id: orgId, team_id: teamId });
    expect((await api('POST', `/api/credits/teams/${teamId}/add`, { credits: '5' })).status).toBe(
      400,
    );
    const missing = uid('none');
    expect((await api('POST', `/api/credits/teams/${missing}/add`, { credits: 5 })).status).toBe(
      404,
    );
    const headers = { 'Idempotency-Key': uid('k') };
    await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 1 }, headers);
    expect(
      (await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 2 }, headers)).status,
    ).toBe(422);

    const rows = await auditOf('team', teamId, 4);
    expect(rows.map((r) => r.status_code)).toEqual([422, 200, 400, 201]);
    expect(rows[0].summary.error).toMatchObject({ code: 'IDEMPOTENCY_MISMATCH' });
    expect(rows[2].summary.error).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(rows[2].summary.body).toEqual({ credits: '5' });
    const [notFound] = await auditOf('team', missing);
    expect(notFound).toMatchObject({ status_code: 404, summary: { error: { code: 'NOT_FOUND' } } });
  });

  it('does not record unauthenticated requests (refused before any handler)', async () => {
    const teamId = uid('anon');
    const res = await call(admin.url, 'POST', `/api/credits/teams/${teamId}/add`, {
      body: { credits: 5 },
      headers: { 'X-Admin-Key': 'wrong' },
    });
    expect(res.status).toBe(401);
    // a later audited request proves the log is being written, then the anonymous one is absent
    await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 5 });
    const rows = await auditOf('team', teamId);
    expect(rows).toHaveLength(1);
    expect(rows[0].status_code).toBe(404);
  });

  it('the audit row is written before the response: no mutation a client saw is missing', async () => {
    // Hold the audit table: the request must wait for its audit row instead of answering first.
    const blocker = db.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    await blocker.query('LOCK TABLE audit_log IN EXCLUSIVE MODE');
    const teamId = uid('team');
    let answered = false;
    const pending = api('POST', '/api/teams/create', { organization_id: orgId, team_id: teamId });
    void pending.then(() => (answered = true));
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(answered).toBe(false);
    } finally {
      await blocker.commitTransaction();
      await blocker.release();
    }
    expect((await pending).status).toBe(201);
    const rows = await db.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE target_type = 'team' AND target_id = $1`,
      [teamId],
    );
    expect(rows[0].n).toBe(1);
  });

  it('a failing audit write rolls the change back: the client gets a 500, nothing is applied', async () => {
    const teamId = uid('team');
    await api('POST', '/api/teams/create', { organization_id: orgId, team_id: teamId });
    await auditOf('team', teamId);
    await db.query('ALTER TABLE audit_log RENAME TO audit_log_parked');
    try {
      const res = await api('POST', `/api/credits/teams/${teamId}/add`, { credits: 3 });
      expect(res.status).toBe(500);
      expect(res.body.code).toBe('INTERNAL_ERROR');
    } finally {
      await db.query('ALTER TABLE audit_log_parked RENAME TO audit_log');
    }
    const balance = await api('GET', `/api/credits/teams/${teamId}/balance`);
    expect(balance.body.credits_allocated).toBe(0);
    expect(await auditOf('team', teamId)).toHaveLength(1);
  });

  it('GET /api/audit-log: newest first, cursor pages, filters and validation', async () => {
    const teamId = uid('team');
    await api('POST', '/api/teams/create', { organization_id: orgId, team_id: teamId });
    for (let i = 1; i <= 4; i += 1) {
      await api('POST', `/api/credits/teams/${teamId}/add`, { credits: i });
    }
    await auditOf('team', teamId, 5);
    const seen: AuditEntry[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page = await api(
        'GET',
        `/api/audit-log?target_type=team&target_id=${teamId}&limit=2${q}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor && seen.length < 20);
    expect(seen.map((r) => r.summary.body?.credits ?? 'create')).toEqual([4, 3, 2, 1, 'create']);
    expect(new Set(seen.map((r) => r.audit_id)).size).toBe(5);

    const all = await api('GET', '/api/audit-log?limit=5');
    expect(all.status).toBe(200);
    expect(all.body.data).toHaveLength(5);
    const times = all.body.data.map((r: AuditEntry) => Date.parse(r.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    for (const q of ['limit=0', 'cursor=bad', 'target_type=Team!', 'other=1']) {
      expect((await api('GET', `/api/audit-log?${q}`)).status).toBe(400);
    }
    expect((await call(admin.url, 'GET', '/api/audit-log')).status).toBe(401);
  });
});
