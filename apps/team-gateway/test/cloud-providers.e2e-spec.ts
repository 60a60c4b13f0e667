import { FAKE_AZURE_KEY } from '../../../test/fake-upstream/azure';
import { FAKE_AWS } from '../../../test/fake-upstream/bedrock';
import { FAKE_GEMINI_KEY } from '../../../test/fake-upstream/gemini';
import { FakeUpstream, startFakeUpstream } from '../../../test/fake-upstream/server';
import { AnthropicAdapter } from '../src/providers/anthropic.adapter';
import { AzureOpenAiAdapter } from '../src/providers/azure-openai.adapter';
import { BedrockAdapter } from '../src/providers/bedrock.adapter';
import { GeminiAdapter } from '../src/providers/gemini.adapter';
import { OpenAiAdapter } from '../src/providers/openai.adapter';
import type {
  ChatRequest,
  ProviderAdapter,
  ProviderTarget,
  StreamChunk,
  Usage,
} from '../src/providers/provider.types';
import { UpstreamError } from '../src/providers/provider.types';
import { UpstreamHttp } from '../src/providers/upstream-http';

/**
 * Azure OpenAI, Gemini and Bedrock adapters over real HTTP against the fake upstream, which
 * speaks each wire format (Bedrock's binary event stream included) and checks each credential as
 * the real service does: Azure's api-key and api-version, Gemini's x-goog-api-key, Bedrock's
 * SigV4 signature recomputed with the known secret. Plus the token details of every adapter.
 */

const TEXT = 'The quick brown fox jumps over the lazy dog, twice over.';
const hello: ChatRequest = {
  model: 'public-name',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Say hello' },
  ],
};
const withTools: ChatRequest = {
  ...hello,
  tools: [
    {
      type: 'function',
      function: {
        name: 'greet',
        description: 'Greets someone',
        parameters: {
          type: 'object',
          properties: { query: { type: 'string' } },
          additionalProperties: false,
        },
      },
    },
  ],
  tool_choice: { type: 'function', function: { name: 'greet' } },
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

const text = (chunks: StreamChunk[]) =>
  chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
const finish = (chunks: StreamChunk[]) =>
  chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason;

/** Every input token 100 (30 read from cache, 20 written to it), every output token 40 (10 reasoning). */
const COUNTS = {
  usage: { prompt_tokens: 100, completion_tokens: 40 },
  details: { cached: 30, cacheWrite: 20, reasoning: 10 },
};

interface Case {
  name: 'azure-openai' | 'gemini' | 'bedrock';
  adapter: () => ProviderAdapter;
  target: () => ProviderTarget;
  /** The same counts as the provider reports them (each reports a subset of the details). */
  usage: Usage;
  /** The target with a credential the fake refuses. */
  badCredential: () => ProviderTarget;
}

describe('cloud provider adapters against the fake upstream', () => {
  let fake: FakeUpstream;
  let http: UpstreamHttp;
  const awsKeys = JSON.stringify({
    access_key_id: FAKE_AWS.accessKeyId,
    secret_access_key: FAKE_AWS.secretAccessKey,
  });
  const azure = (): ProviderTarget => ({
    provider: 'azure-openai',
    apiBase: fake.url,
    apiKey: FAKE_AZURE_KEY,
    providerModel: 'gpt-4o-prod',
    settings: { apiVersion: '2025-04-01-preview' },
  });
  const gemini = (): ProviderTarget => ({
    provider: 'gemini',
    apiBase: fake.url,
    apiKey: FAKE_GEMINI_KEY,
    providerModel: 'gemini-2.5-flash',
  });
  const bedrock = (): ProviderTarget => ({
    provider: 'bedrock',
    apiBase: fake.url,
    apiKey: awsKeys,
    providerModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0',
    settings: { region: FAKE_AWS.region },
  });

  const cases: Case[] = [
    {
      name: 'azure-openai',
      adapter: () => new AzureOpenAiAdapter(http),
      target: azure,
      usage: {
        prompt_tokens: 100,
        completion_tokens: 40,
        total_tokens: 140,
        prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 20 },
        completion_tokens_details: { reasoning_tokens: 10 },
      },
      badCredential: () => ({ ...azure(), apiKey: 'wrong-azure-key-0000' }),
    },
    {
      name: 'gemini',
      adapter: () => new GeminiAdapter(http),
      target: gemini,
      usage: {
        prompt_tokens: 100,
        completion_tokens: 40,
        total_tokens: 140,
        prompt_tokens_details: { cached_tokens: 30 },
        completion_tokens_details: { reasoning_tokens: 10 },
      },
      badCredential: () => ({ ...gemini(), apiKey: 'AIzaWrongKey' }),
    },
    {
      name: 'bedrock',
      adapter: () => new BedrockAdapter(http),
      target: bedrock,
      usage: {
        prompt_tokens: 100,
        completion_tokens: 40,
        total_tokens: 140,
        prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 20 },
      },
      badCredential: () => ({
        ...bedrock(),
        apiKey: JSON.stringify({
          access_key_id: FAKE_AWS.accessKeyId,
          secret_access_key: 'not-the-secret',
        }),
      }),
    },
  ];

  beforeAll(async () => {
    fake = await startFakeUpstream();
    http = new UpstreamHttp({ upstream: { timeoutMs: 2000 } });
  });
  afterAll(async () => {
    await http.onApplicationShutdown();
    await fake.close();
  });
  beforeEach(() => fake.reset());

  describe.each(cases)('$name', ({ name, adapter, target, usage, badCredential }) => {
    it('completes, with the exact usage and its token details', async () => {
      fake.setBehavior({ content: TEXT, ...COUNTS });
      const result = await adapter().complete(target(), hello, signal());
      expect(result).toMatchObject({ content: TEXT, finish_reason: 'stop', usage });
      expect(result.usage_estimated).toBeUndefined();
      expect(fake.requests).toHaveLength(1);
    });

    it('streams piece by piece, ending with the same usage', async () => {
      fake.setBehavior({ content: TEXT, ...COUNTS, chunks: 6, chunkDelayMs: 40 });
      const chunks: StreamChunk[] = [];
      let finishedWhenFirstArrived: number | undefined;
      for await (const chunk of adapter().stream(target(), hello, signal())) {
        if (chunks.length === 0) finishedWhenFirstArrived = fake.requests[0].finishedAt;
        chunks.push(chunk);
      }
      expect(finishedWhenFirstArrived).toBeUndefined();
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(text(chunks)).toBe(TEXT);
      expect(finish(chunks)).toBe('stop');
      expect(chunks.filter((c) => c.choices.length > 0).length).toBeGreaterThanOrEqual(6);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage });
    });

    it('returns a tool call, plain and streamed', async () => {
      fake.setBehavior({ toolCalls: true });
      const result = await adapter().complete(target(), withTools, signal());
      expect(result.finish_reason).toBe('tool_calls');
      expect(result.content).toBeNull();
      expect(result.tool_calls).toEqual([
        {
          id: expect.any(String),
          type: 'function',
          function: { name: 'greet', arguments: '{"query":"Say hello"}' },
        },
      ]);
      const chunks = await collect(adapter().stream(target(), withTools, signal()));
      const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      expect(deltas[0]).toMatchObject({ index: 0, id: expect.any(String), type: 'function' });
      expect(deltas[0].function?.name).toBe('greet');
      expect(deltas.map((d) => d.function?.arguments ?? '').join('')).toBe('{"query":"Say hello"}');
      expect(finish(chunks)).toBe('tool_calls');
    });

    it('stops on max tokens with finish_reason length', async () => {
      const cut = await adapter().complete(target(), { ...hello, max_tokens: 3 }, signal());
      expect(cut.finish_reason).toBe('length');
      expect(cut.content).toBe('Fake answer ');
    });

    it.each([
      [429, 'rate_limited', true],
      [400, 'bad_request', false],
      [401, 'auth', false],
      [403, 'auth', false],
      [500, 'server_error', true],
      [503, 'server_error', true],
    ])('classifies its HTTP %d error body as %s', async (status, kind, retryable) => {
      fake.setBehavior({
        mode: 'status',
        status,
        retryAfter: 7,
        errorMessage: `Fake ${name} failure`,
      });
      const err = await failureOf(adapter().complete(target(), hello, signal()));
      expect(err).toMatchObject({ kind, status });
      expect(err.retryable).toBe(retryable);
      expect(err.message).toContain(`Fake ${name} failure`);
      if (status === 429) expect(err.retryAfterMs).toBe(7000);
      const streamed = await failureOf(collect(adapter().stream(target(), hello, signal())));
      expect(streamed).toMatchObject({ kind, status });
    });

    it('classifies an error in the middle of a stream and a stream cut mid-way', async () => {
      fake.setBehavior({ mode: 'stream_error', status: 429, dropAfterChunks: 2 });
      const throttled = await failureOf(collect(adapter().stream(target(), hello, signal())));
      expect(throttled.kind).toBe('rate_limited');
      fake.setBehavior({ mode: 'stream_error', status: 500, dropAfterChunks: 2 });
      const failed = await failureOf(collect(adapter().stream(target(), hello, signal())));
      expect(failed.kind).toBe('server_error');
      fake.setBehavior({ mode: 'drop', dropAfterChunks: 2 });
      const cut = await failureOf(collect(adapter().stream(target(), hello, signal())));
      expect(cut.kind).toBe('connection');
    });

    it('is refused (auth, not retried) with a credential the service does not accept', async () => {
      const err = await failureOf(adapter().complete(badCredential(), hello, signal()));
      expect(err.kind).toBe('auth');
      expect(err.retryable).toBe(false);
      const streamed = await failureOf(collect(adapter().stream(badCredential(), hello, signal())));
      expect(streamed.kind).toBe('auth');
      // never the secret in the message
      expect(err.message).not.toContain(FAKE_AZURE_KEY);
      expect(err.message).not.toContain(FAKE_AWS.secretAccessKey);
    });

    it('estimates (and flags) usage the provider leaves out', async () => {
      fake.setBehavior({ mode: 'no_usage' });
      const result = await adapter().complete(target(), hello, signal());
      expect(result.usage_estimated).toBe(true);
      expect(result.usage.prompt_tokens).toBeGreaterThan(0);
    });
  });

  describe('azure-openai wire format', () => {
    it('posts to the deployment with api-key and api-version, no model in the body', async () => {
      await new AzureOpenAiAdapter(http).complete(azure(), hello, signal());
      const [seen] = fake.requests;
      expect(seen.path).toBe('/openai/deployments/gpt-4o-prod/chat/completions');
      expect(seen.query).toEqual({ 'api-version': '2025-04-01-preview' });
      expect(seen.headers['api-key']).toBe(FAKE_AZURE_KEY);
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.body).toEqual({ messages: hello.messages });
    });

    it('uses the default api-version when the credential sets none, and asks streams for usage', async () => {
      await collect(
        new AzureOpenAiAdapter(http).stream({ ...azure(), settings: undefined }, hello, signal()),
      );
      const [seen] = fake.requests;
      expect(seen.query['api-version']).toBe('2024-10-21');
      expect(seen.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    });

    it('skips the prompt-filter chunk Azure opens a stream with', async () => {
      const chunks = await collect(new AzureOpenAiAdapter(http).stream(azure(), hello, signal()));
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(chunks.filter((c) => c.choices.length === 0 && !c.usage)).toEqual([]);
    });
  });

  describe('gemini wire format', () => {
    it('posts generateContent with x-goog-api-key, systemInstruction, contents and config', async () => {
      await new GeminiAdapter(http).complete(
        gemini(),
        { ...withTools, temperature: 0.2, max_tokens: 50, stop: 'END' },
        signal(),
      );
      const [seen] = fake.requests;
      expect(seen.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
      expect(seen.headers['x-goog-api-key']).toBe(FAKE_GEMINI_KEY);
      expect(seen.body).toEqual({
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }],
        generationConfig: { temperature: 0.2, maxOutputTokens: 50, stopSequences: ['END'] },
        tools: [
          {
            functionDeclarations: [
              {
                name: 'greet',
                description: 'Greets someone',
                parameters: { type: 'object', properties: { query: { type: 'string' } } },
              },
            ],
          },
        ],
        toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['greet'] } },
      });
    });

    it('streams through streamGenerateContent?alt=sse', async () => {
      await collect(new GeminiAdapter(http).stream(gemini(), hello, signal()));
      expect(fake.requests[0].path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
      expect(fake.requests[0].query).toEqual({ alt: 'sse' });
    });

    it('sends tool calls, tool results and images as functionCall, functionResponse and inlineData', async () => {
      await new GeminiAdapter(http).complete(
        gemini(),
        {
          ...withTools,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'What is this?' },
                { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              ],
            },
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'greet', arguments: '{"query":"x"}' },
                },
              ],
            },
            { role: 'tool', tool_call_id: 'call_1', content: '{"greeting":"hi"}' },
            { role: 'tool', tool_call_id: 'call_1', content: 'plain text' },
          ],
        },
        signal(),
      );
      expect(fake.requests[0].body.contents).toEqual([
        {
          role: 'user',
          parts: [
            { text: 'What is this?' },
            { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
          ],
        },
        { role: 'model', parts: [{ functionCall: { name: 'greet', args: { query: 'x' } } }] },
        {
          role: 'user',
          parts: [
            { functionResponse: { name: 'greet', response: { greeting: 'hi' } } },
            { functionResponse: { name: 'greet', response: { content: 'plain text' } } },
          ],
        },
      ]);
    });

    it('hands a thinking model its thoughtSignature back with the function call (Gemini 3 requires it)', async () => {
      fake.setBehavior({ toolCalls: true });
      const adapter = new GeminiAdapter(http);
      const target = { ...gemini(), providerModel: 'gemini-3-pro-preview' };
      const first = await adapter.complete(target, withTools, signal());
      const [call] = first.tool_calls!;
      const streamed = await collect(adapter.stream(target, withTools, signal()));
      const signature = call.id.split('__thought__')[1];
      expect(signature).toEqual(expect.any(String));
      const streamedId = streamed.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])[0].id;
      expect(streamedId?.endsWith(`__thought__${signature}`)).toBe(true);
      fake.setBehavior({ toolCalls: false });
      const followUp: ChatRequest = {
        ...withTools,
        tool_choice: 'auto',
        messages: [
          ...hello.messages,
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: 'Hello!' },
        ],
      };
      const second = await adapter.complete(target, followUp, signal());
      expect(second.finish_reason).toBe('stop');
      const modelTurn = fake.requests.at(-1)!.body.contents[1];
      expect(modelTurn.parts[0].thoughtSignature).toEqual(expect.any(String));
      // without the signature the fake refuses, as Gemini 3 does
      const unsigned = {
        ...followUp,
        messages: followUp.messages.map((m) =>
          m.role === 'assistant'
            ? { ...m, tool_calls: [{ ...call, id: 'call_plain' }] }
            : m.role === 'tool'
              ? { ...m, tool_call_id: 'call_plain' }
              : m,
        ),
      };
      expect((await failureOf(adapter.complete(target, unsigned, signal()))).kind).toBe(
        'bad_request',
      );
    });

    it("reads a 429's RetryInfo delay when there is no Retry-After", async () => {
      fake.setBehavior({ mode: 'status', status: 429, retryAfter: 13 });
      const err = await failureOf(new GeminiAdapter(http).complete(gemini(), hello, signal()));
      expect(err).toMatchObject({ kind: 'rate_limited', retryAfterMs: 13_000 });
    });
  });

  describe('bedrock wire format', () => {
    it('signs Converse with SigV4 (checked by the fake) and maps system, messages and config', async () => {
      await new BedrockAdapter(http).complete(
        bedrock(),
        { ...withTools, temperature: 0.5 },
        signal(),
      );
      const [seen] = fake.requests;
      expect(seen.path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
      expect(String(seen.headers.authorization)).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${FAKE_AWS.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`,
        ),
      );
      expect(seen.headers['x-amz-security-token']).toBeUndefined();
      expect(seen.body).toEqual({
        system: [{ text: 'Be brief.' }],
        messages: [{ role: 'user', content: [{ text: 'Say hello' }] }],
        inferenceConfig: { maxTokens: 4096, temperature: 0.5 },
        toolConfig: {
          tools: [
            {
              toolSpec: {
                name: 'greet',
                description: 'Greets someone',
                inputSchema: { json: withTools.tools![0].function.parameters },
              },
            },
          ],
          toolChoice: { tool: { name: 'greet' } },
        },
      });
    });

    it('signs temporary credentials with their session token', async () => {
      const keys = {
        access_key_id: FAKE_AWS.accessKeyId,
        secret_access_key: FAKE_AWS.secretAccessKey,
        session_token: FAKE_AWS.sessionToken,
      };
      const target = { ...bedrock(), apiKey: JSON.stringify(keys) };
      const result = await new BedrockAdapter(http).complete(target, hello, signal());
      expect(result.finish_reason).toBe('stop');
      expect(fake.requests[0].headers['x-amz-security-token']).toBe(FAKE_AWS.sessionToken);
      const wrong = { ...bedrock(), apiKey: JSON.stringify({ ...keys, session_token: 'other' }) };
      expect(
        (await failureOf(new BedrockAdapter(http).complete(wrong, hello, signal()))).kind,
      ).toBe('auth');
    });

    it('a signature for another region is refused', async () => {
      const other = { ...bedrock(), settings: { region: 'eu-west-1' } };
      const err = await failureOf(new BedrockAdapter(http).complete(other, hello, signal()));
      expect(err).toMatchObject({ kind: 'auth', status: 403 });
      expect(err.message).toContain('InvalidSignatureException');
    });

    it('streams ConverseStream event frames', async () => {
      await collect(new BedrockAdapter(http).stream(bedrock(), hello, signal()));
      expect(fake.requests[0].path).toBe(
        '/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream',
      );
      expect(fake.requests[0].headers.accept).toBe('application/vnd.amazon.eventstream');
    });

    it('sends tool use, tool results and images as toolUse, toolResult and image blocks', async () => {
      await new BedrockAdapter(http).complete(
        bedrock(),
        {
          ...withTools,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'What is this?' },
                { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
              ],
            },
            {
              role: 'assistant',
              content: 'Let me check.',
              tool_calls: [
                {
                  id: 'tu_1',
                  type: 'function',
                  function: { name: 'greet', arguments: '{"query":"x"}' },
                },
              ],
            },
            { role: 'tool', tool_call_id: 'tu_1', content: '{"greeting":"hi"}' },
          ],
        },
        signal(),
      );
      expect(fake.requests[0].body.messages).toEqual([
        {
          role: 'user',
          content: [
            { text: 'What is this?' },
            { image: { format: 'jpeg', source: { bytes: '/9j/4AAQ' } } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { text: 'Let me check.' },
            { toolUse: { toolUseId: 'tu_1', name: 'greet', input: { query: 'x' } } },
          ],
        },
        {
          role: 'user',
          content: [{ toolResult: { toolUseId: 'tu_1', content: [{ json: { greeting: 'hi' } }] } }],
        },
      ]);
    });
  });

  describe('token details of the existing adapters', () => {
    it('openai: cached and reasoning tokens from the details, plain and streamed', async () => {
      const oa: ProviderTarget = {
        provider: 'openai-compatible',
        apiBase: `${fake.url}/v1`,
        apiKey: 'sk-details-0123456789',
        providerModel: 'gpt-fake',
      };
      fake.setBehavior({ content: TEXT, ...COUNTS });
      const expected = {
        prompt_tokens: 100,
        completion_tokens: 40,
        total_tokens: 140,
        prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 20 },
        completion_tokens_details: { reasoning_tokens: 10 },
      };
      const openai = new OpenAiAdapter(http);
      expect((await openai.complete(oa, hello, signal())).usage).toEqual(expected);
      expect((await collect(openai.stream(oa, hello, signal()))).at(-1)?.usage).toEqual(expected);
    });

    it('anthropic: cache reads and writes added into prompt_tokens, plain and streamed', async () => {
      const an: ProviderTarget = {
        provider: 'anthropic',
        apiBase: fake.url,
        apiKey: 'sk-ant-details-0123456789',
        providerModel: 'claude-fake',
      };
      fake.setBehavior({ content: TEXT, ...COUNTS });
      const expected = {
        prompt_tokens: 100,
        completion_tokens: 40,
        total_tokens: 140,
        prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 20 },
      };
      const anthropic = new AnthropicAdapter(http);
      expect((await anthropic.complete(an, hello, signal())).usage).toEqual(expected);
      const chunks = await collect(anthropic.stream(an, hello, signal()));
      expect(chunks.at(-1)?.usage).toEqual(expected);
      // the prompt side is known from message_start, before any output
      expect(chunks[0].usage).toMatchObject({
        prompt_tokens: 100,
        prompt_tokens_details: { cached_tokens: 30, cache_write_tokens: 20 },
      });
    });
  });
});
