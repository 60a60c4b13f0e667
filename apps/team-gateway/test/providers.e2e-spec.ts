import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Test } from '@nestjs/testing';
import { TollgateConfig, TollgateConfigModule } from '../../../libs/config/src';
import { eventually } from '../../../test/helpers/http';
import { FakeUpstream, startFakeUpstream } from '../../../test/fake-upstream/server';
import { AnthropicAdapter } from '../src/providers/anthropic.adapter';
import { AzureOpenAiAdapter } from '../src/providers/azure-openai.adapter';
import { BedrockAdapter } from '../src/providers/bedrock.adapter';
import { GeminiAdapter } from '../src/providers/gemini.adapter';
import { MockAdapter } from '../src/providers/mock.adapter';
import { OpenAiAdapter } from '../src/providers/openai.adapter';
import type { ChatRequest, ProviderTarget, StreamChunk } from '../src/providers/provider.types';
import { UpstreamError } from '../src/providers/provider.types';
import { ProvidersModule } from '../src/providers/providers.module';
import { ProvidersService } from '../src/providers/providers.service';
import { UpstreamHttp } from '../src/providers/upstream-http';

/** Real HTTP on loopback against the fake upstream: no database involved. */

const KEY = 'sk-provider-e2e-0123456789abcdef';
const TIMEOUT_MS = 600;
const hello: ChatRequest = {
  model: 'public-name',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Say hello' },
  ],
};
const signal = () => new AbortController().signal;

async function collect(iterable: AsyncIterable<StreamChunk>): Promise<StreamChunk[]> {
  const out: StreamChunk[] = [];
  for await (const chunk of iterable) out.push(chunk);
  return out;
}

async function failureOf(work: Promise<unknown>): Promise<UpstreamError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof UpstreamError) return err;
    throw err;
  }
  throw new Error('expected an UpstreamError');
}

/** Waits (up to 1 s) for something the fake upstream observes asynchronously. */
const until = (check: () => boolean) => eventually(() => Promise.resolve(check()), 1000);

const text = (chunks: StreamChunk[]) =>
  chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');

describe('provider adapters against the fake upstream', () => {
  let fake: FakeUpstream;
  let http: UpstreamHttp;
  let openai: OpenAiAdapter;
  let anthropic: AnthropicAdapter;
  let oa: ProviderTarget;
  let an: ProviderTarget;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    http = new UpstreamHttp({ upstream: { timeoutMs: TIMEOUT_MS } });
    openai = new OpenAiAdapter(http);
    anthropic = new AnthropicAdapter(http);
    oa = {
      provider: 'openai-compatible',
      apiBase: `${fake.url}/v1`,
      apiKey: KEY,
      providerModel: 'gpt-fake',
    };
    an = { provider: 'anthropic', apiBase: fake.url, apiKey: KEY, providerModel: 'claude-fake' };
  });
  afterAll(async () => {
    await http.onApplicationShutdown();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  describe('openai', () => {
    it('completes, sending the deployment model and the key as Bearer', async () => {
      const result = await openai.complete(oa, hello, signal());
      expect(result).toMatchObject({
        model: 'gpt-fake',
        content: 'Fake answer from gpt-fake to: Say hello',
        finish_reason: 'stop',
      });
      // the fake counts ~4 characters a token: 19 of prompt → 5, the 39-character answer → 10
      expect(result.usage).toEqual({ prompt_tokens: 5, completion_tokens: 10, total_tokens: 15 });
      const [seen] = fake.requests;
      expect(seen.path).toBe('/v1/chat/completions');
      expect(seen.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(seen.body).toEqual({ model: 'gpt-fake', messages: hello.messages });
    });

    it('sends no Authorization header without a key', async () => {
      await openai.complete({ ...oa, apiKey: null }, hello, signal());
      expect(fake.requests[0].headers.authorization).toBeUndefined();
    });

    it('returns tool calls', async () => {
      fake.setBehavior({ toolCalls: true });
      const result = await openai.complete(
        oa,
        { ...hello, tools: [{ type: 'function', function: { name: 'greet' } }] },
        signal(),
      );
      expect(result.finish_reason).toBe('tool_calls');
      expect(result.tool_calls).toEqual([
        {
          id: expect.stringMatching(/^call_/),
          type: 'function',
          function: { name: 'greet', arguments: '{"query":"Say hello"}' },
        },
      ]);
    });

    it('streams chunk by chunk: the first chunk arrives before the upstream has finished', async () => {
      fake.setBehavior({ chunks: 8, chunkDelayMs: 60 });
      const chunks: StreamChunk[] = [];
      let firstAt = 0;
      let finishedWhenFirstArrived: number | undefined;
      for await (const chunk of openai.stream(oa, hello, signal())) {
        if (chunks.length === 0) {
          firstAt = Date.now();
          finishedWhenFirstArrived = fake.requests[0].finishedAt;
        }
        chunks.push(chunk);
      }
      expect(finishedWhenFirstArrived).toBeUndefined();
      expect(firstAt).toBeLessThan(fake.requests[0].finishedAt!);
      expect(text(chunks)).toBe('Fake answer from gpt-fake to: Say hello');
      expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe(
        'stop',
      );
      expect(chunks[chunks.length - 1].usage).toEqual({
        prompt_tokens: 5,
        completion_tokens: 10,
        total_tokens: 15,
      });
      // usage was asked upstream
      expect(fake.requests[0].body).toMatchObject({
        model: 'gpt-fake',
        stream: true,
        stream_options: { include_usage: true },
      });
    });

    it('streams tool-call deltas', async () => {
      fake.setBehavior({ toolCalls: true });
      const chunks = await collect(
        openai.stream(
          oa,
          { ...hello, tools: [{ type: 'function', function: { name: 'greet' } }] },
          signal(),
        ),
      );
      const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      expect(deltas[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'greet' } });
      expect(deltas.map((d) => d.function?.arguments ?? '').join('')).toBe('{"query":"Say hello"}');
    });

    it('ends a stream without usage when the upstream sends none', async () => {
      fake.setBehavior({ mode: 'no_usage' });
      const chunks = await collect(openai.stream(oa, hello, signal()));
      expect(text(chunks)).toBe('Fake answer from gpt-fake to: Say hello');
      expect(chunks.some((c) => c.usage)).toBe(false);
    });

    it.each([
      [429, 'rate_limited', true],
      [500, 'server_error', true],
      [503, 'server_error', true],
      [400, 'bad_request', false],
      [404, 'bad_request', false],
      [422, 'bad_request', false],
      [401, 'auth', false],
      [403, 'auth', false],
    ])('classifies HTTP %d as %s', async (status, kind, retryable) => {
      fake.setBehavior({ perModel: { 'gpt-fake': { mode: 'status', status } } });
      const err = await failureOf(openai.complete(oa, hello, signal()));
      expect(err).toMatchObject({ kind, status });
      expect(err.retryable).toBe(retryable);
      expect(err.message).toContain(`Upstream returned ${status}: Fake upstream failure`);
      const streamed = await failureOf(collect(openai.stream(oa, hello, signal())));
      expect(streamed).toMatchObject({ kind, status });
    });

    it('applies per-model behaviour only to that model', async () => {
      fake.setBehavior({ perModel: { 'bad-model': { mode: 'status', status: 500 } } });
      await expect(openai.complete(oa, hello, signal())).resolves.toMatchObject({
        finish_reason: 'stop',
      });
      const err = await failureOf(
        openai.complete({ ...oa, providerModel: 'bad-model' }, hello, signal()),
      );
      expect(err.kind).toBe('server_error');
    });

    it('classifies invalid JSON as malformed_response, plain and streamed', async () => {
      fake.setBehavior({ mode: 'malformed' });
      expect((await failureOf(openai.complete(oa, hello, signal()))).kind).toBe(
        'malformed_response',
      );
      expect((await failureOf(collect(openai.stream(oa, hello, signal())))).kind).toBe(
        'malformed_response',
      );
    });

    it('times out an upstream that never answers, and one that stalls mid-stream', async () => {
      fake.setBehavior({ mode: 'hang' });
      const started = Date.now();
      const err = await failureOf(openai.complete(oa, hello, signal()));
      expect(err.kind).toBe('timeout');
      expect(err.retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(5000);

      fake.setBehavior({ mode: 'ok', chunks: 3, chunkDelayMs: TIMEOUT_MS * 3 });
      const seen: StreamChunk[] = [];
      const stalled = await failureOf(
        (async () => {
          for await (const chunk of openai.stream(oa, hello, signal())) seen.push(chunk);
        })(),
      );
      expect(stalled.kind).toBe('timeout');
      expect(seen.length).toBeGreaterThan(0); // the first chunk came before the stall
    });

    it('classifies a refused connection and a stream dropped mid-way as connection errors', async () => {
      const port = await freePort();
      const refused = await failureOf(
        openai.complete({ ...oa, apiBase: `http://127.0.0.1:${port}/v1` }, hello, signal()),
      );
      expect(refused.kind).toBe('connection');
      expect(refused.retryable).toBe(true);

      fake.setBehavior({ mode: 'drop', dropAfterChunks: 2 });
      const seen: StreamChunk[] = [];
      const dropped = await failureOf(
        (async () => {
          for await (const chunk of openai.stream(oa, hello, signal())) seen.push(chunk);
        })(),
      );
      expect(dropped.kind).toBe('connection');
      expect(text(seen).length).toBeGreaterThan(0);
      expect(fake.closedByClient).toBe(0); // the server dropped it, not us
    });

    it('aborting closes the upstream connection, mid-stream and before headers', async () => {
      fake.setBehavior({ chunks: 50, chunkDelayMs: 100 });
      const controller = new AbortController();
      const seen: StreamChunk[] = [];
      await expect(
        (async () => {
          for await (const chunk of openai.stream(oa, hello, controller.signal)) {
            seen.push(chunk);
            if (seen.length === 2) controller.abort();
          }
        })(),
      ).rejects.toThrow();
      expect(seen).toHaveLength(2);
      await until(() => fake.closedByClient === 1);
      expect(fake.requests[0].finishedAt).toBeUndefined();

      fake.setBehavior({ mode: 'hang' });
      const early = new AbortController();
      const pending = openai.complete(oa, hello, early.signal);
      await until(() => fake.requests.length === 2);
      early.abort();
      await expect(pending).rejects.toThrow();
      await until(() => fake.closedByClient === 2);
    });

    it('a consumer that stops iterating also closes the upstream connection', async () => {
      fake.setBehavior({ chunks: 50, chunkDelayMs: 100 });
      for await (const chunk of openai.stream(oa, hello, signal())) {
        expect(chunk.object).toBe('chat.completion.chunk');
        break;
      }
      await until(() => fake.closedByClient === 1);
    });

    it('never puts the api key in an error message', async () => {
      fake.setBehavior({
        mode: 'status',
        status: 401,
        errorMessage: `Incorrect API key provided: ${KEY}`,
      });
      const err = await failureOf(openai.complete(oa, hello, signal()));
      expect(err.kind).toBe('auth');
      expect(err.message).toContain('Incorrect API key provided');
      expect(`${err.message} ${err.stack} ${JSON.stringify(err)}`).not.toContain(KEY);
      const streamed = await failureOf(collect(openai.stream(oa, hello, signal())));
      expect(`${streamed.message} ${streamed.stack}`).not.toContain(KEY);
    });

    it('refuses an openai-compatible deployment without api_base', async () => {
      const err = await failureOf(openai.complete({ ...oa, apiBase: '' }, hello, signal()));
      expect(err.kind).toBe('bad_request');
      expect(fake.requests).toHaveLength(0);
    });
  });

  describe('anthropic', () => {
    const withTools: ChatRequest = {
      ...hello,
      tools: [{ type: 'function', function: { name: 'greet', parameters: { type: 'object' } } }],
      tool_choice: 'required',
    };

    it('completes through /v1/messages with x-api-key and the version header', async () => {
      const result = await anthropic.complete(an, hello, signal());
      expect(result).toMatchObject({
        id: expect.stringMatching(/^msg_/),
        model: 'claude-fake',
        content: 'Fake answer from claude-fake to: Say hello',
        finish_reason: 'stop',
        usage: { prompt_tokens: 5, completion_tokens: 11, total_tokens: 16 },
      });
      const [seen] = fake.requests;
      expect(seen.path).toBe('/v1/messages');
      expect(seen.headers['x-api-key']).toBe(KEY);
      expect(seen.headers['anthropic-version']).toBe('2023-06-01');
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.body).toEqual({
        model: 'claude-fake',
        max_tokens: 4096,
        system: 'Be brief.',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello' }] }],
      });
    });

    it('translates tool use and max_tokens stops', async () => {
      fake.setBehavior({ toolCalls: true });
      const tool = await anthropic.complete(an, withTools, signal());
      expect(tool.finish_reason).toBe('tool_calls');
      expect(tool.content).toBeNull();
      expect(tool.tool_calls?.[0].function).toEqual({
        name: 'greet',
        arguments: '{"query":"Say hello"}',
      });
      expect(fake.requests[0].body.tool_choice).toEqual({ type: 'any' });

      const cut = await anthropic.complete(an, { ...hello, max_tokens: 3 }, signal());
      expect(cut.finish_reason).toBe('length');
      expect(cut.content).toBe('Fake answer ');
    });

    it('streams the event sequence as OpenAI chunks with a final usage chunk', async () => {
      fake.setBehavior({ chunks: 6, chunkDelayMs: 30 });
      const chunks: StreamChunk[] = [];
      let finishedWhenFirstArrived: number | undefined;
      for await (const chunk of anthropic.stream(an, hello, signal())) {
        if (chunks.length === 0) finishedWhenFirstArrived = fake.requests[0].finishedAt;
        chunks.push(chunk);
      }
      expect(finishedWhenFirstArrived).toBeUndefined();
      expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
      expect(text(chunks)).toBe('Fake answer from claude-fake to: Say hello');
      expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe(
        'stop',
      );
      expect(chunks[chunks.length - 1]).toMatchObject({
        object: 'chat.completion.chunk',
        choices: [],
        usage: { prompt_tokens: 5, completion_tokens: 11, total_tokens: 16 },
      });
      expect(fake.requests[0].body.stream).toBe(true);
    });

    it('streams tool calls as indexed deltas', async () => {
      fake.setBehavior({ toolCalls: true });
      const chunks = await collect(anthropic.stream(an, withTools, signal()));
      const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      expect(deltas[0]).toMatchObject({
        index: 0,
        id: expect.stringMatching(/^toolu_/),
        function: { name: 'greet' },
      });
      expect(deltas.map((d) => d.function?.arguments ?? '').join('')).toBe('{"query":"Say hello"}');
      expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe(
        'tool_calls',
      );
    });

    it('classifies Anthropic error bodies and a stream cut mid-way', async () => {
      fake.setBehavior({ mode: 'status', status: 429 });
      expect(await failureOf(anthropic.complete(an, hello, signal()))).toMatchObject({
        kind: 'rate_limited',
        status: 429,
      });
      fake.setBehavior({ mode: 'status', status: 529 });
      expect((await failureOf(collect(anthropic.stream(an, hello, signal())))).kind).toBe(
        'server_error',
      );
      fake.setBehavior({ mode: 'drop' });
      expect((await failureOf(collect(anthropic.stream(an, hello, signal())))).kind).toBe(
        'connection',
      );
    });
  });

  describe('ProvidersService', () => {
    it('wires one adapter per provider through the Nest module', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          TollgateConfigModule.forRoot('team-gateway', {
            upstream: { timeoutMs: TIMEOUT_MS },
          } as TollgateConfig),
          ProvidersModule,
        ],
      }).compile();
      const providers = moduleRef.get(ProvidersService);
      const kinds = (
        [
          'openai',
          'openai-compatible',
          'anthropic',
          'azure-openai',
          'gemini',
          'bedrock',
          'mock',
        ] as const
      ).map((p) => providers.adapterFor(p).constructor);
      expect(kinds).toEqual([
        OpenAiAdapter,
        OpenAiAdapter,
        AnthropicAdapter,
        AzureOpenAiAdapter,
        GeminiAdapter,
        BedrockAdapter,
        MockAdapter,
      ]);
      const mock = await providers
        .adapterFor('mock')
        .complete({ ...oa, provider: 'mock' }, hello, signal());
      expect(mock.content).toBe('Mock response to: Say hello');
      expect(fake.requests).toHaveLength(0);
      await moduleRef.close();
    });
  });
});

/** A loopback port with nothing listening on it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
