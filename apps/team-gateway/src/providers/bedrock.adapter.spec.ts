import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { StreamMeter } from '../streaming/stream-meter';
import {
  bedrockEndpoint,
  bedrockErrorKind,
  bedrockStatusError,
  BedrockStreamTranslator,
  FrameSplitter,
  fromConverseResponse,
  mapStopReason,
  parseAwsKeys,
  toConverseRequest,
} from './bedrock.adapter';
import type { ChatRequest, StreamChunk } from './provider.types';

const request: ChatRequest = { model: 'x', messages: [{ role: 'user', content: 'Hi' }] };
const codec = new EventStreamCodec(toUtf8, fromUtf8);
const frame = (type: string, payload: object, messageType = 'event') =>
  codec.encode({
    headers: {
      [messageType === 'event' ? ':event-type' : ':exception-type']: {
        type: 'string',
        value: type,
      },
      ':message-type': { type: 'string', value: messageType },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });

describe('toConverseRequest', () => {
  it('maps system, messages, inference config, tools and every tool_choice', () => {
    const tools: ChatRequest['tools'] = [{ type: 'function', function: { name: 'f' } }];
    const body = toConverseRequest({
      model: 'x',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
        { role: 'user', content: 'Again' },
      ],
      temperature: 1.7,
      top_p: 0.5,
      stop: 'END',
      tools,
      tool_choice: 'required',
    });
    expect(body).toEqual({
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ text: 'Hello' }, { text: 'Again' }] }],
      inferenceConfig: { maxTokens: 4096, temperature: 1, topP: 0.5, stopSequences: ['END'] },
      toolConfig: {
        tools: [
          { toolSpec: { name: 'f', inputSchema: { json: { type: 'object', properties: {} } } } },
        ],
        toolChoice: { any: {} },
      },
    });
    const choice = (tool_choice: ChatRequest['tool_choice']) =>
      (toConverseRequest({ ...request, tools, tool_choice }).toolConfig as { toolChoice?: unknown })
        .toolChoice;
    expect(choice('auto')).toEqual({ auto: {} });
    expect(choice('none')).toBeUndefined();
    expect(choice({ type: 'function', function: { name: 'f' } })).toEqual({ tool: { name: 'f' } });
  });

  it('asks for JSON through the system prompt, and refuses non-data image URLs', () => {
    expect(
      toConverseRequest({ ...request, response_format: { type: 'json_object' } }).system,
    ).toEqual([{ text: 'Respond only with a valid JSON object.' }]);
    expect(() =>
      toConverseRequest({
        model: 'x',
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'https://e.com/a.png' } }],
          },
        ],
      }),
    ).toThrow(expect.objectContaining({ kind: 'bad_request' }));
  });
});

describe('fromConverseResponse', () => {
  it('maps text, toolUse, stop reason and usage with cache reads and writes added in', () => {
    const result = fromConverseResponse(
      {
        output: {
          message: {
            role: 'assistant',
            content: [
              { text: 'Sure.' },
              { toolUse: { toolUseId: 'tu1', name: 'f', input: { a: 1 } } },
            ],
          },
        },
        stopReason: 'tool_use',
        usage: {
          inputTokens: 10,
          outputTokens: 5,
          totalTokens: 1315,
          cacheReadInputTokens: 1000,
          cacheWriteInputTokens: 300,
        },
      },
      request,
      'nova',
    );
    expect(result).toMatchObject({
      model: 'nova',
      content: 'Sure.',
      finish_reason: 'tool_calls',
      tool_calls: [{ id: 'tu1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      usage: {
        prompt_tokens: 1310,
        completion_tokens: 5,
        total_tokens: 1315,
        prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 300 },
      },
    });
    expect(result.usage_estimated).toBeUndefined();
  });

  it('maps every stop reason and rejects an answer without a message', () => {
    expect(mapStopReason('end_turn')).toBe('stop');
    expect(mapStopReason('stop_sequence')).toBe('stop');
    expect(mapStopReason('max_tokens')).toBe('length');
    expect(mapStopReason('tool_use')).toBe('tool_calls');
    expect(mapStopReason('guardrail_intervened')).toBe('content_filter');
    expect(mapStopReason('content_filtered')).toBe('content_filter');
    expect(() => fromConverseResponse({ output: {} }, request, 'm')).toThrow(
      expect.objectContaining({ kind: 'malformed_response' }),
    );
  });
});

describe('bedrock errors', () => {
  it('classifies by exception name first, then by status', () => {
    expect(bedrockErrorKind('ThrottlingException')).toBe('rate_limited');
    expect(bedrockErrorKind('throttlingException')).toBe('rate_limited');
    expect(bedrockErrorKind('ServiceQuotaExceededException', 400)).toBe('rate_limited');
    expect(bedrockErrorKind('AccessDeniedException')).toBe('auth');
    expect(bedrockErrorKind('ValidationException')).toBe('bad_request');
    expect(bedrockErrorKind('ModelTimeoutException')).toBe('timeout');
    expect(bedrockErrorKind('modelStreamErrorException')).toBe('server_error');
    expect(bedrockErrorKind('SomethingNew', 404)).toBe('bad_request');
  });

  it('reads x-amzn-errortype and the message, never the secret', () => {
    const err = bedrockStatusError(
      400,
      JSON.stringify({ message: 'Too many tokens, secret-XYZ-123' }),
      'secret-XYZ-123',
      {
        'x-amzn-errortype':
          'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/',
        'retry-after': '4',
      },
    );
    expect(err).toMatchObject({ kind: 'rate_limited', status: 400, retryAfterMs: 4000 });
    expect(err.message).toBe(
      'Upstream returned 400 ThrottlingException: Too many tokens, [redacted]',
    );
  });
});

describe('credentials and endpoint', () => {
  it('reads the sealed key pair, refusing anything else', () => {
    expect(
      parseAwsKeys('{"access_key_id":"AK","secret_access_key":"S","session_token":"T"}'),
    ).toEqual({ accessKeyId: 'AK', secretAccessKey: 'S', sessionToken: 'T' });
    for (const bad of [null, 'sk-plain-key', '{"access_key_id":"AK"}']) {
      expect(() => parseAwsKeys(bad)).toThrow(expect.objectContaining({ kind: 'auth' }));
    }
  });

  it("defaults to the region's bedrock-runtime endpoint", () => {
    const target = { provider: 'bedrock' as const, apiKey: null, providerModel: 'm' };
    expect(bedrockEndpoint({ ...target, apiBase: '', settings: { region: 'eu-west-3' } })).toBe(
      'https://bedrock-runtime.eu-west-3.amazonaws.com',
    );
    expect(bedrockEndpoint({ ...target, apiBase: 'https://vpce.example/', settings: {} })).toBe(
      'https://vpce.example',
    );
  });
});

describe('event-stream frames', () => {
  it('splits frames however the bytes arrive, and the codec rejects a corrupted one', () => {
    const a = frame('messageStart', { role: 'assistant' });
    const b = frame('messageStop', { stopReason: 'end_turn' });
    const bytes = Buffer.concat([a, b]);
    const splitter = new FrameSplitter();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 7)
      frames.push(...splitter.push(bytes.subarray(i, i + 7)));
    expect(frames.map((f) => Buffer.from(f))).toEqual([Buffer.from(a), Buffer.from(b)]);
    expect(splitter.pending).toBe(0);
    const corrupted = Buffer.from(a);
    corrupted[corrupted.length - 6] ^= 0xff;
    expect(() => codec.decode(corrupted)).toThrow();
  });

  it('translates a ConverseStream into chunks: role, text, tool deltas, finish, usage', () => {
    const t = new BedrockStreamTranslator('nova', 'SECRET-abc');
    const chunks: StreamChunk[] = [
      frame('messageStart', { role: 'assistant' }),
      frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Hi ' } }),
      frame('contentBlockStop', { contentBlockIndex: 0 }),
      frame('contentBlockStart', {
        contentBlockIndex: 1,
        start: { toolUse: { toolUseId: 'tu1', name: 'f' } },
      }),
      frame('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"a":' } } }),
      frame('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '1}' } } }),
      frame('messageStop', { stopReason: 'tool_use' }),
      frame('metadata', {
        usage: { inputTokens: 3, outputTokens: 4, totalTokens: 17, cacheReadInputTokens: 10 },
      }),
    ].flatMap((f) => t.translate(codec.decode(f)));
    expect(t.finish()).toEqual([]);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks[1].choices[0].delta.content).toBe('Hi ');
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toEqual({
      index: 0,
      id: 'tu1',
      type: 'function',
      function: { name: 'f', arguments: '' },
    });
    expect(calls.map((c) => c.function?.arguments).join('')).toBe('{"a":1}');
    const usage = {
      prompt_tokens: 13,
      completion_tokens: 4,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 10 },
    };
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage });
    const meter = new StreamMeter([{ role: 'user', content: 'Hi' }], 'public', true);
    for (const chunk of chunks) meter.forward(chunk);
    expect(meter.usage()).toEqual(usage);
  });

  it('throws classified, scrubbed errors for exception frames and a stream cut before messageStop', () => {
    const t = new BedrockStreamTranslator('nova', 'SECRET-abc');
    t.translate(codec.decode(frame('messageStart', { role: 'assistant' })));
    const exception = codec.decode(
      frame('throttlingException', { message: 'Too many requests SECRET-abc' }, 'exception'),
    );
    expect(() => t.translate(exception)).toThrow(expect.objectContaining({ kind: 'rate_limited' }));
    try {
      t.translate(exception);
    } catch (err) {
      expect((err as Error).message).toBe(
        'Upstream stream failed: throttlingException Too many requests [redacted]',
      );
    }
    expect(() => t.finish()).toThrow(expect.objectContaining({ kind: 'connection' }));
  });
});
