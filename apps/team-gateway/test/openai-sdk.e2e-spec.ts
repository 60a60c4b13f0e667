import OpenAI, { APIError } from 'openai';
import { uid } from '../../../test/helpers/apps';
import { call } from '../../../test/helpers/http';
import { World } from './gateway-fixtures';

/** The official openai SDK against the in-process gateway, as Open WebUI and Continue.dev use it. */
describe('OpenAI-compatible surface (openai SDK)', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start();
  });
  afterAll(() => w.stop());
  beforeEach(() => w.fake.reset());

  const client = (apiKey: string, baseURL = `${w.gateway.url}/v1`) =>
    new OpenAI({ apiKey, baseURL, maxRetries: 0 });
  const user = (content: string) => [{ role: 'user' as const, content }];

  /** A team on one fresh model (also reachable through its group), and an SDK client for its key. */
  async function setup(spec: { credits?: number; rpm_limit?: number } = {}) {
    const { model, group } = await w.modelInGroup();
    const team = await w.team({ groups: [group], ...spec });
    return { model, group, ...team, sdk: client(team.key) };
  }

  const thrown = async (work: Promise<unknown>): Promise<unknown> => {
    try {
      await work;
    } catch (err) {
      return err;
    }
    throw new Error('expected the request to fail');
  };

  const jobRow = async (jobId: string) =>
    (
      await w.pg.query(
        `SELECT job_type, status, user_id, team_id,
                (SELECT count(*)::int FROM llm_calls c WHERE c.job_id = j.job_id) AS calls
           FROM jobs j WHERE job_id = $1`,
        [jobId],
      )
    ).rows[0] as { job_type: string; status: string; user_id: string | null; calls: number };

  describe('chat completions', () => {
    it('answers in OpenAI format with the upstream content, usage and finish_reason', async () => {
      const { model, sdk } = await setup();
      const completion = await sdk.chat.completions.create({
        model,
        messages: user('Say hello'),
        max_completion_tokens: 200,
      });
      expect(completion.id).toMatch(/^chatcmpl-/);
      expect(completion.object).toBe('chat.completion');
      expect(typeof completion.created).toBe('number');
      expect(completion.model).toBe(model);
      expect(completion.choices).toHaveLength(1);
      expect(completion.choices[0]).toEqual({
        index: 0,
        message: {
          role: 'assistant',
          content: `Fake answer from ${model} to: Say hello`,
          refusal: null,
        },
        finish_reason: 'stop',
        logprobs: null,
      });
      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.body.max_tokens).toBe(200);
      const text = `Fake answer from ${model} to: Say hello`;
      expect(completion.usage).toEqual({
        prompt_tokens: Math.ceil('Say hello'.length / 4),
        completion_tokens: Math.ceil(text.length / 4),
        total_tokens: Math.ceil('Say hello'.length / 4) + Math.ceil(text.length / 4),
      });
    });

    it('round-trips tool calls (request tools → tool_calls → tool result)', async () => {
      const { model, sdk } = await setup();
      w.fake.setBehavior({ toolCalls: true });
      const tools = [
        {
          type: 'function' as const,
          function: {
            name: 'lookup',
            description: 'Look something up',
            parameters: { type: 'object', properties: { query: { type: 'string' } } },
          },
        },
      ];
      const first = await sdk.chat.completions.create({
        model,
        messages: user('Find tollgates'),
        tools,
        tool_choice: 'auto',
      });
      expect(first.choices[0].finish_reason).toBe('tool_calls');
      const calls = first.choices[0].message.tool_calls!;
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ type: 'function', function: { name: 'lookup' } });
      const toolCall = calls[0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
      expect(JSON.parse(toolCall.function.arguments)).toEqual({ query: 'Find tollgates' });
      expect(w.fake.requests.at(-1)!.body.tools).toEqual(tools);

      w.fake.setBehavior({ toolCalls: false, content: 'There are 3.' });
      const second = await sdk.chat.completions.create({
        model,
        tools,
        messages: [
          ...user('Find tollgates'),
          first.choices[0].message,
          { role: 'tool', tool_call_id: toolCall.id, content: '{"count":3}' },
        ],
      });
      expect(second.choices[0].message.content).toBe('There are 3.');
      const sent = w.fake.requests.at(-1)!.body.messages as Array<Record<string, unknown>>;
      expect(sent[1]).toMatchObject({ role: 'assistant', tool_calls: [toolCall] });
      expect(sent[2]).toEqual({ role: 'tool', tool_call_id: toolCall.id, content: '{"count":3}' });
    });

    it('passes response_format through, and accepts a group name as model', async () => {
      const { model, group, sdk } = await setup();
      const response_format = {
        type: 'json_schema' as const,
        json_schema: { name: 'x', schema: { type: 'object' }, strict: true },
      };
      const completion = await sdk.chat.completions.create({
        model: group,
        messages: user('json please'),
        response_format,
      });
      expect(completion.model).toBe(model);
      expect(w.fake.requests.at(-1)!.body.response_format).toEqual(response_format);
    });

    it('forwards the sampling parameters, drops what the provider should not see', async () => {
      const { model, sdk } = await setup();
      const completion = await sdk.chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'Be brief' },
          { role: 'user', content: [{ type: 'text', text: 'Say hi' }] },
        ],
        temperature: 0.2,
        top_p: 0.9,
        n: 1,
        seed: 7,
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
        logit_bias: { '50256': -100 },
        logprobs: false,
        user: 'end-user-1',
        metadata: { source: 'sdk' },
        store: false,
        parallel_tool_calls: true,
        stop: ['\n\n'],
        // what some clients add on top of OpenAI's parameters
        ...({ chat_id: 'abc', session_id: 'def', unknown_field: { a: 1 } } as object),
      });
      expect(completion.choices[0].message.content).toBe(`Fake answer from ${model} to: Say hi`);
      const upstream = w.fake.requests.at(-1)!.body as Record<string, unknown>;
      expect(upstream).toMatchObject({
        temperature: 0.2,
        top_p: 0.9,
        stop: ['\n\n'],
        seed: 7,
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
        logit_bias: { '50256': -100 },
        user: 'end-user-1',
      });
      // no tools: parallel_tool_calls means nothing; gateway-side fields stay here
      for (const field of ['parallel_tool_calls', 'metadata', 'store', 'n', 'logprobs']) {
        expect(upstream).not.toHaveProperty(field);
      }
      expect(upstream).not.toHaveProperty('chat_id');
      expect(upstream).not.toHaveProperty('unknown_field');
    });

    it('answers at /chat/completions without the /v1 prefix too', async () => {
      const { model, key } = await setup();
      const sdk = client(key, w.gateway.url);
      const completion = await sdk.chat.completions.create({ model, messages: user('no prefix') });
      expect(completion.choices[0].message.content).toBe(`Fake answer from ${model} to: no prefix`);
    });
  });

  describe('jobs', () => {
    it('runs each request without X-Job-Id as a one-call chat.completions job, billed once', async () => {
      const { model, teamId, sdk } = await setup({ credits: 10 });
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { data, response } = await sdk.chat.completions
          .create({ model, messages: user(`job ${i}`), user: 'alice' })
          .withResponse();
        expect(data.object).toBe('chat.completion');
        ids.push(response.headers.get('x-job-id')!);
      }
      expect(new Set(ids).size).toBe(2);
      for (const id of ids) {
        expect(await jobRow(id)).toMatchObject({
          job_type: 'chat.completions',
          status: 'completed',
          user_id: 'alice',
          calls: 1,
        });
      }
      // its second call leased the team on this replica: the lease goes back once idle
      const team = await w.settled(teamId);
      expect(team).toMatchObject({ used: 2, held: 0, holds: 0 });
      expect(team.ledger_sum).toBe(team.allocated - team.used);
    });

    it('closes the one-call job as failed (and free) when the call fails', async () => {
      const { model, teamId, sdk } = await setup({ credits: 10 });
      w.fake.setBehavior({ mode: 'status', status: 500 });
      const err = await thrown(sdk.chat.completions.create({ model, messages: user('fail') }));
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect((err as APIError).status).toBe(502);
      expect((err as APIError).code).toBe('upstream_error');
      const jobs = await w.pg.query(
        `SELECT job_id, job_type, status FROM jobs WHERE team_id = $1`,
        [teamId],
      );
      expect(jobs.rows).toEqual([
        { job_id: expect.any(String), job_type: 'chat.completions', status: 'failed' },
      ]);
      // the failed answer names its job too
      expect((err as APIError).headers?.get('x-job-id')).toBe(jobs.rows[0].job_id);
      expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 0 });
    });

    it('joins the open job named by X-Job-Id without completing it', async () => {
      const { model, key, teamId, sdk } = await setup({ credits: 10 });
      const job = await w.gw('POST', '/api/jobs/create', key, { job_type: 'agent' });
      const jobId = job.body.job_id as string;
      for (let i = 0; i < 2; i++) {
        const { response } = await sdk.chat.completions
          .create({ model, messages: user(`step ${i}`) }, { headers: { 'X-Job-Id': jobId } })
          .withResponse();
        expect(response.headers.get('x-job-id')).toBe(jobId);
      }
      const costs = await w.gw('GET', `/api/jobs/${jobId}/costs`, key);
      expect(costs.body.costs).toMatchObject({ total_calls: 2, successful_calls: 2 });
      expect(costs.body.status).not.toMatch(/completed|failed/);
      const jobs = await w.pg.query('SELECT count(*)::int AS n FROM jobs WHERE team_id = $1', [
        teamId,
      ]);
      expect(jobs.rows[0].n).toBe(1);
      const done = await w.gw('POST', `/api/jobs/${jobId}/complete`, key, { status: 'completed' });
      expect(done.body.costs).toMatchObject({ total_calls: 2, credits_charged: 1 });
    });

    it('refuses X-Job-Id that is malformed, unknown, of another team, or closed', async () => {
      const { model, key, sdk } = await setup();
      const other = await setup();
      const theirs = (await w.gw('POST', '/api/jobs/create', other.key, { job_type: 'x' })).body
        .job_id as string;
      const closed = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'x' })).body
        .job_id as string;
      await w.gw('POST', `/api/jobs/${closed}/complete`, key, { status: 'failed' });
      const attempt = (jobId: string) =>
        thrown(
          sdk.chat.completions.create(
            { model, messages: user('x') },
            { headers: { 'X-Job-Id': jobId } },
          ),
        );
      expect(await attempt('not-a-uuid')).toBeInstanceOf(OpenAI.BadRequestError);
      expect(await attempt('00000000-0000-4000-8000-000000000000')).toBeInstanceOf(
        OpenAI.NotFoundError,
      );
      expect(await attempt(theirs)).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(await attempt(closed)).toBeInstanceOf(OpenAI.ConflictError);
      expect(w.fake.requests).toHaveLength(0);
    });
  });

  describe('models', () => {
    it('lists exactly the names the key may send: team groups ∩ key allow-list', async () => {
      const [a, b, c, hidden] = [uid('model'), uid('model'), uid('model'), uid('model')];
      const [g1, g2, g3] = [uid('group'), uid('group'), uid('group')];
      for (const m of [a, b, c, hidden]) await w.model(m);
      await w.group(g1, [a, b]);
      await w.group(g2, [c]);
      await w.group(g3, [hidden]);
      const { teamId, key } = await w.team({ groups: [g1, g2] });
      const names = async (k: string) =>
        (await client(k).models.list()).data.map((m) => m.id).sort();

      expect(await names(key)).toEqual([a, b, c, g1, g2].sort());

      const created = await call(w.admin.url, 'POST', `/api/teams/${teamId}/keys`, {
        admin: true,
        body: { key_alias: 'narrow', models: [a, g2] },
      });
      expect(created.status).toBe(201);
      const narrow = created.body.virtual_key as string;
      // b is outside the allow-list; g1 still resolves to a, which the key may use
      expect(await names(narrow)).toEqual([a, c, g1, g2].sort());

      const page = await client(narrow).models.list();
      for (const model of page.data) {
        expect(model).toEqual({
          id: model.id,
          object: 'model',
          created: expect.any(Number),
          owned_by: 'tollgate',
        });
        expect(model.created).toBeGreaterThan(1_600_000_000);
      }
      expect(await client(narrow).models.retrieve(c)).toMatchObject({ id: c, object: 'model' });
      expect(await thrown(client(narrow).models.retrieve(b))).toBeInstanceOf(
        OpenAI.PermissionDeniedError,
      );
      const missing = await thrown(client(narrow).models.retrieve(uid('nope')));
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
      expect((missing as APIError).code).toBe('model_not_found');
    });

    it('answers /models without the /v1 prefix too', async () => {
      const { model, group, key } = await setup();
      const page = await client(key, w.gateway.url).models.list();
      expect(page.data.map((m) => m.id).sort()).toEqual([group, model].sort());
    });
  });

  describe('errors in OpenAI shape', () => {
    it('401 for a missing or invalid key', async () => {
      const { model } = await setup();
      const err = await thrown(
        client(`sk-${'x'.repeat(40)}`).chat.completions.create({ model, messages: user('x') }),
      );
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((err as APIError).code).toBe('invalid_api_key');
      const raw = await call(w.gateway.url, 'GET', '/v1/models');
      expect(raw.status).toBe(401);
      expect(raw.body).toEqual({
        error: {
          message: 'Invalid or missing API key',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      });
    });

    it('403 for a model outside the key, with no credits, or when the team is suspended', async () => {
      const { model, sdk } = await setup({ credits: 0 });
      const other = await w.modelInGroup();
      const denied = await thrown(
        sdk.chat.completions.create({ model: other.model, messages: user('x') }),
      );
      expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((denied as APIError).code).toBe('model_access_denied');
      expect((denied as APIError).param).toBe('model');

      const broke = await thrown(sdk.chat.completions.create({ model, messages: user('x') }));
      expect(broke).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((broke as APIError).code).toBe('insufficient_quota');
      expect(w.fake.requests).toHaveLength(0);

      const suspended = await setup();
      await call(w.admin.url, 'PUT', `/api/teams/${suspended.teamId}/suspend`, { admin: true });
      const err = await thrown(suspended.sdk.models.list());
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((err as APIError).code).toBe('team_suspended');
    });

    it('404 model_not_found for a model that does not exist', async () => {
      const { sdk } = await setup();
      const err = await thrown(
        sdk.chat.completions.create({ model: uid('nope'), messages: user('x') }),
      );
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect((err as APIError).code).toBe('model_not_found');
      expect((err as APIError).type).toBe('invalid_request_error');
    });

    it('429 with Retry-After over the rate limit', async () => {
      const { model, sdk } = await setup({ rpm_limit: 1 });
      await sdk.chat.completions.create({ model, messages: user('first') });
      const err = await thrown(sdk.chat.completions.create({ model, messages: user('second') }));
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      const apiErr = err as APIError;
      expect(apiErr.code).toBe('rate_limit_exceeded');
      expect(Number(apiErr.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    });

    it('400 naming the param for a malformed body', async () => {
      const { model, sdk } = await setup();
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ model }, 'messages'],
        [{ messages: user('x') }, 'model'],
        [{ model, messages: user('x'), temperature: '0.5' }, 'temperature'],
        [{ model, messages: user('x'), n: 2 }, 'n'],
        [{ model, messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
        [
          { model, messages: user('x'), stream_options: { include_usage: 'yes' } },
          'stream_options.include_usage',
        ],
      ];
      for (const [body, param] of cases) {
        const err = await thrown(
          sdk.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParams),
        );
        expect(err).toBeInstanceOf(OpenAI.BadRequestError);
        expect((err as APIError).param).toBe(param);
        expect((err as APIError).type).toBe('invalid_request_error');
      }
      const raw = await call(w.gateway.url, 'POST', '/v1/chat/completions', {
        bearer: (await setup()).key,
        raw: '{"model": ',
      });
      expect(raw.status).toBe(400);
      expect(raw.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
      expect(w.fake.requests).toHaveLength(0);
    });
  });

  it('documents the routes under the OpenAI-compatible tag with bearer auth', async () => {
    const doc = await call(w.gateway.url, 'GET', '/docs-json');
    const paths = doc.body.paths as Record<string, Record<string, Record<string, unknown>>>;
    for (const [path, method] of [
      ['/v1/chat/completions', 'post'],
      ['/chat/completions', 'post'],
      ['/v1/models', 'get'],
      ['/v1/models/{model}', 'get'],
    ]) {
      expect(paths[path]?.[method]).toMatchObject({
        tags: ['OpenAI-compatible'],
        security: [{ 'virtual-key': [] }],
      });
    }
    const body = paths['/v1/chat/completions'].post.requestBody as Record<string, any>;
    expect(body.content['application/json'].schema.$ref).toMatch(/ChatCompletionRequestDto/);
  });

  describe('streaming', () => {
    it('streams tool calls: the argument deltas join into the whole call', async () => {
      const { model, sdk } = await setup();
      w.fake.setBehavior({ toolCalls: true, chunks: 4 });
      const stream = await sdk.chat.completions.create({
        model,
        messages: user('Find tollgates'),
        tools: [
          {
            type: 'function',
            function: {
              name: 'lookup',
              parameters: { type: 'object', properties: { query: { type: 'string' } } },
            },
          },
        ],
        stream: true,
      });
      let name = '';
      let args = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        const call = chunk.choices[0]?.delta.tool_calls?.[0];
        name += call?.function?.name ?? '';
        args += call?.function?.arguments ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(name).toBe('lookup');
      expect(JSON.parse(args)).toEqual({ query: 'Find tollgates' });
      expect(finish).toBe('tool_calls');
    });

    it('streams deltas whose concatenation is the upstream text; usage only when asked', async () => {
      const { model, sdk } = await setup();
      const text = `Fake answer from ${model} to: stream me`;

      const plain = await sdk.chat.completions.create({
        model,
        messages: user('stream me'),
        stream: true,
      });
      let content = '';
      let finish: string | null = null;
      let usageChunks = 0;
      for await (const chunk of plain) {
        expect(chunk.object).toBe('chat.completion.chunk');
        expect(chunk.model).toBe(model);
        if (chunk.usage) usageChunks += 1;
        for (const choice of chunk.choices) {
          content += choice.delta.content ?? '';
          finish = choice.finish_reason ?? finish;
        }
      }
      expect(content).toBe(text);
      expect(finish).toBe('stop');
      expect(usageChunks).toBe(0);

      const { data: withUsage, response } = await sdk.chat.completions
        .create({
          model,
          messages: user('stream me'),
          stream: true,
          stream_options: { include_usage: true },
        })
        .withResponse();
      const jobId = response.headers.get('x-job-id')!;
      expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const chunk of withUsage) chunks.push(chunk);
      const last = chunks.at(-1)!;
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({
        prompt_tokens: expect.any(Number),
        completion_tokens: Math.ceil(text.length / 4),
      });
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(text);
      expect(await jobRow(jobId)).toMatchObject({
        job_type: 'chat.completions',
        status: 'completed',
        calls: 1,
      });
    });

    it('streams inside the job named by X-Job-Id', async () => {
      const { model, key, sdk } = await setup();
      const jobId = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'chat' })).body
        .job_id as string;
      const stream = await sdk.chat.completions.create(
        { model, messages: user('in job'), stream: true },
        { headers: { 'X-Job-Id': jobId } },
      );
      let content = '';
      for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
      expect(content).toBe(`Fake answer from ${model} to: in job`);
      expect(await jobRow(jobId)).toMatchObject({ calls: 1, job_type: 'chat' });
      expect((await jobRow(jobId)).status).not.toMatch(/completed|failed/);
    });

    it('reports stream errors before the first byte as SDK errors', async () => {
      const { sdk } = await setup();
      const err = await thrown(
        sdk.chat.completions.create({ model: uid('nope'), messages: user('x'), stream: true }),
      );
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect((err as APIError).code).toBe('model_not_found');
    });
  });
});
