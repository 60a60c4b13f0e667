import { startGateway } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { hello, World } from './gateway-fixtures';

describe('rate limits', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start();
  });
  afterAll(() => w.stop());

  it('enforces a team rpm_limit with 429 and Retry-After, before any upstream request', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group], credits: 50, rpm_limit: 3 });
    const results = [];
    for (let i = 0; i < 4; i++) {
      results.push(
        await w.gw('POST', '/api/jobs/create-and-call', key, {
          job_type: 'x',
          model,
          messages: hello,
        }),
      );
    }
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    const limited = results[3];
    expect(limited.body.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('enforces tpm_limit with the estimated tokens up front', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group], credits: 50, tpm_limit: 1000 });
    const big = [{ role: 'user', content: 'x'.repeat(3000) }];
    const body = { job_type: 'x', model, messages: big };
    const results = await Promise.all(
      [1, 2, 3].map(() => w.gw('POST', '/api/jobs/create-and-call', key, body)),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect(statuses[2]).toBe(429);
    const limited = results.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('gives back the tokens of a request refused for credits, so refusals do not use up tpm', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId, key } = await w.team({ groups: [group], credits: 0, tpm_limit: 1000 });
    const body = { job_type: 'x', model, messages: [{ role: 'user', content: 'x'.repeat(1600) }] };
    // each estimate (~400 tokens) fits the bucket only if the refused ones gave theirs back
    for (let i = 0; i < 4; i++) {
      const refused = await w.gw('POST', '/api/jobs/create-and-call', key, body);
      expect(refused.status).toBe(403);
    }
    await call(w.admin.url, 'POST', `/api/credits/teams/${teamId}/add`, {
      admin: true,
      body: { credits: 10 },
    });
    await eventually(async () => {
      const res = await w.gw('GET', '/api/credits/balance', key);
      return res.body.credits_remaining === 10;
    });
    expect((await w.gw('POST', '/api/jobs/create-and-call', key, body)).status).toBe(200);
  });

  it('shares the limit across gateway replicas (Redis)', async () => {
    const { model, group } = await w.modelInGroup();
    const { teamId } = await w.team({ groups: [group], credits: 50 });
    const created = await call(w.admin.url, 'POST', `/api/teams/${teamId}/keys`, {
      admin: true,
      body: { rpm_limit: 2 },
    });
    const key = created.body.virtual_key as string;
    const second = await startGateway();
    try {
      const body = { job_type: 'x', model, messages: hello };
      const a = await call(w.gateway.url, 'POST', '/api/jobs/create-and-call', {
        bearer: key,
        body,
      });
      const b = await call(second.url, 'POST', '/api/jobs/create-and-call', { bearer: key, body });
      const c = await call(second.url, 'POST', '/api/jobs/create-and-call', { bearer: key, body });
      expect([a.status, b.status, c.status]).toEqual([200, 200, 429]);
    } finally {
      await second.close();
    }
  });

  it('a replica keeps authenticating through its own services after another one in the process closed', async () => {
    const { model, group } = await w.modelInGroup();
    const second = await startGateway();
    const { key: before } = await w.team({ groups: [group], credits: 5 });
    expect((await call(second.url, 'GET', '/api/credits/balance', { bearer: before })).status).toBe(
      200,
    );
    await second.close();
    // a key neither replica has cached: the first one must look it up in its own database
    const { key } = await w.team({ groups: [group], credits: 5 });
    const res = await w.gw('POST', '/api/jobs/create-and-call', key, {
      job_type: 'x',
      model,
      messages: hello,
    });
    expect(res.status).toBe(200);
  });
});
