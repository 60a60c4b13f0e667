import { randomBytes } from 'node:crypto';
import { uid } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { hello, World } from './gateway-fixtures';
import { ensureGatewayBuilt, GatewayProcess, spawnGateway } from './gateway-process';

interface RequestLine {
  msg: string;
  service: string;
  req: Record<string, unknown>;
  res: { statusCode: number; headers: Record<string, unknown> };
  responseTime: number;
}

/**
 * The built gateway (Fastify, no Nest middleware: the request log is an `onRequest` hook) writes
 * one `request completed` line per request, with its id, method, URL, status and time, and never
 * a credential the client sent.
 */
describe('request log of the gateway (built process)', () => {
  let w: World;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    ensureGatewayBuilt();
    w = await World.start();
    gateway = await spawnGateway();
  }, 120_000);
  afterAll(async () => {
    if (gateway.process.exitCode === null) gateway.process.kill('SIGKILL');
    await w.stop();
  });

  const requestLines = (): RequestLine[] =>
    gateway
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as RequestLine)
      .filter((line) => line.msg === 'request completed');
  const lineOf = async (id: string) => {
    await eventually(() => Promise.resolve(requestLines().some((l) => l.req.id === id)), 10_000);
    return requestLines().filter((l) => l.req.id === id);
  };

  it('one line per call: the id the client gave, method, URL, status and time; no key', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group] });
    const id = uid('req');
    const res = await call(gateway.url, 'POST', '/v1/chat/completions?trace=1', {
      bearer: key,
      body: { model, messages: hello },
      headers: { 'X-Request-Id': id, 'X-Api-Key': key, Cookie: `session=${key}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(id);
    const lines = await lineOf(id);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line.service).toBe('team-gateway');
    expect(line.req).toEqual({ id, method: 'POST', url: '/v1/chat/completions?trace=1' });
    expect(line.res.statusCode).toBe(200);
    expect(line.res.headers['x-request-id']).toBe(id);
    expect(typeof line.responseTime).toBe('number');
    expect(gateway.output()).not.toContain(key);
  });

  it('a refused request is logged with the id the gateway made, never the key it was sent', async () => {
    const secret = `sk-tg-${randomBytes(16).toString('hex')}`;
    const res = await call(gateway.url, 'GET', '/v1/models', { bearer: secret });
    expect(res.status).toBe(401);
    const id = res.headers.get('x-request-id') ?? '';
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const [line] = await lineOf(id);
    expect(line.req).toEqual({ id, method: 'GET', url: '/v1/models' });
    expect(line.res.statusCode).toBe(401);
    expect(gateway.output()).not.toContain(secret);
  });

  it('unmatched paths are logged; health probes are not', async () => {
    const id = uid('req');
    const probe = uid('probe');
    expect(
      (await call(gateway.url, 'GET', `/no-such-path`, { headers: { 'X-Request-Id': id } })).status,
    ).toBe(404);
    expect(
      (await call(gateway.url, 'GET', '/health', { headers: { 'X-Request-Id': probe } })).status,
    ).toBe(200);
    const [line] = await lineOf(id);
    expect(line.res.statusCode).toBe(404);
    expect(requestLines().some((l) => l.req.id === probe)).toBe(false);
  });

  it('LOG_LEVEL=warn: no request lines (none is prepared), the id still in every answer', async () => {
    const quiet = await spawnGateway({ LOG_LEVEL: 'warn' });
    try {
      const { model, group } = await w.modelInGroup();
      const { key } = await w.team({ groups: [group] });
      const id = uid('req');
      const res = await call(quiet.url, 'POST', '/v1/chat/completions', {
        bearer: key,
        body: { model, messages: hello },
        headers: { 'X-Request-Id': id },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-request-id')).toBe(id);
      const refused = await call(quiet.url, 'GET', '/v1/models', { bearer: 'sk-tg-nope' });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(quiet.output()).not.toContain('request completed');
      expect(quiet.output()).not.toContain(id);
    } finally {
      quiet.process.kill('SIGKILL');
    }
  });
});
