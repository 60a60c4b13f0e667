import { CredentialCipher } from '../../../libs/auth/src';
import { ENCRYPTION_KEY, uid } from '../../../test/helpers/apps';
import { eventually } from '../../../test/helpers/http';
import { hello, World } from './gateway-fixtures';
import { deltas, postSse, readAll, SseEvent } from './sse-client';

const TEXT = 'The quick brown fox jumps over the lazy dog, twice over.';

interface CallRow {
  call_id: string;
  attempt: number;
  status: string;
  streamed: boolean;
  finish_reason: string | null;
  error_class: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  credits_charged: number;
  provider_model: string;
  latency_ms: number;
}

describe('SSE streaming on /api/jobs', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start({ UPSTREAM_TIMEOUT_MS: '1000', UPSTREAM_STREAM_IDLE_TIMEOUT_MS: '300' });
  });
  afterAll(() => w.stop());
  beforeEach(() => w.fake.reset());

  const calls = async (jobId: string) =>
    (
      await w.pg.query(
        `SELECT call_id, attempt, status, streamed, finish_reason, error_class, prompt_tokens,
                completion_tokens, total_tokens, credits_charged::int AS credits_charged,
                provider_model, latency_ms
           FROM llm_calls WHERE job_id = $1 ORDER BY attempt`,
        [jobId],
      )
    ).rows as CallRow[];

  const newJob = async (key: string): Promise<string> => {
    const res = await w.gw('POST', '/api/jobs/create', key, { job_type: 'stream' });
    expect(res.status).toBe(201);
    return res.body.job_id as string;
  };

  const streamIn = (key: string, jobId: string, model: string, extra: object = {}) =>
    postSse(w.gateway.url, `/api/jobs/${jobId}/llm-call-stream`, key, {
      model,
      messages: hello,
      ...extra,
    });

  it('forwards the upstream chunks as OpenAI SSE, then usage, then [DONE]', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({ groups: [group], budget_mode: 'consumption_tokens' });
    w.fake.setBehavior({ content: TEXT, chunks: 6 });
    const jobId = await newJob(key);

    const res = await streamIn(key, jobId, model);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const events = await readAll(res.events);

    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => e.json);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ object: 'chat.completion.chunk', model });
    }
    expect(deltas(events)).toBe(TEXT);
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBeGreaterThan(0);
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);

    // the upstream was asked for a stream with usage
    expect(w.fake.requests[0].body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
    // recorded (before [DONE] was written) with the upstream's usage
    const [row] = await calls(jobId);
    expect(row).toMatchObject({
      status: 'success',
      streamed: true,
      finish_reason: 'stop',
      prompt_tokens: usage.usage.prompt_tokens,
      completion_tokens: usage.usage.completion_tokens,
    });
    expect(row.credits_charged).toBe(1);
    expect((await w.team_row(teamId)).holds).toBe(0);
  });

  it('delivers the first chunk before the upstream has sent its last one', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group] });
    w.fake.setBehavior({ mode: 'slow', content: TEXT, chunks: 8, chunkDelayMs: 80, delayMs: 0 });
    const jobId = await newJob(key);

    const res = await streamIn(key, jobId, model);
    expect(res.status).toBe(200);
    const first = (await res.events.next()).value as SseEvent;
    const upstream = w.fake.requests[0];
    // At this instant the upstream is still producing: its response has not finished.
    expect(upstream.finishedAt).toBeUndefined();
    const rest = await readAll(res.events);
    expect(deltas([first, ...rest])).toBe(TEXT);
    expect(upstream.finishedAt).toBeDefined();
    // Same clock: our first chunk arrived before the upstream wrote its last event.
    expect(first.at).toBeLessThan(upstream.chunkTimes.at(-1) as number);
    // and every chunk was forwarded as it came: chunk i reached us before upstream chunk i+2 left
    const received = [first, ...rest].slice(0, -1);
    expect(received.length).toBe(upstream.chunkTimes.length);
    for (let i = 0; i + 2 < received.length; i++) {
      expect(received[i].at).toBeLessThanOrEqual(upstream.chunkTimes[i + 2]);
    }
  });

  // Was "for hours" (a fixed 4 h hold): now a hold lives HOLD_TTL_SECONDS and its live replica
  // renews it for as long as the stream runs (dead-replica.e2e-spec.ts proves both sides).
  it("a stream's hold lives HOLD_TTL_SECONDS (renewed by its replica), then is settled", async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({ groups: [group], budget_mode: 'consumption_tokens' });
    w.fake.setBehavior({ mode: 'slow', content: TEXT, chunks: 4, chunkDelayMs: 100, delayMs: 0 });
    const res = await streamIn(key, await newJob(key), model);
    expect(res.status).toBe(200);
    await res.events.next();
    const holds = await w.pg.query(
      `SELECT extract(epoch FROM expires_at - now())::int AS seconds FROM credit_holds WHERE team_id = $1`,
      [teamId],
    );
    expect(holds.rows).toHaveLength(1);
    expect(holds.rows[0].seconds).toBeGreaterThan(60);
    expect(holds.rows[0].seconds).toBeLessThanOrEqual(120);
    await readAll(res.events);
    expect((await w.team_row(teamId)).holds).toBe(0);
  });

  /** An anthropic deployment on the fake upstream, in a group of its own. */
  const anthropicModel = async () => {
    const cipher = new CredentialCipher({
      encryption: {
        current: { id: 'k1', key: Buffer.from(ENCRYPTION_KEY, 'base64') },
        previous: [],
      },
    });
    const sealed = cipher.encrypt('sk-ant-fake-key');
    const cred = await w.pg.query(
      `INSERT INTO provider_credentials (organization_id, provider, credential_name, api_key_encrypted, encryption_key_id, api_key_last4)
       VALUES ($1, 'anthropic', $2, $3, $4, 'fkey') RETURNING credential_id`,
      [w.org, uid('cred'), sealed.ciphertext, sealed.keyId],
    );
    const model = uid('claude');
    const group = uid('group');
    await w.pg.query(
      `INSERT INTO model_deployments (model_name, provider, provider_model, credential_id, api_base,
         input_price_per_million, output_price_per_million)
       VALUES ($1, 'anthropic', 'claude-fake', $2, $3, 3, 15)`,
      [model, (cred.rows[0] as { credential_id: string }).credential_id, w.fake.url],
    );
    await w.group(group, [model]);
    return { model, group };
  };

  it('translates an Anthropic stream into OpenAI chunks', async () => {
    const { model, group } = await anthropicModel();
    const { key } = await w.team({ groups: [group] });
    w.fake.setBehavior({ content: TEXT, chunks: 5 });
    const jobId = await newJob(key);

    const res = await streamIn(key, jobId, model, { max_tokens: 100 });
    expect(res.status).toBe(200);
    const events = await readAll(res.events);
    expect(w.fake.requests[0].path).toBe('/v1/messages');
    expect(w.fake.requests[0].body.stream).toBe(true);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => e.json);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ object: 'chat.completion.chunk', model });
      expect(chunk.type).toBeUndefined();
    }
    expect(deltas(events)).toBe(TEXT);
    expect(chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0);
    const [row] = await calls(jobId);
    expect(row).toMatchObject({ status: 'success', finish_reason: 'stop' });
    expect(row.completion_tokens).toBe(chunks.at(-1).usage.completion_tokens);
  });

  it('bills an Anthropic stream that fails mid-way on its real prompt tokens (message_start)', async () => {
    const { model, group } = await anthropicModel();
    const { key, teamId } = await w.team({
      groups: [group],
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
      credits: 100_000,
    });
    w.fake.setBehavior({
      mode: 'drop',
      content: TEXT,
      chunks: 8,
      dropAfterChunks: 3,
      usage: { prompt_tokens: 1234 },
    });
    const jobId = await newJob(key);

    const res = await streamIn(key, jobId, model);
    expect(res.status).toBe(200);
    const events = await readAll(res.events);
    expect(events.at(-2)?.json.error).toMatchObject({ code: 'upstream_error' });
    // usage reaches the client only in a final chunk of its own
    expect(events.slice(0, -2).every((e) => e.json.usage === undefined)).toBe(true);
    const delivered = deltas(events);
    expect(delivered.length).toBeGreaterThan(0);

    const [row] = await calls(jobId);
    expect(row).toMatchObject({ status: 'error', prompt_tokens: 1234 });
    expect(row.completion_tokens).toBe(Math.ceil(delivered.length / 4));
    expect(row.credits_charged).toBe(row.total_tokens);
    expect(await w.team_row(teamId)).toMatchObject({ holds: 0, used: row.total_tokens });
  });

  it('falls back to the next model of a group before the first byte (5xx and first-byte timeout)', async () => {
    for (const failure of [{ mode: 'status', status: 503 }, { mode: 'hang' }] as const) {
      w.fake.reset();
      const broken = uid('broken');
      const healthy = uid('healthy');
      const group = uid('group');
      await w.model(broken);
      await w.model(healthy);
      await w.group(group, [broken, healthy]);
      const { key } = await w.team({ groups: [group] });
      w.fake.setBehavior({ content: TEXT, perModel: { [broken]: failure } });
      const jobId = await newJob(key);

      const res = await streamIn(key, jobId, group);
      expect(res.status).toBe(200);
      const events = await readAll(res.events);
      expect(deltas(events)).toBe(TEXT);
      expect(events.slice(0, -1).every((e) => e.json.model === healthy)).toBe(true);
      const rows = await calls(jobId);
      expect(rows.map((r) => [r.provider_model, r.status, r.error_class])).toEqual([
        [broken, 'error', failure.mode === 'hang' ? 'timeout' : 'server_error'],
        [healthy, 'success', null],
      ]);
    }
  });

  it('answers 502 with a JSON body when every deployment fails before the first byte', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({ groups: [group], budget_mode: 'consumption_usd' });
    w.fake.setBehavior({ mode: 'status', status: 500 });
    const jobId = await newJob(key);
    const res = await streamIn(key, jobId, model);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toMatchObject({ code: 'UPSTREAM_ERROR' });
    expect((await w.team_row(teamId)).holds).toBe(0);
  });

  it('ends a stream that fails mid-way with an error event then [DONE], billing what was delivered', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({
      groups: [group],
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });
    w.fake.setBehavior({ mode: 'drop', content: TEXT, chunks: 8, dropAfterChunks: 3 });
    const jobId = await newJob(key);

    const res = await streamIn(key, jobId, model);
    expect(res.status).toBe(200);
    const events = await readAll(res.events);
    expect(events.at(-1)?.data).toBe('[DONE]');
    const error = events.at(-2)?.json;
    expect(error.error).toMatchObject({ type: 'api_error', code: 'upstream_error' });
    expect(typeof error.error.message).toBe('string');
    const delivered = deltas(events);
    expect(delivered.length).toBeGreaterThan(0);
    expect(TEXT.startsWith(delivered)).toBe(true);

    const [row] = await calls(jobId);
    expect(row).toMatchObject({ status: 'error', streamed: true, error_class: 'connection' });
    expect(row.completion_tokens).toBe(Math.ceil(delivered.length / 4));
    expect(row.credits_charged).toBe(row.total_tokens);
    const team = await w.team_row(teamId);
    expect(team).toMatchObject({ holds: 0, used: row.total_tokens });
  });

  it('cuts an upstream that goes idle mid-stream with an upstream_timeout error event', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({ groups: [group], budget_mode: 'consumption_usd' });
    w.fake.setBehavior({ mode: 'stall', content: TEXT, chunks: 8, dropAfterChunks: 2 });
    const jobId = await newJob(key);

    const res = await streamIn(key, jobId, model);
    const events = await readAll(res.events);
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(events.at(-2)?.json.error).toMatchObject({ code: 'upstream_timeout' });
    const [row] = await calls(jobId);
    expect(row).toMatchObject({ status: 'error', error_class: 'timeout' });
    expect(row.completion_tokens).toBeGreaterThan(0);
    // the stalled upstream connection was closed by the gateway
    await eventually(() => Promise.resolve(w.fake.closedByClient === 1));
    expect((await w.team_row(teamId)).holds).toBe(0);
  });

  it('counts the usage itself when the upstream sends none', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group], budget_mode: 'consumption_tokens' });
    w.fake.setBehavior({ mode: 'no_usage', content: TEXT });
    const jobId = await newJob(key);

    const res = await streamIn(key, jobId, model);
    const events = await readAll(res.events);
    expect(deltas(events)).toBe(TEXT);
    const counted = {
      prompt_tokens: Math.ceil('Say hello'.length / 4),
      completion_tokens: Math.ceil(TEXT.length / 4),
    };
    // the client still gets a final usage chunk, with the counted usage
    const usage = events.at(-2)?.json;
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject(counted);
    const [row] = await calls(jobId);
    expect(row).toMatchObject({ status: 'success', ...counted });
  });

  it('refuses with 403 JSON before any SSE when the team cannot pay, with no upstream request', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group], credits: 0 });
    const jobId = await newJob(key);
    const res = await streamIn(key, jobId, model);
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toEqual({
      detail: 'Insufficient credits',
      code: 'INSUFFICIENT_CREDITS',
    });
    expect(w.fake.requests).toHaveLength(0);
  });

  it("refuses another team's job with 403 before any SSE, with no upstream request", async () => {
    const { model, group } = await w.modelInGroup();
    const owner = await w.team({ groups: [group] });
    const other = await w.team({ groups: [group] });
    const jobId = await newJob(owner.key);
    const res = await streamIn(other.key, jobId, model);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      detail: 'Cannot access jobs for a different team',
      code: 'FORBIDDEN',
    });
    expect(w.fake.requests).toHaveLength(0);
  });

  it('refuses a closed job with 409', async () => {
    const { model, group } = await w.modelInGroup();
    const { key } = await w.team({ groups: [group] });
    const jobId = await newJob(key);
    const closed = await w.gw('POST', `/api/jobs/${jobId}/complete`, key, { status: 'failed' });
    expect(closed.status).toBe(200);
    const res = await streamIn(key, jobId, model);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'JOB_CLOSED' });
    expect(w.fake.requests).toHaveLength(0);
  });

  it('create-and-call-stream opens a job, streams, and closes the job before [DONE]', async () => {
    const { model, group } = await w.modelInGroup();
    const { key, teamId } = await w.team({ groups: [group], credits: 3 });
    w.fake.setBehavior({ content: TEXT });
    const res = await postSse(w.gateway.url, '/api/jobs/create-and-call-stream', key, {
      job_type: 'one-shot',
      model,
      messages: hello,
      metadata: { source: 'spec' },
    });
    expect(res.status).toBe(200);
    const jobId = res.headers.get('x-job-id') as string;
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    const events = await readAll(res.events);
    expect(deltas(events)).toBe(TEXT);

    const job = await w.gw('GET', `/api/jobs/${jobId}`, key);
    expect(job.body).toMatchObject({ status: 'completed', metadata: { source: 'spec' } });
    const team = await w.team_row(teamId);
    expect(team).toMatchObject({ used: 1, held: 0, holds: 0 });

    // a failing one-call stream closes its job as failed (free in job_based mode)
    w.fake.setBehavior({ mode: 'status', status: 500 });
    const failed = await postSse(w.gateway.url, '/api/jobs/create-and-call-stream', key, {
      job_type: 'one-shot',
      model,
      messages: hello,
    });
    expect(failed.status).toBe(502);
    const failedId = failed.headers.get('x-job-id') as string;
    const failedJob = await w.gw('GET', `/api/jobs/${failedId}`, key);
    expect(failedJob.body.status).toBe('failed');
    expect(await w.team_row(teamId)).toMatchObject({ used: 1, held: 0, holds: 0 });
  });
});
