import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { hello, World } from '../apps/team-gateway/test/gateway-fixtures';
import { verifySignature } from '../apps/admin-api/src/webhooks/webhook-signature';
import { RunningApp, startGateway, uid } from './helpers/apps';
import { call, eventually } from './helpers/http';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; created_at: string; data: Record<string, any> };
  status: number;
}

/** A webhook receiver on loopback: answers each path with the next scripted status (then 200). */
class Receiver {
  readonly received: Received[] = [];
  private readonly scripts = new Map<string, number[]>();
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Receiver> {
    const ref: { self?: Receiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const status = ref.self!.scripts.get(path)?.shift() ?? 200;
        const body = Buffer.concat(chunks).toString('utf8');
        ref.self!.received.push({
          path,
          headers: req.headers,
          body,
          json: JSON.parse(body),
          status,
        });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    ref.self = new Receiver(server, `http://127.0.0.1:${port}`);
    return ref.self;
  }

  script(path: string, statuses: number[]) {
    this.scripts.set(path, [...statuses]);
  }

  /** Resolves whether `path` has received `count` requests (for `eventually`). */
  arrived(path: string, count: number): Promise<boolean> {
    return Promise.resolve(this.at(path).length === count);
  }

  at(path: string, type?: string) {
    return this.received.filter((r) => r.path === path && (!type || r.json.type === type));
  }

  close() {
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * SPEC §10 Alerts: webhooks registered on admin-api, events written in the transaction of the
 * change they report, deliveries signed, retried with backoff and logged; team.balance_low
 * exactly once per crossing while two gateway replicas spend the team's credits concurrently.
 */
describe('webhooks', () => {
  const FAST = {
    WEBHOOK_POLL_INTERVAL_MS: '50',
    WEBHOOK_RETRY_BASE_MS: '50',
    WEBHOOK_MAX_ATTEMPTS: '3',
  };
  // every team is metered from leases: spend reaches Postgres through the journal's batches
  const LEASED = { LEASE_MIN_CALLS_PER_SECOND: '0', LEASE_IDLE_MS: '300' };
  let w: World;
  let second: RunningApp;
  let receiver: Receiver;
  let group: string;

  beforeAll(async () => {
    w = await World.start(LEASED, FAST);
    second = await startGateway(LEASED);
    receiver = await Receiver.start();
    ({ group } = await w.modelInGroup());
  }, 60_000);

  afterAll(async () => {
    await w.pg.query('DELETE FROM webhooks WHERE organization_id = $1', [w.org]);
    await second.close();
    await receiver.close();
    await w.stop();
  });

  const admin = (method: string, path: string, body?: unknown) =>
    call(w.admin.url, method, path, { admin: true, body });

  async function register(path: string, events: string[], scope: Record<string, string> = {}) {
    const res = await admin('POST', '/api/webhooks', {
      url: receiver.url + path,
      events,
      organization_id: w.org,
      ...scope,
    });
    expect(res.status).toBe(201);
    return res.body as { webhook_id: string; secret: string };
  }

  const deliveries = async (webhookId: string) => {
    const res = await admin('GET', `/api/webhooks/${webhookId}/deliveries`);
    expect(res.status).toBe(200);
    return res.body.data as Array<Record<string, any>>;
  };

  const eventsOf = async (teamId: string, type: string) =>
    (
      await w.pg.query<{ data: Record<string, any> }>(
        'SELECT data FROM webhook_events WHERE team_id = $1 AND event_type = $2 ORDER BY created_at',
        [teamId, type],
      )
    ).rows.map((r) => r.data);

  it('returns the secret once, stores it encrypted, audits every change', async () => {
    const team = await w.team({ groups: [group] });
    const created = await admin('POST', '/api/webhooks', {
      url: `${receiver.url}/reg`,
      events: ['credits.added', 'team.suspended'],
      organization_id: w.org,
      team_id: team.teamId,
      description: 'ops',
    });
    expect(created.status).toBe(201);
    const { webhook_id: id, secret } = created.body as { webhook_id: string; secret: string };
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ enabled: true, team_id: team.teamId, description: 'ops' });

    const got = await admin('GET', `/api/webhooks/${id}`);
    expect(got.status).toBe(200);
    expect(JSON.stringify(got.body)).not.toContain(secret);
    expect(got.body).not.toHaveProperty('secret');
    const listed = await admin('GET', '/api/webhooks?limit=200');
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect((listed.body.data as Array<{ webhook_id: string }>).map((h) => h.webhook_id)).toContain(
      id,
    );
    const stored = await w.pg.query('SELECT * FROM webhooks WHERE webhook_id = $1', [id]);
    expect(JSON.stringify(stored.rows)).not.toContain(secret.slice(6));

    const patched = await admin('PATCH', `/api/webhooks/${id}`, {
      events: ['team.balance_low'],
      enabled: false,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ events: ['team.balance_low'], enabled: false });

    const rotated = await admin('POST', `/api/webhooks/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);
    expect(JSON.stringify((await admin('GET', `/api/webhooks/${id}`)).body)).not.toContain(
      rotated.body.secret,
    );

    expect((await admin('DELETE', `/api/webhooks/${id}`)).status).toBe(200);
    expect((await admin('GET', `/api/webhooks/${id}`)).status).toBe(404);

    const audit = await w.pg.query<{ route: string; summary: unknown }>(
      `SELECT route, summary FROM audit_log WHERE target_type = 'webhook' AND target_id = $1 ORDER BY created_at`,
      [id],
    );
    expect(audit.rows.map((r) => r.route)).toEqual([
      '/api/webhooks',
      '/api/webhooks/:webhook_id',
      '/api/webhooks/:webhook_id/rotate-secret',
      '/api/webhooks/:webhook_id',
    ]);
    expect(JSON.stringify(audit.rows)).not.toContain(secret);
    expect(JSON.stringify(audit.rows)).not.toContain(rotated.body.secret);
  });

  it('answers bad input with a 4xx naming the problem', async () => {
    const team = await w.team({ groups: [group] });
    const otherOrg = uid('org');
    expect(
      (await admin('POST', '/api/organizations/create', { organization_id: otherOrg, name: 'o' }))
        .status,
    ).toBe(201);
    const base = { url: `${receiver.url}/x`, events: ['credits.added'] };
    const cases: Array<[unknown, number, string]> = [
      [{ ...base, url: 'ftp://example.com/x' }, 400, 'url'],
      [{ ...base, url: 'example.com/x' }, 400, 'url'],
      [{ ...base, url: 'http://169.254.169.254/latest' }, 400, 'link-local'],
      [{ ...base, url: 'http://user:pw@example.com/x' }, 400, 'credentials'],
      [{ ...base, events: [] }, 400, 'events'],
      [{ ...base, events: ['team.exploded'] }, 400, 'events'],
      [{ ...base, events: ['credits.added', 'credits.added'] }, 400, 'events'],
      [{ url: base.url }, 400, 'events'],
      [{ ...base, secret: 'mine' }, 400, 'secret'],
      [{ ...base, team_id: uid('nope') }, 404, 'Team'],
      [{ ...base, organization_id: uid('nope') }, 404, 'Organization'],
      [{ ...base, organization_id: otherOrg, team_id: team.teamId }, 400, 'not in organization'],
      [{ ...base, enabled: null }, 400, 'enabled'],
    ];
    for (const [body, status, mention] of cases) {
      const res = await admin('POST', '/api/webhooks', body);
      expect({ body, status: res.status }).toEqual({ body, status });
      expect(JSON.stringify(res.body)).toContain(mention);
    }
    const hook = await register('/x', ['credits.added']);
    expect((await admin('PATCH', `/api/webhooks/${hook.webhook_id}`, { url: null })).status).toBe(
      400,
    );
    expect(
      (await admin('PATCH', `/api/webhooks/${hook.webhook_id}`, { events: null })).status,
    ).toBe(400);
    expect((await admin('GET', '/api/webhooks/not-a-uuid')).status).toBe(400);
    expect(
      (await admin('GET', `/api/webhooks/${hook.webhook_id}/deliveries?status=lost`)).status,
    ).toBe(400);
    expect(
      (await admin('GET', `/api/webhooks/${hook.webhook_id}/deliveries?cursor=zzz`)).status,
    ).toBe(400);
    expect((await admin('GET', '/api/webhooks/00000000-0000-4000-8000-000000000000')).status).toBe(
      404,
    );
    expect((await call(w.admin.url, 'GET', '/api/webhooks')).status).toBe(401);
    expect(
      (await admin('PATCH', `/api/teams/${team.teamId}`, { balance_low_threshold: -1 })).status,
    ).toBe(400);
    expect(
      (await admin('PATCH', `/api/teams/${team.teamId}`, { balance_low_threshold: 1.5 })).status,
    ).toBe(400);
    await admin('DELETE', `/api/webhooks/${hook.webhook_id}`);
  });

  it('signs each delivery with the secret; only webhooks in scope get it', async () => {
    const team = await w.team({ groups: [group], credits: 10 });
    const other = await w.team({ groups: [group], credits: 10 });
    const hook = await register('/signed', ['credits.added'], { team_id: team.teamId });
    const elsewhere = await register('/elsewhere', ['credits.added'], { team_id: other.teamId });
    const added = await admin('POST', `/api/credits/teams/${team.teamId}/add`, {
      credits: 7,
      reason: 'top-up',
    });
    expect(added.status).toBe(200);

    await eventually(() => receiver.arrived('/signed', 1), 10_000);
    const [got] = receiver.at('/signed');
    const signature = String(got.headers['tollgate-signature']);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(hook.secret, signature, got.body)).toBe(true);
    expect(verifySignature(elsewhere.secret, signature, got.body)).toBe(false);
    expect(verifySignature(hook.secret, signature, got.body.replace('7', '8'))).toBe(false);
    expect(got.headers['tollgate-event-id']).toBe(got.json.id);
    expect(got.headers['tollgate-event-type']).toBe('credits.added');
    expect(got.json).toMatchObject({
      type: 'credits.added',
      data: {
        team_id: team.teamId,
        organization_id: w.org,
        credits: 7,
        balance: 17,
        reason: 'top-up',
        transaction_id: added.body.transaction.transaction_id,
      },
    });
    // the receiver answered before the worker wrote the outcome
    await eventually(async () => (await deliveries(hook.webhook_id))[0]?.status === 'delivered');
    const [log] = await deliveries(hook.webhook_id);
    expect(log).toMatchObject({ status: 'delivered', attempts: 1, last_status_code: 200 });
    expect(receiver.at('/elsewhere')).toHaveLength(0);
    expect(await deliveries(elsewhere.webhook_id)).toHaveLength(0);
  });

  it('retries a receiver that fails (500, 500, 200: 3 attempts) and logs them; gives up after the maximum', async () => {
    const team = await w.team({ groups: [group] });
    const flaky = await register('/flaky', ['team.suspended'], { team_id: team.teamId });
    const down = await register('/down', ['team.suspended'], { team_id: team.teamId });
    receiver.script('/flaky', [500, 500, 200]);
    receiver.script('/down', [503, 503, 503, 503]);
    expect((await admin('PUT', `/api/teams/${team.teamId}/suspend`)).status).toBe(200);

    await eventually(async () => {
      const [flakyLog] = await deliveries(flaky.webhook_id);
      const [downLog] = await deliveries(down.webhook_id);
      return flakyLog?.status === 'delivered' && downLog?.status === 'failed';
    }, 15_000);
    const attempts = receiver.at('/flaky');
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(new Set(attempts.map((a) => a.json.id)).size).toBe(1);
    expect(attempts.map((a) => a.headers['tollgate-delivery-attempt'])).toEqual(['1', '2', '3']);
    for (const a of attempts) {
      expect(verifySignature(flaky.secret, String(a.headers['tollgate-signature']), a.body)).toBe(
        true,
      );
    }
    expect(attempts[0].json).toMatchObject({
      type: 'team.suspended',
      data: { team_id: team.teamId, previous_status: 'active' },
    });
    const [flakyLog] = await deliveries(flaky.webhook_id);
    expect(flakyLog).toMatchObject({
      status: 'delivered',
      attempts: 3,
      last_status_code: 200,
      last_error: null,
      next_attempt_at: null,
      event_type: 'team.suspended',
    });
    const [downLog] = await deliveries(down.webhook_id);
    expect(downLog).toMatchObject({
      status: 'failed',
      attempts: 3,
      last_status_code: 503,
      last_error: 'HTTP 503',
      delivered_at: null,
    });
    expect(receiver.at('/down')).toHaveLength(3);
    // suspending again while suspended is no new event
    await admin('PUT', `/api/teams/${team.teamId}/suspend`);
    expect(await eventsOf(team.teamId, 'team.suspended')).toHaveLength(1);
  });

  it('pages the delivery log with a cursor', async () => {
    const team = await w.team({ groups: [group] });
    const hook = await register('/paged', ['credits.added'], { team_id: team.teamId });
    for (let i = 0; i < 3; i++) {
      await admin('POST', `/api/credits/teams/${team.teamId}/add`, { credits: 1 });
    }
    await eventually(async () => {
      const done = await admin(
        'GET',
        `/api/webhooks/${hook.webhook_id}/deliveries?status=delivered`,
      );
      return done.body.data.length === 3;
    }, 10_000);
    const first = await admin('GET', `/api/webhooks/${hook.webhook_id}/deliveries?limit=2`);
    expect(first.body.data).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const rest = await admin(
      'GET',
      `/api/webhooks/${hook.webhook_id}/deliveries?limit=2&cursor=${first.body.next_cursor}`,
    );
    expect(rest.body.data).toHaveLength(1);
    expect(rest.body.next_cursor).toBeNull();
    const ids = [...first.body.data, ...rest.body.data].map(
      (d: { event_id: string }) => d.event_id,
    );
    expect(new Set(ids).size).toBe(3);
    const delivered = await admin(
      'GET',
      `/api/webhooks/${hook.webhook_id}/deliveries?status=delivered`,
    );
    expect(delivered.body.data).toHaveLength(3);
  });

  it('fires team.balance_low exactly once per crossing with two replicas spending concurrently, and again after credits re-arm it', async () => {
    const team = await w.team({ groups: [group], credits: 50 });
    const hook = await register('/low', ['team.balance_low'], { team_id: team.teamId });
    const set = await admin('PATCH', `/api/teams/${team.teamId}`, { balance_low_threshold: 20 });
    expect(set.status).toBe(200);
    expect(set.body.balance_low_threshold).toBe(20);
    const replicas = [w.gateway, second];

    /** `n` one-credit calls, spread over both replicas, 8 at a time. */
    const spend = async (n: number) => {
      let next = 0;
      const worker = async (i: number) => {
        while (next < n) {
          next++;
          const res = await call(replicas[i % 2].url, 'POST', '/v1/chat/completions', {
            bearer: team.key,
            body: { model: group, messages: hello, max_tokens: 5 },
          });
          expect(res.status).toBe(200);
        }
      };
      await Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)));
    };

    await spend(40);
    const afterFirst = await w.settled(team.teamId);
    expect(afterFirst.allocated - afterFirst.used).toBe(10);
    await eventually(() => receiver.arrived('/low', 1), 10_000);
    expect(await eventsOf(team.teamId, 'team.balance_low')).toHaveLength(1);
    const [first] = receiver.at('/low');
    expect(first.json.data).toMatchObject({ team_id: team.teamId, threshold: 20 });
    expect(first.json.data.balance).toBeLessThan(20);
    expect(first.json.data.balance).toBeGreaterThanOrEqual(10);

    // credits bring it back over the threshold (re-armed), then spend crosses again
    expect(
      (await admin('POST', `/api/credits/teams/${team.teamId}/add`, { credits: 50 })).status,
    ).toBe(200);
    await spend(45);
    const afterSecond = await w.settled(team.teamId);
    expect(afterSecond.allocated - afterSecond.used).toBe(15);
    await eventually(async () => {
      const log = await deliveries(hook.webhook_id);
      return log.length === 2 && log.every((d) => d.status === 'delivered');
    }, 10_000);
    const events = await eventsOf(team.teamId, 'team.balance_low');
    expect(events).toHaveLength(2);
    expect(events[1].balance).toBeLessThan(20);
    expect(receiver.at('/low')).toHaveLength(2);
  }, 60_000);

  it('fires key.budget_exceeded once per budget window, however many calls it refuses', async () => {
    const team = await w.team({ groups: [group], credits: 100 });
    const hook = await register('/budget', ['key.budget_exceeded'], { team_id: team.teamId });
    const key = await admin('POST', `/api/teams/${team.teamId}/keys`, {
      key_alias: 'capped',
      max_budget: 2,
      budget_duration: '1h',
    });
    expect(key.status).toBe(201);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await call([w.gateway, second][i % 2].url, 'POST', '/v1/chat/completions', {
        bearer: key.body.virtual_key,
        body: { model: group, messages: hello, max_tokens: 5 },
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 403, 403, 403, 403]);
    await eventually(() => receiver.arrived('/budget', 1), 10_000);
    const [got] = receiver.at('/budget');
    expect(got.json).toMatchObject({
      type: 'key.budget_exceeded',
      data: { key_id: key.body.key_id, team_id: team.teamId, max_budget: 2, key_alias: 'capped' },
    });
    expect(await eventsOf(team.teamId, 'key.budget_exceeded')).toHaveLength(1);
    expect(await deliveries(hook.webhook_id)).toHaveLength(1);
  });
});
