import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  ensureGatewayBuilt,
  freePort,
  GatewayProcess,
  spawnService,
} from '../apps/team-gateway/test/gateway-process';
import { hello, World } from '../apps/team-gateway/test/gateway-fixtures';
import { postSse, readAll } from '../apps/team-gateway/test/sse-client';
import { ENCRYPTION_KEY, MASTER_KEY, uid } from './helpers/apps';
import { builtMain } from './helpers/build';
import { call, eventually } from './helpers/http';
import { OtlpReceiver, ReceivedSpan, startOtlpReceiver } from './helpers/otlp-receiver';

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
/** A team charged per token, so every call has a cost in credits. */
const metered = (group: string) => ({
  groups: [group],
  credits: 10_000,
  budget_mode: 'consumption_tokens' as const,
  tokens_per_credit: 1,
});

/**
 * OpenTelemetry traces (SPEC §10): both built services, started with OTEL_EXPORTER_OTLP_ENDPOINT,
 * export a server span per request and, in the gateway, a child span per upstream attempt with
 * the GenAI attributes, to a local OTLP/HTTP receiver; nothing secret in any of them.
 */
describe('OpenTelemetry traces (real processes, local OTLP receiver)', () => {
  let w: World;
  let otlp: OtlpReceiver;
  let gateway: GatewayProcess;
  let admin: GatewayProcess;
  const children: GatewayProcess[] = [];

  const otelEnv = (delayMs: number) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: String(delayMs),
  });

  beforeAll(async () => {
    ensureGatewayBuilt();
    builtMain('admin-api');
    otlp = await startOtlpReceiver();
    w = await World.start();
    [gateway, admin] = await Promise.all([
      spawnService('team-gateway', otelEnv(50)),
      spawnService('admin-api', otelEnv(50)),
    ]);
    children.push(gateway, admin);
  }, 120_000);
  afterAll(async () => {
    for (const child of children) {
      if (child.process.exitCode === null) child.process.kill('SIGKILL');
    }
    await w.stop();
    await otlp.close();
  });
  beforeEach(() => w.fake.reset());

  const attemptsOf = (model: string) =>
    otlp.spans
      .filter((s) => s.attributes['tollgate.model'] === model)
      .sort(
        (a, b) =>
          Number(a.attributes['tollgate.attempt']) - Number(b.attributes['tollgate.attempt']),
      );
  const spanById = (id: string) => otlp.spans.find((s) => s.spanId === id);

  /** The attempt spans of `model` once `n` have arrived, and the server span they belong to. */
  const traced = async (model: string, n: number) => {
    await eventually(async () => {
      const attempts = attemptsOf(model);
      return Promise.resolve(
        attempts.length >= n && attempts.every((a) => spanById(a.parentSpanId) !== undefined),
      );
    }, 10_000);
    const attempts = attemptsOf(model);
    return { attempts, server: spanById(attempts[0].parentSpanId)! };
  };

  const llmCall = async (callId: unknown) =>
    (
      await w.pg.query(
        `SELECT prompt_tokens, completion_tokens, credits_charged::int AS credits_charged
           FROM llm_calls WHERE call_id = $1`,
        [callId],
      )
    ).rows[0] as
      { prompt_tokens: number; completion_tokens: number; credits_charged: number } | undefined;

  const expectGenAi = (
    attempt: ReceivedSpan,
    server: ReceivedSpan,
    model: string,
    teamId: string,
  ) => {
    expect(attempt.kind).toBe(CLIENT);
    expect(attempt.service).toBe('tollgate-team-gateway');
    expect(attempt.traceId).toBe(server.traceId);
    expect(attempt.parentSpanId).toBe(server.spanId);
    expect(attempt.name).toBe(`chat ${model}`);
    expect(attempt.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai-compatible',
      'gen_ai.system': 'openai-compatible',
      'gen_ai.request.model': model,
      'tollgate.team_id': teamId,
      'tollgate.model': model,
    });
  };

  it('a chat call: a server span with its route and status, and a child attempt span with model, tokens and cost', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team(metered(group));
    const res = await call(gateway.url, 'POST', '/v1/chat/completions', {
      bearer: key,
      body: { model, messages: hello, max_tokens: 64, temperature: 0.5 },
    });
    expect(res.status).toBe(200);

    const { attempts, server } = await traced(model, 1);
    expect(attempts).toHaveLength(1);
    const [attempt] = attempts;
    expect(server).toMatchObject({
      kind: SERVER,
      service: 'tollgate-team-gateway',
      name: 'POST /v1/chat/completions',
    });
    expect(server.parentSpanId).toBe('');
    expect(server.attributes).toMatchObject({
      'http.route': '/v1/chat/completions',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
    });
    expectGenAi(attempt, server, model, teamId);
    expect(attempt.status.code).not.toBe(ERROR);
    expect(attempt.attributes).toMatchObject({
      'gen_ai.response.model': res.body.model,
      'gen_ai.request.max_tokens': 64,
      'gen_ai.request.temperature': 0.5,
      'gen_ai.usage.input_tokens': res.body.usage.prompt_tokens,
      'gen_ai.usage.output_tokens': res.body.usage.completion_tokens,
      'gen_ai.response.finish_reasons': ['stop'],
      'tollgate.attempt': 1,
      'tollgate.streamed': false,
      'tollgate.status': 'success',
      'server.address': '127.0.0.1',
    });
    expect(res.body.usage.completion_tokens).toBeGreaterThan(0);
    // the span's cost is the call's charge, as the ledger recorded it
    await eventually(
      async () => (await llmCall(attempt.attributes['tollgate.call_id'])) !== undefined,
    );
    const row = (await llmCall(attempt.attributes['tollgate.call_id']))!;
    expect(row.credits_charged).toBeGreaterThan(0);
    expect(attempt.attributes['tollgate.cost_credits']).toBe(row.credits_charged);
    expect(attempt.attributes['gen_ai.usage.output_tokens']).toBe(row.completion_tokens);
    // the attempt lies inside its request
    expect(attempt.startNs >= server.startNs && attempt.endNs <= server.endNs).toBe(true);
  });

  it('a streamed call: the attempt span ends when the stream ends, with the usage', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team(metered(group));
    w.fake.setBehavior({ mode: 'slow', chunks: 5, chunkDelayMs: 60, delayMs: 0 });
    const res = await postSse(gateway.url, '/v1/chat/completions', key, {
      model,
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    const events = await readAll(res.events);
    const usage = events.find((e) => e.json?.usage)?.json.usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);

    const { attempts, server } = await traced(model, 1);
    expect(attempts).toHaveLength(1);
    const [attempt] = attempts;
    expect(server.name).toBe('POST /v1/chat/completions');
    expectGenAi(attempt, server, model, teamId);
    expect(attempt.attributes).toMatchObject({
      'gen_ai.usage.input_tokens': usage.prompt_tokens,
      'gen_ai.usage.output_tokens': usage.completion_tokens,
      'tollgate.streamed': true,
      'tollgate.status': 'success',
    });
    expect(attempt.attributes['tollgate.cost_credits']).toBeGreaterThan(0);
    // not at the first chunk: after the upstream's last chunk was sent
    const lastChunkMs = w.fake.requests[0].chunkTimes.at(-1)!;
    expect(attempt.endNs).toBeGreaterThanOrEqual(BigInt(lastChunkMs) * 1_000_000n);
    expect(attempt.endNs <= server.endNs).toBe(true);
  });

  it('a fallback: two attempt spans under one request, the failed one marked as an error', async () => {
    const bad = uid('model');
    const good = uid('model');
    const group = uid('group');
    await w.model(bad);
    await w.model(good);
    await w.group(group, [bad, good]);
    const { key, teamId } = await w.team(metered(group));
    w.fake.setBehavior({ mode: 'ok', perModel: { [bad]: { mode: 'status', status: 500 } } });
    const res = await call(gateway.url, 'POST', '/v1/chat/completions', {
      bearer: key,
      body: { model: group, messages: hello },
    });
    expect(res.status).toBe(200);

    await eventually(() => {
      const spans = otlp.spans.filter((s) => s.attributes['tollgate.model'] === group);
      return Promise.resolve(spans.length === 2 && spanById(spans[0].parentSpanId) !== undefined);
    }, 10_000);
    const [failed, answered] = attemptsOf(group);
    expect(failed.parentSpanId).toBe(answered.parentSpanId);
    expect(spanById(failed.parentSpanId)?.name).toBe('POST /v1/chat/completions');
    expect(failed.status.code).toBe(ERROR);
    expect(failed.attributes).toMatchObject({
      'tollgate.attempt': 1,
      'tollgate.team_id': teamId,
      'gen_ai.request.model': bad,
      'error.type': 'server_error',
      'http.response.status_code': 500,
      'tollgate.status': 'error',
    });
    expect(failed.attributes['gen_ai.usage.output_tokens']).toBeUndefined();
    expect(answered.status.code).not.toBe(ERROR);
    expect(answered.attributes).toMatchObject({
      'tollgate.attempt': 2,
      'gen_ai.request.model': good,
      'gen_ai.usage.output_tokens': res.body.usage.completion_tokens,
      'tollgate.status': 'success',
    });
  });

  it('admin-api requests get server spans named by their route', async () => {
    const { teamId } = await w.team({ groups: [] });
    const res = await call(admin.url, 'GET', `/api/teams/${teamId}`, { admin: true });
    expect(res.status).toBe(200);
    await eventually(() =>
      Promise.resolve(otlp.spans.some((s) => s.attributes['url.path'] === `/api/teams/${teamId}`)),
    );
    const span = otlp.spans.find((s) => s.attributes['url.path'] === `/api/teams/${teamId}`)!;
    expect(span).toMatchObject({
      service: 'tollgate-admin-api',
      kind: SERVER,
      name: 'GET /api/teams/:team_id',
    });
    expect(span.attributes).toMatchObject({
      'http.route': '/api/teams/:team_id',
      'http.response.status_code': 200,
    });
    // probes are not traced
    await fetch(`${admin.url}/health`);
    expect(otlp.spans.some((s) => String(s.attributes['url.path']).startsWith('/health'))).toBe(
      false,
    );
  });

  it('no key, provider credential or Authorization value in any span', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group], credits: 50 });
    // a key sent where it does not belong (the query string) is redacted too
    const res = await call(gateway.url, 'POST', `/v1/chat/completions?key=${key}`, {
      bearer: key,
      body: { model, messages: hello },
    });
    expect(res.status).toBe(200);
    await traced(model, 1);
    const everything = otlp.bodies.join('\n');
    expect(everything).toContain(model);
    for (const secret of [key, w.providerKey, MASTER_KEY, ENCRYPTION_KEY, 'Bearer', 'Say hello']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('exports the spans still buffered when the gateway is stopped with SIGTERM', async () => {
    // a schedule delay longer than the test: only the shutdown flush can export these spans
    const child = await spawnService('team-gateway', otelEnv(600_000));
    children.push(child);
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group], credits: 50 });
    const res = await call(child.url, 'POST', '/v1/chat/completions', {
      bearer: key,
      body: { model, messages: hello },
    });
    expect(res.status).toBe(200);
    expect(attemptsOf(model)).toHaveLength(0);
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    const { attempts, server } = await traced(model, 1);
    expect(attempts).toHaveLength(1);
    expect(server.name).toBe('POST /v1/chat/completions');
  });

  it('with no OTLP endpoint no OpenTelemetry SDK or instrumentation is loaded', async () => {
    const probe = `
      require(${JSON.stringify(join(__dirname, '../dist/apps/team-gateway/main.js'))});
      const check = async () => {
        try {
          if ((await fetch('http://127.0.0.1:' + process.env.PORT + '/health')).ok) {
            // prom-client loads @opentelemetry/api itself (for exemplars); the SDK is what costs
            const loaded = Object.keys(require.cache).filter(
              (p) => p.includes('@opentelemetry') && !p.includes('@opentelemetry/api/'),
            );
            console.log('OTEL_SDK_MODULES=' + loaded.length);
            process.exit(0);
          }
        } catch {}
        setTimeout(check, 100);
      };
      check();`;
    const port = String(await freePort());
    const child = spawn(process.execPath, ['-e', probe], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: port,
        DATABASE_URL: process.env.DATABASE_URL,
        REDIS_URL: process.env.REDIS_URL,
        MASTER_KEY,
        ENCRYPTION_KEY,
        LOG_LEVEL: 'silent',
        TOLLGATE_DATA_DIR: '.test-services/data',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'OTEL_SDK_MODULES=0' });
  });
});
