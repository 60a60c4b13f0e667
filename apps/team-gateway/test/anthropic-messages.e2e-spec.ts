import Anthropic from '@anthropic-ai/sdk';
import { createParser, EventSourceMessage } from 'eventsource-parser';
import { uid } from '../../../test/helpers/apps';
import { eventually } from '../../../test/helpers/http';
import { countTokens } from '../../../test/fake-upstream/replies';
import { ModelSpec, TeamSpec, World } from './gateway-fixtures';

interface RawEvent {
  event?: string;
  data: any;
}

/** Anthropic's Messages surface, driven by the official @anthropic-ai/sdk (as Claude Code uses it). */
describe('Anthropic Messages surface (@anthropic-ai/sdk)', () => {
  let w: World;

  beforeAll(async () => {
    w = await World.start({ UPSTREAM_TIMEOUT_MS: '5000' });
  });
  afterAll(() => w.stop());
  beforeEach(() => w.fake.reset());

  /** x-api-key (`apiKey`) or Authorization: Bearer (`authToken`), as the SDK sends them. */
  const client = (key: string, auth: 'apiKey' | 'authToken' = 'apiKey') =>
    new Anthropic({
      baseURL: w.gateway.url,
      maxRetries: 0,
      ...(auth === 'apiKey' ? { apiKey: key } : { apiKey: null, authToken: key }),
    });

  /** Exact billing: 1 credit per token (consumption_tokens), so credits = the call's tokens. */
  async function setup(team: Partial<TeamSpec> = {}, model: ModelSpec = {}) {
    const names = await w.modelInGroup(model);
    const created = await w.team({
      groups: [names.group],
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
      credits: 100_000,
      ...team,
    });
    return { ...names, ...created, sdk: client(created.key) };
  }

  const thrown = async (work: Promise<unknown>): Promise<unknown> => {
    try {
      await work;
    } catch (err) {
      return err;
    }
    throw new Error('expected the request to fail');
  };

  const post = (path: string, headers: Record<string, string>, body: unknown) =>
    fetch(w.gateway.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** A stream's named events, read off the wire. */
  async function rawEvents(res: Response, until?: (e: RawEvent) => boolean): Promise<RawEvent[]> {
    const out: RawEvent[] = [];
    const queue: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => queue.push(e) });
    const decoder = new TextDecoder();
    for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(bytes, { stream: true }));
      while (queue.length > 0) {
        const e = queue.shift()!;
        out.push({ event: e.event, data: JSON.parse(e.data) });
        if (until?.(out.at(-1)!)) return out;
      }
    }
    return out;
  }

  /** The team's one call (the journal may write it shortly after the answer). */
  async function callRow(teamId: string) {
    let rows: any[] = [];
    await eventually(async () => {
      rows = (
        await w.pg.query(
          `SELECT c.status, c.prompt_tokens, c.completion_tokens, c.total_tokens, c.streamed,
                  c.credits_charged::int AS credits_charged, c.provider, j.job_type,
                  j.status AS job_status, j.user_id
             FROM llm_calls c JOIN jobs j ON j.job_id = c.job_id WHERE c.team_id = $1`,
          [teamId],
        )
      ).rows;
      return rows.length > 0 && (rows[0].status !== 'success' || rows[0].job_status !== 'pending');
    }, 10_000);
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  /** The call row and the team's books agree: credits used = the call's tokens, ledgered. */
  async function billedExactly(teamId: string, tokens: { prompt: number; completion: number }) {
    const row = await callRow(teamId);
    expect(row).toMatchObject({
      prompt_tokens: tokens.prompt,
      completion_tokens: tokens.completion,
      total_tokens: tokens.prompt + tokens.completion,
      credits_charged: tokens.prompt + tokens.completion,
    });
    const team = await w.settled(teamId);
    expect(team).toMatchObject({ used: tokens.prompt + tokens.completion, held: 0, holds: 0 });
    expect(team.ledger_sum).toBe(team.allocated - team.used);
    return row;
  }

  describe('translated for an OpenAI-style deployment', () => {
    it('answers a Message (x-api-key), metered as a one-call `messages` job, billed exactly', async () => {
      const { model, teamId, sdk } = await setup();
      const sampling = { temperature: 0.5 }; // not in this SDK's types, still Anthropic's field
      const { data: message, response } = await sdk.messages
        .create({
          model,
          max_tokens: 200,
          system: 'Be brief',
          messages: [{ role: 'user', content: 'Say hello' }],
          ...sampling,
          stop_sequences: ['STOP'],
          metadata: { user_id: 'alice' },
        })
        .withResponse();
      const text = `Fake answer from ${model} to: Say hello`;
      const prompt = countTokens('Be brief' + 'Say hello');
      const completion = countTokens(text);
      expect(message).toEqual({
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: {
          input_tokens: prompt,
          output_tokens: completion,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
        },
      });
      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.path).toBe('/v1/chat/completions');
      expect(upstream.body).toMatchObject({
        model,
        max_tokens: 200,
        temperature: 0.5,
        stop: ['STOP'],
        user: 'alice',
        messages: [
          { role: 'system', content: 'Be brief' },
          { role: 'user', content: 'Say hello' },
        ],
      });
      const row = await billedExactly(teamId, { prompt, completion });
      expect(row).toMatchObject({
        job_type: 'messages',
        job_status: 'completed',
        user_id: 'alice',
        streamed: false,
      });
      expect(response.headers.get('x-job-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('streams Anthropic events in order; the SDK final message is the billed one', async () => {
      const { model, teamId, key } = await setup();
      const sdk = client(key, 'authToken'); // Authorization: Bearer
      const stream = sdk.messages.stream({
        model,
        max_tokens: 300,
        messages: [{ role: 'user', content: 'Stream please' }],
      });
      const types: string[] = [];
      stream.on('streamEvent', (event) => types.push(event.type));
      const final = await stream.finalMessage();
      const text = `Fake answer from ${model} to: Stream please`;
      const prompt = countTokens('Stream please');
      const completion = countTokens(text);
      expect(final).toMatchObject({
        role: 'assistant',
        model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        usage: { input_tokens: prompt, output_tokens: completion },
      });
      expect(types[0]).toBe('message_start');
      expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
      expect(types.filter((t) => t === 'content_block_start')).toHaveLength(1);
      expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(1);
      expect(w.fake.requests.at(-1)!.body.stream).toBe(true);
      const row = await billedExactly(teamId, { prompt, completion });
      expect(row).toMatchObject({ streamed: true, job_type: 'messages' });

      // on the wire: named events, each `event:` matching its data's type, ping after message_start
      const res = await post(
        '/v1/messages',
        { 'x-api-key': key },
        {
          model,
          max_tokens: 300,
          stream: true,
          messages: [{ role: 'user', content: 'Stream please' }],
        },
      );
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      const events = await rawEvents(res);
      for (const e of events) expect(e.event).toBe(e.data.type);
      expect(events.map((e) => e.event)).toEqual([
        'message_start',
        'ping',
        'content_block_start',
        ...Array(events.length - 6).fill('content_block_delta'),
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
      expect(events[0].data.message.usage.input_tokens).toBe(prompt);
      expect(events.at(-2)!.data).toMatchObject({
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: completion },
      });
    });

    it('round-trips tools: tool_use out (plain and streamed), tool_result back in', async () => {
      const { model, sdk } = await setup();
      w.fake.setBehavior({ toolCalls: true });
      const tools = [
        {
          name: 'lookup',
          description: 'Look something up',
          input_schema: {
            type: 'object' as const,
            properties: { query: { type: 'string' } },
          },
        },
      ];
      const ask = { role: 'user' as const, content: 'Find tollgates' };
      const first = await sdk.messages.create({
        model,
        max_tokens: 100,
        tools,
        tool_choice: { type: 'auto' },
        messages: [ask],
      });
      expect(first.stop_reason).toBe('tool_use');
      expect(first.content).toEqual([
        {
          type: 'tool_use',
          id: expect.any(String),
          name: 'lookup',
          input: { query: 'Find tollgates' },
        },
      ]);
      expect(w.fake.requests.at(-1)!.body).toMatchObject({
        tools: [
          {
            type: 'function',
            function: {
              name: 'lookup',
              description: 'Look something up',
              parameters: tools[0].input_schema,
            },
          },
        ],
        tool_choice: 'auto',
      });

      const streamed = await sdk.messages
        .stream({ model, max_tokens: 100, tools, tool_choice: { type: 'any' }, messages: [ask] })
        .finalMessage();
      expect(streamed.stop_reason).toBe('tool_use');
      expect(streamed.content).toEqual([
        {
          type: 'tool_use',
          id: expect.any(String),
          name: 'lookup',
          input: { query: 'Find tollgates' },
        },
      ]);
      expect(w.fake.requests.at(-1)!.body.tool_choice).toBe('required');

      w.fake.setBehavior({ toolCalls: false, content: 'There are 3.' });
      const use = first.content[0] as Anthropic.ToolUseBlock;
      const second = await sdk.messages.create({
        model,
        max_tokens: 100,
        tools,
        messages: [
          ask,
          { role: 'assistant', content: first.content },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: use.id, content: '{"count":3}' },
              { type: 'text', text: 'How many?' },
            ],
          },
        ],
      });
      expect(second.content).toEqual([{ type: 'text', text: 'There are 3.' }]);
      expect(w.fake.requests.at(-1)!.body.messages).toEqual([
        { role: 'user', content: 'Find tollgates' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: use.id,
              type: 'function',
              function: { name: 'lookup', arguments: '{"query":"Find tollgates"}' },
            },
          ],
        },
        { role: 'tool', tool_call_id: use.id, content: '{"count":3}' },
        { role: 'user', content: 'How many?' },
      ]);
    });

    it('translates system blocks and images (base64 and url); drops thinking', async () => {
      const { model, sdk } = await setup();
      await sdk.messages.create({
        model,
        max_tokens: 50,
        system: [{ type: 'text', text: 'You see images', cache_control: { type: 'ephemeral' } }],
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'image',
                source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
              },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      });
      const body = w.fake.requests.at(-1)!.body;
      expect(body.messages).toEqual([
        { role: 'system', content: 'You see images' },
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ]);
      expect(body).not.toHaveProperty('thinking');
    });

    it('takes a Claude Code request as it sends it (beta fields, system turns mid-conversation)', async () => {
      const { model, teamId, key } = await setup();
      const body = {
        model,
        max_tokens: 32000,
        stream: true,
        system: [
          { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1' },
          { type: 'text', text: 'You are a Claude agent.', cache_control: { type: 'ephemeral' } },
        ],
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: '<system-reminder>context</system-reminder>' },
              { type: 'text', text: 'say hi', cache_control: { type: 'ephemeral' } },
            ],
          },
          { role: 'system', content: 'Available agent types: claude' },
        ],
        tools: [{ name: 'Bash', description: 'Run', input_schema: { type: 'object' } }],
        metadata: { user_id: JSON.stringify({ device_id: 'd'.repeat(64), session_id: 's' }) },
        thinking: { type: 'adaptive' },
        context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
        output_config: { effort: 'high' },
      };
      const res = await post(
        '/v1/messages?beta=true',
        {
          authorization: `Bearer ${key}`,
          'anthropic-version': '2023-06-01',
          'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14',
          'anthropic-dangerous-direct-browser-access': 'true',
        },
        body,
      );
      expect(res.status).toBe(200);
      const events = await rawEvents(res);
      expect(events.at(-1)!.event).toBe('message_stop');
      const sent = w.fake.requests.at(-1)!.body;
      expect(sent.messages.map((m: { role: string }) => m.role)).toEqual([
        'system',
        'user',
        'system',
      ]);
      expect(sent).not.toHaveProperty('thinking');
      expect(sent).not.toHaveProperty('context_management');
      const row = await callRow(teamId);
      expect(row).toMatchObject({ status: 'success', streamed: true, job_type: 'messages' });
    });

    it('joins the open job named by X-Job-Id', async () => {
      const { model, key, sdk } = await setup();
      const job = await w.gw('POST', '/api/jobs/create', key, { job_type: 'agent' });
      const jobId = job.body.job_id as string;
      const { response } = await sdk.messages
        .create(
          { model, max_tokens: 50, messages: [{ role: 'user', content: 'step' }] },
          { headers: { 'X-Job-Id': jobId } },
        )
        .withResponse();
      expect(response.headers.get('x-job-id')).toBe(jobId);
      const costs = await w.gw('GET', `/api/jobs/${jobId}/costs`, key);
      expect(costs.body.costs).toMatchObject({ total_calls: 1, successful_calls: 1 });
    });
  });

  describe('count_tokens', () => {
    it('answers the gateway estimate for an OpenAI-style model: no upstream call, no charge', async () => {
      const { model, teamId, sdk } = await setup();
      const counted = await sdk.messages.countTokens({
        model,
        system: 'Be brief',
        messages: [{ role: 'user', content: 'How long is this prompt?' }],
      });
      expect(counted).toEqual({ input_tokens: countTokens('Be brief\nHow long is this prompt?') });
      expect(w.fake.requests).toHaveLength(0);
      const calls = await w.pg.query(
        'SELECT count(*)::int AS n FROM llm_calls WHERE team_id = $1',
        [teamId],
      );
      expect(calls.rows[0].n).toBe(0);
      expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 0 });
    });

    it("asks Anthropic's count_tokens for an Anthropic model, and checks model access", async () => {
      const { model, teamId, sdk } = await setup(
        {},
        { provider: 'anthropic', providerModel: 'claude-upstream' },
      );
      const body = {
        model,
        system: [
          { type: 'text' as const, text: 'sys', cache_control: { type: 'ephemeral' as const } },
        ],
        messages: [{ role: 'user' as const, content: 'Count me' }],
      };
      const counted = await sdk.messages.countTokens(body);
      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.path).toBe('/v1/messages/count_tokens');
      expect(upstream.body).toEqual({ ...body, model: 'claude-upstream' });
      expect(upstream.headers['x-api-key']).toBe(w.providerKey);
      expect(counted).toEqual({ input_tokens: countTokens('sys' + 'Count me') });
      expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 0 });

      expect(
        await thrown(sdk.messages.countTokens({ ...body, model: uid('nope') })),
      ).toBeInstanceOf(Anthropic.NotFoundError);
      const other = await w.modelInGroup();
      expect(
        await thrown(sdk.messages.countTokens({ ...body, model: other.model })),
      ).toBeInstanceOf(Anthropic.PermissionDeniedError);
      expect(
        await thrown(client('sk-' + 'x'.repeat(40)).messages.countTokens(body)),
      ).toBeInstanceOf(Anthropic.AuthenticationError);
    });
  });

  describe('auth and errors in Anthropic shape', () => {
    const hi = (model: string) => ({
      model,
      max_tokens: 20,
      messages: [{ role: 'user' as const, content: 'hi' }],
    });

    it('takes the key as x-api-key or Bearer here, and x-api-key nowhere else', async () => {
      const { model, key } = await setup();
      const headers = { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'tools-2024-04-04' };
      const viaHeader = await post(
        '/v1/messages?beta=true',
        { ...headers, 'x-api-key': key },
        hi(model),
      );
      expect(viaHeader.status).toBe(200);
      const viaBearer = await post('/v1/messages', { authorization: `Bearer ${key}` }, hi(model));
      expect(viaBearer.status).toBe(200);
      const none = await post('/v1/messages', {}, hi(model));
      expect(none.status).toBe(401);
      expect(await none.json()).toEqual({
        type: 'error',
        error: { type: 'authentication_error', message: 'Invalid or missing API key' },
        request_id: expect.any(String),
      });
      // the chat surface and the job routes read only Authorization
      const chat = await post(
        '/v1/chat/completions',
        { 'x-api-key': key },
        {
          model,
          messages: [{ role: 'user', content: 'hi' }],
        },
      );
      expect(chat.status).toBe(401);
      expect(((await chat.json()) as any).error.code).toBe('invalid_api_key');
      const job = await post('/api/jobs/create', { 'x-api-key': key }, { job_type: 'x' });
      expect(job.status).toBe(401);
      const credits = await fetch(`${w.gateway.url}/api/credits/balance`, {
        headers: { 'x-api-key': key },
      });
      expect(credits.status).toBe(401);
      expect(w.fake.requests).toHaveLength(2);
    });

    it('raises the SDK error classes; refused calls reach no upstream and cost nothing', async () => {
      const { model, teamId, key, sdk } = await setup({ rpm_limit: 1 });
      const other = await w.modelInGroup();
      const cases: Array<[() => Promise<unknown>, unknown, number, string]> = [
        [
          () => client('sk-' + 'y'.repeat(40)).messages.create(hi(model)),
          Anthropic.AuthenticationError,
          401,
          'authentication_error',
        ],
        [
          () => sdk.messages.create(hi(other.model)),
          Anthropic.PermissionDeniedError,
          403,
          'permission_error',
        ],
        [
          () => sdk.messages.create(hi(uid('missing'))),
          Anthropic.NotFoundError,
          404,
          'not_found_error',
        ],
        [
          () => sdk.messages.create({ model, messages: [{ role: 'user', content: 'x' }] } as never),
          Anthropic.BadRequestError,
          400,
          'invalid_request_error',
        ],
        [
          () =>
            sdk.messages.create({
              ...hi(model),
              messages: [{ role: 'bot', content: 'x' }],
            } as never),
          Anthropic.BadRequestError,
          400,
          'invalid_request_error',
        ],
      ];
      for (const [work, cls, status, type] of cases) {
        const err = (await thrown(work())) as InstanceType<typeof Anthropic.APIError>;
        expect(err).toBeInstanceOf(cls);
        expect(err.status).toBe(status);
        expect(err.error).toMatchObject({ type: 'error', error: { type } });
      }
      const missing = (await thrown(
        sdk.messages.create({ model, messages: [{ role: 'user', content: 'x' }] } as never),
      )) as InstanceType<typeof Anthropic.APIError>;
      expect((missing.error as any).error.message).toContain('max_tokens');

      const badJson = await post('/v1/messages', { 'x-api-key': key }, '{"model": ');
      expect(badJson.status).toBe(400);
      expect(((await badJson.json()) as any).error.type).toBe('invalid_request_error');
      const streamed = await post(
        '/v1/messages',
        { 'x-api-key': key },
        { ...hi(other.model), stream: true },
      );
      expect(streamed.status).toBe(403);
      expect(((await streamed.json()) as any).error.type).toBe('permission_error');

      // rpm 1: the first call passes, the next is rate limited
      await sdk.messages.create(hi(model));
      const limited = (await thrown(sdk.messages.create(hi(model)))) as InstanceType<
        typeof Anthropic.APIError
      >;
      expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
      expect(limited.headers?.get('retry-after')).toBeTruthy();
      expect(w.fake.requests).toHaveLength(1);
      const team = await w.settled(teamId);
      const calls = await w.pg.query(
        'SELECT count(*)::int AS n FROM llm_calls WHERE team_id = $1',
        [teamId],
      );
      expect(calls.rows[0].n).toBe(1);
      expect(team.ledger_sum).toBe(team.allocated - team.used);
    });

    it('insufficient credits is a permission_error with no upstream call', async () => {
      const { model, teamId, sdk } = await setup({ budget_mode: 'job_based', credits: 0 });
      const err = await thrown(sdk.messages.create(hi(model)));
      expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
      expect(w.fake.requests).toHaveLength(0);
      expect(await w.team_row(teamId)).toMatchObject({ used: 0, held: 0, holds: 0 });
    });

    it('an upstream failure before the first byte is an api_error; after it, an error event', async () => {
      const { model, key, sdk } = await setup();
      w.fake.setBehavior({ mode: 'status', status: 500 });
      const err = (await thrown(sdk.messages.create(hi(model)))) as InstanceType<
        typeof Anthropic.APIError
      >;
      expect(err).toBeInstanceOf(Anthropic.InternalServerError);
      expect(err.status).toBe(502);
      expect(err.error).toMatchObject({ type: 'error', error: { type: 'api_error' } });

      w.fake.setBehavior({ mode: 'drop', chunks: 6, dropAfterChunks: 2 });
      const res = await post('/v1/messages', { 'x-api-key': key }, { ...hi(model), stream: true });
      expect(res.status).toBe(200);
      const events = await rawEvents(res);
      expect(events[0].event).toBe('message_start');
      expect(events.at(-1)).toEqual({
        event: 'error',
        data: { type: 'error', error: { type: 'api_error', message: expect.any(String) } },
      });
      const sdkErr = await thrown(sdk.messages.stream({ ...hi(model) }).finalMessage());
      expect(sdkErr).toBeInstanceOf(Anthropic.APIError);
    });
  });

  describe('exact billing under pressure', () => {
    it('many concurrent calls on a small balance: exactly what it pays for succeeds', async () => {
      const { model, teamId, sdk } = await setup({ budget_mode: 'job_based', credits: 5 });
      const results = await Promise.allSettled(
        Array.from({ length: 25 }, (_, i) =>
          sdk.messages.create({
            model,
            max_tokens: 20,
            messages: [{ role: 'user', content: `race ${i}` }],
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      expect(ok).toHaveLength(5);
      for (const r of refused) {
        expect(r.reason).toBeInstanceOf(Anthropic.PermissionDeniedError);
      }
      expect(await w.settled(teamId)).toEqual({
        allocated: 5,
        used: 5,
        held: 0,
        ledger_sum: 0,
        holds: 0,
      });
      const calls = await w.pg.query(
        `SELECT count(*)::int AS n FROM llm_calls WHERE team_id = $1 AND status = 'success'`,
        [teamId],
      );
      expect(calls.rows[0].n).toBe(5);
      expect(w.fake.requests).toHaveLength(5);
    });

    it('a stream aborted mid-way is recorded as aborted and billed for what was generated', async () => {
      const { model, teamId, key } = await setup();
      w.fake.setBehavior({
        mode: 'slow',
        content: 'A long answer that arrives piece by piece from the fake upstream, slowly.',
        chunks: 20,
        chunkDelayMs: 50,
        delayMs: 0,
      });
      const controller = new AbortController();
      const res = await fetch(`${w.gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({
          model,
          max_tokens: 500,
          stream: true,
          messages: [{ role: 'user', content: 'Tell me slowly' }],
        }),
        signal: controller.signal,
      });
      let deltas = 0;
      await rawEvents(res, (e) => e.event === 'content_block_delta' && ++deltas === 3);
      controller.abort();
      await eventually(() => Promise.resolve(w.fake.closedByClient === 1), 5000);
      const row = await callRow(teamId);
      expect(row).toMatchObject({ status: 'aborted', streamed: true });
      expect(row.completion_tokens).toBeGreaterThan(0);
      expect(row.credits_charged).toBe(row.total_tokens);
      const team = await w.settled(teamId);
      expect(team).toMatchObject({ used: row.total_tokens, held: 0, holds: 0 });
      expect(team.ledger_sum).toBe(team.allocated - team.used);
    });
  });

  describe('pass-through to an Anthropic deployment', () => {
    const anthropic = { provider: 'anthropic' as const, providerModel: 'claude-upstream' };

    it("sends the client's body as it came (model replaced) and returns Anthropic's answer", async () => {
      const { model, teamId, key } = await setup({}, anthropic);
      w.fake.setBehavior({ anthropicCache: { read: 100, write: 20 } });
      const body = {
        model,
        max_tokens: 300,
        system: [{ type: 'text', text: 'Cached system', cache_control: { type: 'ephemeral' } }],
        thinking: { type: 'enabled', budget_tokens: 1024 },
        metadata: { user_id: 'bob' },
        some_future_field: { nested: [1, 'two', { three: true }] },
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Hello there', cache_control: { type: 'ephemeral' } },
              { type: 'future_block', payload: 'kept' },
            ],
          },
        ],
      };
      const res = await post('/v1/messages', { 'x-api-key': key, 'anthropic-beta': 'b-1' }, body);
      expect(res.status).toBe(200);
      const message = await res.json();
      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.path).toBe('/v1/messages');
      expect(upstream.body).toEqual({ ...body, model: 'claude-upstream' });
      expect(upstream.headers['anthropic-beta']).toBe('b-1');
      expect(upstream.headers['x-api-key']).toBe(w.providerKey);
      const text = 'Fake answer from claude-upstream to: Hello there';
      const prompt = countTokens('Cached system' + 'Hello there');
      const completion = countTokens(text);
      expect(message).toEqual({
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: {
          input_tokens: prompt,
          output_tokens: completion,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: 20,
        },
      });
      // metered on everything the model read: input + cache reads + cache writes
      const row = await billedExactly(teamId, { prompt: prompt + 120, completion });
      expect(row).toMatchObject({ provider: 'anthropic', job_type: 'messages', user_id: 'bob' });
    });

    it('is for /v1/messages only: a `passthrough` field sent elsewhere is refused or dropped', async () => {
      const { model, key } = await setup({}, anthropic);
      const passthrough = { anthropic: { smuggled: true, messages: [] } };
      const job = await w.gw('POST', '/api/jobs/create-and-call', key, {
        job_type: 'x',
        model,
        messages: [{ role: 'user', content: 'hi' }],
        passthrough,
      });
      expect(job.status).toBe(400);
      const chat = await w.gw('POST', '/v1/chat/completions', key, {
        model,
        messages: [{ role: 'user', content: 'hi' }],
        passthrough,
      });
      expect(chat.status).toBe(200);
      expect(w.fake.requests).toHaveLength(1);
      expect(w.fake.requests[0].body).not.toHaveProperty('smuggled');
      expect(w.fake.requests[0].body.messages).toEqual([
        { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      ]);
    });

    it("streams Anthropic's own events (model renamed) and bills their usage", async () => {
      const { model, teamId, key } = await setup({}, anthropic);
      w.fake.setBehavior({ toolCalls: true });
      const body = {
        model,
        max_tokens: 300,
        stream: true,
        tools: [
          {
            name: 'lookup',
            input_schema: { type: 'object' },
            cache_control: { type: 'ephemeral' },
          },
        ],
        messages: [{ role: 'user', content: 'Find it' }],
        unknown_knob: 7,
      };
      const res = await post('/v1/messages', { authorization: `Bearer ${key}` }, body);
      const events = await rawEvents(res);
      const upstream = w.fake.requests.at(-1)!;
      expect(upstream.body).toEqual({ ...body, model: 'claude-upstream' });
      // exactly the fake's events, ping and content_block_stop included
      expect(events.map((e) => e.event)).toEqual([
        'message_start',
        'content_block_start',
        ...Array(events.length - 5).fill('content_block_delta'),
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
      expect(events[0].data.message.model).toBe(model);
      expect(events[1].data.content_block).toMatchObject({ type: 'tool_use', name: 'lookup' });
      const args = events
        .filter((e) => e.event === 'content_block_delta')
        .map((e) => e.data.delta.partial_json as string)
        .join('');
      expect(JSON.parse(args)).toEqual({ query: 'Find it' });
      const prompt = countTokens('Find it');
      const completion = countTokens('lookup' + args);
      expect(events.at(-2)!.data.usage).toEqual({ output_tokens: completion });
      const row = await billedExactly(teamId, { prompt, completion });
      expect(row).toMatchObject({ streamed: true, provider: 'anthropic' });

      // and the SDK reads it as a final message
      const final = await client(key)
        .messages.stream(body as unknown as Anthropic.MessageStreamParams)
        .finalMessage();
      expect(final.content[0]).toMatchObject({ type: 'tool_use', input: { query: 'Find it' } });
    });
  });
});
