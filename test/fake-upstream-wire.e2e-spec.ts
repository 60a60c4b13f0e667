import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  ThrottlingException,
} from '@aws-sdk/client-bedrock-runtime';
import { GoogleGenAI } from '@google/genai';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AzureOpenAI } from 'openai';
import { FAKE_AZURE_KEY } from './fake-upstream/azure';
import { FAKE_AWS } from './fake-upstream/bedrock';
import { FAKE_GEMINI_KEY } from './fake-upstream/gemini';
import { FakeUpstream, startFakeUpstream } from './fake-upstream/server';

/**
 * The fake upstream's Azure OpenAI, Gemini and Bedrock dialects are only as good as their
 * likeness to the real services: here the providers' own SDKs (openai's AzureOpenAI,
 * @google/genai, @aws-sdk/client-bedrock-runtime) talk to the fake, so a framing, field or
 * signature the fake got wrong fails here. The SDK's own SigV4 signature passes the fake's check.
 */
describe("the fake upstream speaks each provider's wire format (checked with their SDKs)", () => {
  let fake: FakeUpstream;
  const TEXT = 'Answer checked by the SDK itself.';

  beforeAll(async () => {
    fake = await startFakeUpstream();
    exposeNodeFetchDispatcher();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  describe('bedrock (@aws-sdk/client-bedrock-runtime)', () => {
    const client = (secretAccessKey = FAKE_AWS.secretAccessKey) =>
      new BedrockRuntimeClient({
        region: FAKE_AWS.region,
        endpoint: fake.url,
        credentials: { accessKeyId: FAKE_AWS.accessKeyId, secretAccessKey },
        maxAttempts: 1,
        // the SDK's default for bedrock-runtime is HTTP/2, which the fake does not speak
        requestHandler: new NodeHttpHandler(),
      });
    const input = {
      modelId: 'anthropic.claude-3-haiku-20240307-v1:0',
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user' as const, content: [{ text: 'Say hello' }] }],
    };

    it('Converse: the SDK signature passes the fake, and the SDK reads the answer and usage', async () => {
      fake.setBehavior({
        content: TEXT,
        usage: { prompt_tokens: 50, completion_tokens: 9 },
        details: { cached: 20, cacheWrite: 10 },
      });
      const out = await client().send(new ConverseCommand(input));
      expect(out.output?.message?.content).toEqual([{ text: TEXT }]);
      expect(out.stopReason).toBe('end_turn');
      expect(out.usage).toMatchObject({
        inputTokens: 20,
        outputTokens: 9,
        totalTokens: 59,
        cacheReadInputTokens: 20,
        cacheWriteInputTokens: 10,
      });
      expect(fake.requests[0].path).toBe(
        '/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse',
      );
    });

    it('ConverseStream: the SDK decodes the event-stream frames (CRCs included)', async () => {
      fake.setBehavior({ content: TEXT, chunks: 4, toolCalls: false });
      const out = await client().send(new ConverseStreamCommand(input));
      const events: string[] = [];
      let text = '';
      for await (const event of out.stream!) {
        events.push(Object.keys(event).filter((k) => k !== '$unknown')[0]);
        text += event.contentBlockDelta?.delta?.text ?? '';
      }
      expect(text).toBe(TEXT);
      expect(events[0]).toBe('messageStart');
      expect(events.slice(-2)).toEqual(['messageStop', 'metadata']);
    });

    it('the SDK reads the fake errors as the real exceptions', async () => {
      fake.setBehavior({ mode: 'status', status: 429, errorMessage: 'Too many requests' });
      const err = await client()
        .send(new ConverseCommand(input))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ThrottlingException);
      fake.reset();
      const denied = await client('wrong-secret')
        .send(new ConverseCommand(input))
        .catch((e: unknown) => e as Error);
      expect((denied as Error).name).toBe('InvalidSignatureException');
    });
  });

  describe('gemini (@google/genai)', () => {
    const ai = (apiKey = FAKE_GEMINI_KEY) =>
      new GoogleGenAI({ apiKey, httpOptions: { baseUrl: fake.url } });

    it('generateContent: text, finish reason and usageMetadata', async () => {
      fake.setBehavior({
        content: TEXT,
        usage: { prompt_tokens: 40, completion_tokens: 12 },
        details: { cached: 16, reasoning: 5 },
      });
      const res = await ai().models.generateContent({
        model: 'gemini-2.5-flash',
        contents: 'Say hello',
        config: { systemInstruction: 'Be brief.' },
      });
      expect(res.text).toBe(TEXT);
      expect(res.candidates?.[0].finishReason).toBe('STOP');
      expect(res.usageMetadata).toMatchObject({
        promptTokenCount: 40,
        candidatesTokenCount: 7,
        thoughtsTokenCount: 5,
        cachedContentTokenCount: 16,
      });
      expect(fake.requests[0].headers['x-goog-api-key']).toBe(FAKE_GEMINI_KEY);
    });

    it('generateContentStream: SSE pieces and a function call', async () => {
      fake.setBehavior({ content: TEXT, chunks: 3 });
      let text = '';
      for await (const piece of await ai().models.generateContentStream({
        model: 'gemini-2.5-flash',
        contents: 'Say hello',
      })) {
        text += piece.text ?? '';
      }
      expect(text).toBe(TEXT);
      expect(fake.requests[0].query).toEqual({ alt: 'sse' });

      fake.setBehavior({ toolCalls: true });
      const call = await ai().models.generateContent({
        model: 'gemini-2.5-flash',
        contents: 'Say hello',
        config: { tools: [{ functionDeclarations: [{ name: 'greet' }] }] },
      });
      expect(call.functionCalls).toEqual([{ name: 'greet', args: { query: 'Say hello' } }]);
    });

    it('a wrong key is the 400 API_KEY_INVALID Google sends', async () => {
      const err = await ai('AIzaWrong')
        .models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' })
        .catch((e: unknown) => e as Error);
      expect(String((err as Error).message)).toMatch(/API key not valid/);
    });
  });

  describe('azure-openai (openai AzureOpenAI)', () => {
    const azure = (apiKey = FAKE_AZURE_KEY) =>
      new AzureOpenAI({
        apiKey,
        endpoint: fake.url,
        apiVersion: '2024-10-21',
        deployment: 'gpt-4o-prod',
        maxRetries: 0,
      });

    it('chat completions, plain and streamed, with usage', async () => {
      fake.setBehavior({ content: TEXT, details: { cached: 0, reasoning: 0 } });
      const res = await azure().chat.completions.create({
        model: 'ignored',
        messages: [{ role: 'user', content: 'Say hello' }],
      });
      expect(res.choices[0].message.content).toBe(TEXT);
      expect(res.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
      expect(fake.requests[0].path).toBe('/openai/deployments/gpt-4o-prod/chat/completions');
      expect(fake.requests[0].query).toEqual({ 'api-version': '2024-10-21' });

      const stream = await azure().chat.completions.create({
        model: 'ignored',
        messages: [{ role: 'user', content: 'Say hello' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let usage: unknown = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        usage = chunk.usage ?? usage;
      }
      expect(text).toBe(TEXT);
      expect(usage).toMatchObject({ prompt_tokens: expect.any(Number) });
    });

    it('a wrong key is a 401', async () => {
      const err = await azure('wrong')
        .chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e as { status?: number });
      expect((err as { status?: number }).status).toBe(401);
    });
  });
});

/**
 * @google/genai reaches Node's fetch dispatcher through a global symbol that Node sets on its
 * own global object, which Jest's sandbox does not share: copy it over (fetch's Function
 * constructor belongs to Node's realm, so it returns Node's globalThis).
 */
function exposeNodeFetchDispatcher(): void {
  const symbol = Symbol.for('undici.globalDispatcher.1');
  new Headers(); // makes Node initialise its dispatcher
  const nodeGlobal = (fetch.constructor as FunctionConstructor)('return globalThis')() as Record<
    symbol,
    unknown
  >;
  (globalThis as unknown as Record<symbol, unknown>)[symbol] ??= nodeGlobal[symbol];
}
