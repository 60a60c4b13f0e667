import OpenAI, { APIError } from 'openai';
import { uid } from '../../../test/helpers/apps';
import { call, eventually } from '../../../test/helpers/http';
import { ModelSpec, World } from './gateway-fixtures';
import { postSse } from './sse-client';

/** OpenAI's Responses API through the official openai SDK, as Codex CLI and the Agents SDK use it. */
describe('/v1/responses (openai SDK)', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start();
  });
  afterAll(() => w.stop());
  beforeEach(() => w.fake.reset());

  const client = (apiKey: string) =>
    new OpenAI({ apiKey, baseURL: `${w.gateway.url}/v1`, maxRetries: 0 });

  /** A team on one fresh model; tokens billing (1 token = 1 credit) makes every charge exact. */
  async function setup(spec: ModelSpec = {}, credits = 100_000) {
    const { model, group } = await w.modelInGroup(spec);
    const team = await w.team({
      groups: [group],
      credits,
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });
    return { model, group, ...team, sdk: client(team.key) };
  }

  const thrown = async (work: Promise<unknown>): Promise<APIError> => {
    try {
      await work;
    } catch (err) {
      if (err instanceof APIError) return err;
      throw err;
    }
    throw new Error('expected the request to fail');
  };

  /** The job's one call row, and the team's books once settled. */
  async function billed(jobId: string, teamId: string) {
    let row: Record<string, any> | undefined;
    await eventually(async () => {
      const rows = await w.pg.query(
        `SELECT c.status, c.provider, c.prompt_tokens, c.completion_tokens, c.total_tokens,
                c.credits_charged::int AS credits_charged, c.streamed, j.job_type, j.status AS job_status
           FROM llm_calls c JOIN jobs j USING (job_id) WHERE c.job_id = $1`,
        [jobId],
      );
      row = rows.rows[0] as Record<string, any> | undefined;
      // a one-call job is closed just after its call is settled
      return rows.rows.length === 1 && ['completed', 'failed'].includes(String(row?.job_status));
    });
    const team = await w.settled(teamId);
    expect(team.ledger_sum).toBe(team.allocated - team.used);
    expect(team.used).toBe(row!.credits_charged);
    return row!;
  }

  const lookup = {
    type: 'function' as const,
    name: 'lookup',
    description: 'Look something up',
    parameters: { type: 'object', properties: { query: { type: 'string' } } },
    strict: false,
  };

  describe('translated through chat completions (openai-compatible deployment)', () => {
    it('answers a Response object: instructions as system, output_text, usage, billed exactly', async () => {
      const { model, sdk, teamId } = await setup();
      const { data: response, response: http } = await sdk.responses
        .create({
          model,
          instructions: 'Be brief',
          input: 'Say hello',
          max_output_tokens: 200,
          temperature: 0.3,
          store: true,
          reasoning: { effort: 'low' },
        })
        .withResponse();
      const text = `Fake answer from ${model} to: Say hello`;
      expect(response).toMatchObject({
        object: 'response',
        status: 'completed',
        model,
        store: false,
        instructions: 'Be brief',
        max_output_tokens: 200,
        error: null,
        incomplete_details: null,
      });
      expect(response.id).toMatch(/^resp_[0-9a-f]{32}$/);
      expect(response.output_text).toBe(text);
      expect(response.output).toEqual([
        {
          id: expect.stringMatching(/^msg_/),
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
        },
      ]);
      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.path).toBe('/v1/chat/completions');
      expect(upstream.body).toMatchObject({
        messages: [
          { role: 'system', content: 'Be brief' },
          { role: 'user', content: 'Say hello' },
        ],
        max_tokens: 200,
        temperature: 0.3,
      });
      expect(upstream.body).not.toHaveProperty('reasoning');
      const prompt = Math.ceil('Be brief'.length / 4) + Math.ceil('Say hello'.length / 4);
      const completion = Math.ceil(text.length / 4);
      expect(response.usage).toEqual({
        input_tokens: expect.any(Number),
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: completion,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: response.usage!.input_tokens + completion,
      });
      expect(response.usage!.input_tokens).toBeGreaterThanOrEqual(prompt - 1);
      const row = await billed(http.headers.get('x-job-id')!, teamId);
      expect(row).toMatchObject({
        status: 'success',
        job_type: 'responses',
        job_status: 'completed',
        prompt_tokens: response.usage!.input_tokens,
        completion_tokens: completion,
        credits_charged: response.usage!.total_tokens,
        streamed: false,
      });
    });

    it('round-trips function tools: function_call item, then function_call_output', async () => {
      const { model, sdk } = await setup();
      w.fake.setBehavior({ toolCalls: true });
      const first = await sdk.responses.create({
        model,
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'Find tollgates' }] }],
        tools: [lookup],
        tool_choice: { type: 'function', name: 'lookup' },
      });
      expect(first.status).toBe('completed');
      const fc = first.output.find((i) => i.type === 'function_call')!;
      expect(fc).toMatchObject({ type: 'function_call', name: 'lookup', status: 'completed' });
      expect(fc.call_id).toMatch(/^call_/);
      expect(JSON.parse(fc.arguments)).toEqual({ query: 'Find tollgates' });
      expect(w.fake.requests.at(-1)!.body).toMatchObject({
        tools: [
          {
            type: 'function',
            function: {
              name: 'lookup',
              description: 'Look something up',
              parameters: lookup.parameters,
            },
          },
        ],
        tool_choice: { type: 'function', function: { name: 'lookup' } },
      });

      w.fake.setBehavior({ toolCalls: false, content: 'There are 3.' });
      const second = await sdk.responses.create({
        model,
        tools: [lookup],
        input: [
          { role: 'user', content: 'Find tollgates' },
          fc,
          { type: 'function_call_output', call_id: fc.call_id, output: '{"count":3}' },
        ],
      });
      expect(second.output_text).toBe('There are 3.');
      const sent = w.fake.requests.at(-1)!.body.messages as Array<Record<string, unknown>>;
      expect(sent).toEqual([
        { role: 'user', content: 'Find tollgates' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: fc.call_id,
              type: 'function',
              function: { name: 'lookup', arguments: fc.arguments },
            },
          ],
        },
        { role: 'tool', tool_call_id: fc.call_id, content: '{"count":3}' },
      ]);
    });

    it('streams the semantic events in order, numbered, ending with response.completed and usage', async () => {
      const { model, sdk, teamId } = await setup();
      const { data: stream, response: http } = await sdk.responses
        .create({ model, input: 'stream me', stream: true })
        .withResponse();
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      const text = `Fake answer from ${model} to: stream me`;
      const types = events.map((e) => e.type);
      expect(types.slice(0, 4)).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
      ]);
      expect(types.slice(-4)).toEqual([
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      expect(new Set(types.slice(4, -4))).toEqual(new Set(['response.output_text.delta']));
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      const deltas = events.flatMap((e) =>
        e.type === 'response.output_text.delta' ? [e.delta] : [],
      );
      expect(deltas.join('')).toBe(text);
      const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
      expect(completed.response).toMatchObject({ status: 'completed', model, store: false });
      expect(completed.response.output[0]).toMatchObject({
        type: 'message',
        content: [{ type: 'output_text', text }],
      });
      const row = await billed(http.headers.get('x-job-id')!, teamId);
      expect(row).toMatchObject({
        status: 'success',
        job_type: 'responses',
        streamed: true,
        prompt_tokens: completed.response.usage!.input_tokens,
        completion_tokens: completed.response.usage!.output_tokens,
        credits_charged: completed.response.usage!.total_tokens,
      });
    });

    it('streams function calls (arguments delta/done) through the responses.stream() helper', async () => {
      const { model, sdk } = await setup();
      w.fake.setBehavior({ toolCalls: true, chunks: 4 });
      const stream = sdk.responses.stream({ model, input: 'Find tollgates', tools: [lookup] });
      const seen: string[] = [];
      stream.on('event', (e) => seen.push(e.type));
      const final = await stream.finalResponse();
      expect(seen).toContain('response.function_call_arguments.delta');
      expect(seen).toContain('response.function_call_arguments.done');
      const fc = final.output.find((i) => i.type === 'function_call')!;
      expect(fc).toMatchObject({ name: 'lookup', status: 'completed' });
      expect(JSON.parse(fc.arguments)).toEqual({ query: 'Find tollgates' });
    });

    it('returns the text of the responses.stream() helper as output_text', async () => {
      const { model, sdk } = await setup();
      const final = await sdk.responses.stream({ model, input: 'helper' }).finalResponse();
      expect(final.output_text).toBe(`Fake answer from ${model} to: helper`);
      expect(final.usage?.output_tokens).toBeGreaterThan(0);
    });

    it('maps text.format json_schema to response_format, and refuses built-in tools (400, no call)', async () => {
      const { model, sdk } = await setup();
      await sdk.responses.create({
        model,
        input: 'json please',
        text: {
          format: { type: 'json_schema', name: 'x', schema: { type: 'object' }, strict: true },
        },
      });
      expect(w.fake.requests.at(-1)!.body.response_format).toEqual({
        type: 'json_schema',
        json_schema: { name: 'x', schema: { type: 'object' }, strict: true },
      });
      w.fake.reset();
      const err = await thrown(
        sdk.responses.create({ model, input: 'search', tools: [{ type: 'web_search' }] }),
      );
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.param).toBe('tools[0].type');
      expect(err.type).toBe('invalid_request_error');
      expect(w.fake.requests).toHaveLength(0);
    });
  });

  describe('other providers', () => {
    it('translates for an anthropic deployment (instructions → system)', async () => {
      const { model, sdk } = await setup({ provider: 'anthropic' });
      const response = await sdk.responses.create({ model, instructions: 'Be brief', input: 'Hi' });
      expect(response.output_text).toBe(`Fake answer from ${model} to: Hi`);
      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.path).toBe('/v1/messages');
      expect(upstream.body.system).toEqual('Be brief');
    });

    it('answers from a mock deployment, stream and not', async () => {
      const { model, sdk } = await setup({ provider: 'mock' });
      const response = await sdk.responses.create({ model, input: 'Hi mock' });
      expect(response.output_text).toBe('Mock response to: Hi mock');
      const final = await sdk.responses.stream({ model, input: 'Hi mock' }).finalResponse();
      expect(final.output_text).toBe('Mock response to: Hi mock');
      expect(w.fake.requests).toHaveLength(0);
    });
  });

  describe('pass-through to an openai deployment', () => {
    const openai = () => setup({ provider: 'openai', providerModel: `gpt-${uid('up')}` });

    it('sends the body as is to /v1/responses (unknown fields kept), renames the model, bills the usage', async () => {
      const { model, sdk, teamId } = await openai();
      const { data: response, response: http } = await sdk.responses
        .create({
          model,
          input: 'Say hello',
          reasoning: { effort: 'high' },
          tools: [lookup, { type: 'web_search' }],
          include: ['reasoning.encrypted_content'],
          store: true,
          ...({ x_gateway_unknown: { a: [1, 2] } } as object),
        })
        .withResponse();
      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.path).toBe('/v1/responses');
      expect(upstream.body).toEqual({
        model: expect.stringMatching(/^gpt-/),
        input: 'Say hello',
        reasoning: { effort: 'high' },
        tools: [lookup, { type: 'web_search' }],
        include: ['reasoning.encrypted_content'],
        store: false,
        x_gateway_unknown: { a: [1, 2] },
      });
      expect(upstream.headers.authorization).toBe(`Bearer ${w.providerKey}`);
      expect(response.model).toBe(model);
      expect(response.id).toMatch(/^resp_/);
      expect(response.output_text).toBe(`Fake answer from ${upstream.body.model} to: Say hello`);
      // a field the gateway knows nothing about comes back unchanged
      expect((response as unknown as Record<string, unknown>).service_tier).toBe('default');
      const row = await billed(http.headers.get('x-job-id')!, teamId);
      expect(row).toMatchObject({
        provider: 'openai',
        status: 'success',
        prompt_tokens: response.usage!.input_tokens,
        completion_tokens: response.usage!.output_tokens,
        credits_charged: response.usage!.total_tokens,
      });
    });

    it('streams the upstream events as is (model renamed) and bills the usage of response.completed', async () => {
      const { model, sdk, teamId } = await openai();
      w.fake.setBehavior({ toolCalls: true, chunks: 3 });
      const { data: stream, response: http } = await sdk.responses
        .create({ model, input: 'Find tollgates', tools: [lookup], stream: true })
        .withResponse();
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      expect(w.fake.requests.at(-1)!.body.stream).toBe(true);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      expect(
        events.filter((e) => e.type === 'response.function_call_arguments.delta'),
      ).toHaveLength(3);
      const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
      expect(completed.type).toBe('response.completed');
      expect(completed.response.model).toBe(model);
      expect((events[0] as OpenAI.Responses.ResponseCreatedEvent).response.model).toBe(model);
      const row = await billed(http.headers.get('x-job-id')!, teamId);
      expect(row).toMatchObject({
        provider: 'openai',
        streamed: true,
        prompt_tokens: completed.response.usage!.input_tokens,
        completion_tokens: completed.response.usage!.output_tokens,
        credits_charged: completed.response.usage!.total_tokens,
      });
    });

    it('falls back from a failing openai deployment to a translated one in the same group', async () => {
      const primary = uid('model');
      const backup = uid('model');
      await w.model(primary, { provider: 'openai', providerModel: 'gpt-down' });
      await w.model(backup);
      const group = uid('group');
      await w.group(group, [primary, backup]);
      const { key } = await w.team({ groups: [group] });
      w.fake.setBehavior({ perModel: { 'gpt-down': { mode: 'status', status: 503 } } });
      const response = await client(key).responses.create({ model: group, input: 'fallback' });
      expect(response.model).toBe(backup);
      expect(response.output_text).toBe(`Fake answer from ${backup} to: fallback`);
      expect(w.fake.requests.map((r) => r.path)).toEqual(['/v1/responses', '/v1/chat/completions']);
    });
  });

  describe('refusals', () => {
    it('400 for previous_response_id, conversation and background; 404 for GET /v1/responses/{id}', async () => {
      const { model, sdk } = await setup();
      const prev = await thrown(
        sdk.responses.create({ model, input: 'x', previous_response_id: 'resp_123' }),
      );
      expect(prev).toBeInstanceOf(OpenAI.BadRequestError);
      expect(prev.param).toBe('previous_response_id');
      expect(prev.type).toBe('invalid_request_error');
      expect(prev.message).toMatch(/stores no responses/);
      const conv = await thrown(
        sdk.responses.create({ model, input: 'x', conversation: 'conv_1' }),
      );
      expect(conv.param).toBe('conversation');
      const bg = await thrown(sdk.responses.create({ model, input: 'x', background: true }));
      expect(bg.param).toBe('background');
      const get = await thrown(sdk.responses.retrieve('resp_123'));
      expect(get).toBeInstanceOf(OpenAI.NotFoundError);
      expect(get.message).toMatch(/not stored/);
      expect(w.fake.requests).toHaveLength(0);
    });

    it('400 naming the param for a malformed body', async () => {
      const { model, sdk } = await setup();
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ model }, 'input'],
        [{ input: 'x' }, 'model'],
        [{ model, input: 'x', temperature: '1' }, 'temperature'],
        [{ model, input: [{ role: 'wizard', content: 'x' }] }, 'input[0].role'],
        [{ model, input: [{ type: 'function_call_output', output: 'x' }] }, 'input[0].call_id'],
      ];
      for (const [body, param] of cases) {
        const err = await thrown(
          sdk.responses.create(
            body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming,
          ),
        );
        expect(err).toBeInstanceOf(OpenAI.BadRequestError);
        expect(err.param).toBe(param);
      }
      expect(w.fake.requests).toHaveLength(0);
    });

    it('403 with no credits or for a model outside the key, 404 for an unknown model: no upstream call, no charge', async () => {
      const { model, sdk, teamId } = await setup({}, 0);
      const broke = await thrown(sdk.responses.create({ model, input: 'x' }));
      expect(broke).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(broke.code).toBe('insufficient_quota');
      const brokeStream = await thrown(sdk.responses.create({ model, input: 'x', stream: true }));
      expect(brokeStream).toBeInstanceOf(OpenAI.PermissionDeniedError);
      const other = await w.modelInGroup({ provider: 'openai' });
      const denied = await thrown(sdk.responses.create({ model: other.model, input: 'x' }));
      expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(denied.param).toBe('model');
      const missing = await thrown(sdk.responses.create({ model: uid('nope'), input: 'x' }));
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
      expect(missing.code).toBe('model_not_found');
      expect(w.fake.requests).toHaveLength(0);
      expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 0, ledger_sum: 0 });
    });

    it('429 with Retry-After over the team rate limit, before any upstream call', async () => {
      const { model, group } = await w.modelInGroup({ provider: 'openai' });
      const { key } = await w.team({ groups: [group], rpm_limit: 1 });
      await client(key).responses.create({ model, input: 'first' });
      const err = await thrown(
        client(key).responses.create({ model, input: 'second', stream: true }),
      );
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.code).toBe('rate_limit_exceeded');
      expect(Number(err.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(w.fake.requests).toHaveLength(1);
    });

    it('no client can set the internal pass-through body on the job routes or chat', async () => {
      const { model, key } = await setup({ provider: 'openai' });
      const passthrough = { api: 'responses', body: { model, input: 'smuggled' } };
      const job = await w.gw('POST', '/api/jobs/create-and-call', key, {
        job_type: 'x',
        model,
        messages: [{ role: 'user', content: 'hi' }],
        passthrough,
      });
      expect(job.status).toBe(400);
      expect(job.body.detail).toMatch(/passthrough/);
      await client(key).chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'hi' }],
        ...({ passthrough } as object),
      });
      expect(w.fake.requests.map((r) => r.path)).toEqual(['/v1/chat/completions']);
    });

    it('401 in OpenAI shape without a valid key; the route is documented', async () => {
      const raw = await call(w.gateway.url, 'POST', '/v1/responses', {
        body: { model: 'x', input: 'y' },
      });
      expect(raw.status).toBe(401);
      expect(raw.body.error).toMatchObject({ code: 'invalid_api_key' });
      const doc = await call(w.gateway.url, 'GET', '/docs-json');
      const paths = doc.body.paths as Record<string, Record<string, Record<string, unknown>>>;
      expect(paths['/v1/responses'].post).toMatchObject({
        tags: ['OpenAI-compatible'],
        security: [{ 'virtual-key': [] }],
      });
      expect(paths['/v1/responses/{response_id}'].get).toBeDefined();
    });
  });

  describe('billing', () => {
    it('joins the job named by X-Job-Id', async () => {
      const { model, key, sdk } = await setup();
      const jobId = (await w.gw('POST', '/api/jobs/create', key, { job_type: 'agent' })).body
        .job_id as string;
      await sdk.responses.create({ model, input: 'one' }, { headers: { 'X-Job-Id': jobId } });
      const stream = await sdk.responses.create(
        { model, input: 'two', stream: true },
        { headers: { 'X-Job-Id': jobId } },
      );
      for await (const _ of stream) void _;
      const costs = await w.gw('GET', `/api/jobs/${jobId}/costs`, key);
      expect(costs.body.costs).toMatchObject({ total_calls: 2, successful_calls: 2 });
      expect(costs.body.status).not.toMatch(/completed|failed/);
    });

    it('a race on a small balance: exactly what it pays for succeeds, and the ledger sums', async () => {
      const { model, group } = await w.modelInGroup({ provider: 'openai' });
      const { teamId, key } = await w.team({ groups: [group], credits: 7 });
      const sdk = client(key);
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          i % 2 === 0
            ? sdk.responses.create({ model, input: `race ${i}` })
            : sdk.responses.stream({ model, input: `race ${i}` }).finalResponse(),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter(
        (r) => r.status === 'rejected' && r.reason instanceof OpenAI.PermissionDeniedError,
      );
      expect(ok).toHaveLength(7);
      expect(refused).toHaveLength(23);
      expect(await w.settled(teamId)).toEqual({
        allocated: 7,
        used: 7,
        held: 0,
        ledger_sum: 0,
        holds: 0,
      });
      const jobs = await w.pg.query(
        `SELECT count(*) FILTER (WHERE status = 'completed')::int AS completed,
                (SELECT count(*)::int FROM llm_calls WHERE team_id = $1) AS calls
           FROM jobs WHERE team_id = $1 AND job_type = 'responses'`,
        [teamId],
      );
      expect(jobs.rows[0]).toEqual({ completed: 7, calls: 7 });
      expect(w.fake.requests).toHaveLength(7);
    });

    it.each([
      ['translated', {}],
      ['passed through', { provider: 'openai' as const }],
    ])('bills a %s stream the client aborts mid-way for what was generated', async (_, spec) => {
      const { model, key, teamId } = await setup(spec);
      w.fake.setBehavior({
        mode: 'slow',
        chunks: 20,
        chunkDelayMs: 50,
        delayMs: 0,
        content: 'x'.repeat(400),
      });
      const res = await postSse(w.gateway.url, '/v1/responses', key, {
        model,
        input: 'long answer',
        stream: true,
      });
      expect(res.status).toBe(200);
      const jobId = res.headers.get('x-job-id')!;
      let deltas = 0;
      while (deltas < 3) {
        const next = await res.events.next();
        if (next.done) throw new Error('stream ended early');
        if (next.value.json?.type === 'response.output_text.delta') deltas += 1;
      }
      res.abort();
      await eventually(() => Promise.resolve(w.fake.closedByClient === 1), 3000);
      const row = await billed(jobId, teamId);
      expect(row).toMatchObject({ status: 'aborted', streamed: true, job_status: 'completed' });
      expect(row.completion_tokens).toBeGreaterThan(0);
      expect(row.completion_tokens).toBeLessThan(100);
      expect(row.credits_charged).toBe(row.total_tokens);
    });

    it('ends a stream that fails after its first byte with error and response.failed, billed', async () => {
      const { model, key, teamId } = await setup();
      w.fake.setBehavior({ mode: 'drop', chunks: 6, dropAfterChunks: 2 });
      const res = await postSse(w.gateway.url, '/v1/responses', key, {
        model,
        input: 'drop',
        stream: true,
      });
      expect(res.status).toBe(200);
      const events = [];
      for await (const e of res.events) events.push(e.json);
      const types = events.map((e) => e.type);
      expect(types.slice(-2)).toEqual(['error', 'response.failed']);
      expect(events.at(-1).response).toMatchObject({
        status: 'failed',
        error: { code: 'server_error' },
      });
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      const row = await billed(res.headers.get('x-job-id')!, teamId);
      expect(row).toMatchObject({ status: 'error', job_status: 'failed' });
      expect(row.credits_charged).toBe(row.total_tokens);
    });
  });
});
