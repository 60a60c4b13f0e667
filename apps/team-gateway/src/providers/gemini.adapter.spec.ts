import { StreamMeter } from '../streaming/stream-meter';
import {
  fromGeminiResponse,
  fromGeminiUsage,
  geminiStatusError,
  GeminiStreamTranslator,
  mapFinishReason,
  toGeminiRequest,
} from './gemini.adapter';
import type { ChatRequest, StreamChunk } from './provider.types';

const request: ChatRequest = { model: 'x', messages: [{ role: 'user', content: 'Hi' }] };

describe('toGeminiRequest', () => {
  it('moves system and developer messages to systemInstruction and maps config', () => {
    expect(
      toGeminiRequest({
        model: 'x',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: 'In French.' },
          { role: 'user', content: 'Hello' },
          { role: 'assistant', content: 'Bonjour' },
          { role: 'user', content: 'Again' },
        ],
        temperature: 1.5,
        top_p: 0.9,
        max_tokens: 64,
        stop: ['a', 'b'],
        seed: 7,
        presence_penalty: 0.1,
        frequency_penalty: 0.2,
        response_format: { type: 'json_object' },
      }),
    ).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.\n\nIn French.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'Hello' }] },
        { role: 'model', parts: [{ text: 'Bonjour' }] },
        { role: 'user', parts: [{ text: 'Again' }] },
      ],
      generationConfig: {
        temperature: 1.5,
        topP: 0.9,
        maxOutputTokens: 64,
        stopSequences: ['a', 'b'],
        seed: 7,
        presencePenalty: 0.1,
        frequencyPenalty: 0.2,
        responseMimeType: 'application/json',
      },
    });
  });

  it('maps every tool_choice and strips JSON Schema keywords Gemini refuses', () => {
    const tools: ChatRequest['tools'] = [
      {
        type: 'function',
        function: {
          name: 'f',
          parameters: {
            $schema: 'http://json-schema.org/draft-07/schema#',
            type: 'object',
            additionalProperties: false,
            properties: { a: { type: 'object', additionalProperties: false } },
          },
        },
      },
    ];
    const config = (tool_choice: ChatRequest['tool_choice']) =>
      toGeminiRequest({ ...request, tools, tool_choice }).toolConfig;
    expect(config('auto')).toEqual({ functionCallingConfig: { mode: 'AUTO' } });
    expect(config('required')).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    expect(config('none')).toEqual({ functionCallingConfig: { mode: 'NONE' } });
    expect(config({ type: 'function', function: { name: 'f' } })).toEqual({
      functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f'] },
    });
    expect(toGeminiRequest({ ...request, tools }).tools).toEqual([
      {
        functionDeclarations: [
          { name: 'f', parameters: { type: 'object', properties: { a: { type: 'object' } } } },
        ],
      },
    ]);
  });

  it('refuses image URLs that are not data: URLs, and tool results that answer nothing', () => {
    expect(() =>
      toGeminiRequest({
        model: 'x',
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'https://e.com/cat.png' } }],
          },
        ],
      }),
    ).toThrow(expect.objectContaining({ kind: 'bad_request' }));
    expect(() =>
      toGeminiRequest({
        model: 'x',
        messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x' }],
      }),
    ).toThrow(/answers no earlier tool call/);
  });
});

describe('thought signatures', () => {
  it('carries a function call signature in the tool call id and sends it back with the call', () => {
    const answer = fromGeminiResponse(
      {
        candidates: [
          {
            content: {
              parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'c2lnbmF0dXJl' }],
            },
            finishReason: 'STOP',
          },
        ],
      },
      request,
      'g',
    );
    const call = answer.tool_calls![0];
    expect(call.id).toMatch(/__thought__c2lnbmF0dXJl$/);
    const next = toGeminiRequest({
      model: 'x',
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'done' },
      ],
    });
    expect(next.contents).toEqual([
      { role: 'user', parts: [{ text: 'Hi' }] },
      {
        role: 'model',
        parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'c2lnbmF0dXJl' }],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'f', response: { content: 'done' } } }] },
    ]);
  });
});

describe('fromGeminiResponse', () => {
  it('maps text, function calls, finish reason and usage (thoughts are output, cache is input)', () => {
    const result = fromGeminiResponse(
      {
        candidates: [
          {
            content: {
              role: 'model',
              parts: [
                { text: 'thinking…', thought: true },
                { text: 'Calling.' },
                { functionCall: { name: 'f', args: { a: 1 } } },
              ],
            },
            finishReason: 'STOP',
          },
        ],
        usageMetadata: {
          promptTokenCount: 1000,
          cachedContentTokenCount: 800,
          candidatesTokenCount: 50,
          thoughtsTokenCount: 150,
          toolUsePromptTokenCount: 10,
          totalTokenCount: 1210,
        },
        modelVersion: 'gemini-2.5-pro-001',
        responseId: 'resp-1',
      },
      request,
      'gemini-2.5-pro',
    );
    expect(result).toEqual({
      id: 'resp-1',
      model: 'gemini-2.5-pro-001',
      content: 'Calling.',
      finish_reason: 'tool_calls',
      tool_calls: [
        { id: expect.any(String), type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
      ],
      usage: {
        prompt_tokens: 1010,
        completion_tokens: 200,
        total_tokens: 1210,
        prompt_tokens_details: { cached_tokens: 800 },
        completion_tokens_details: { reasoning_tokens: 150 },
      },
    });
  });

  it('maps every finish reason, and a blocked prompt as content_filter', () => {
    expect(mapFinishReason('MAX_TOKENS', false)).toBe('length');
    expect(mapFinishReason('SAFETY', false)).toBe('content_filter');
    expect(mapFinishReason('RECITATION', false)).toBe('content_filter');
    expect(mapFinishReason('PROHIBITED_CONTENT', false)).toBe('content_filter');
    expect(mapFinishReason('STOP', false)).toBe('stop');
    expect(mapFinishReason('STOP', true)).toBe('tool_calls');
    const blocked = fromGeminiResponse(
      { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 4 } },
      request,
      'g',
    );
    expect(blocked).toMatchObject({ content: '', finish_reason: 'content_filter' });
    expect(blocked.usage).toEqual({ prompt_tokens: 4, completion_tokens: 0, total_tokens: 4 });
  });

  it('estimates usage it was not given, and rejects an answer without candidates', () => {
    const result = fromGeminiResponse(
      { candidates: [{ content: { parts: [{ text: 'Hello' }] }, finishReason: 'STOP' }] },
      request,
      'g',
    );
    expect(result.usage_estimated).toBe(true);
    expect(() => fromGeminiResponse({}, request, 'g')).toThrow(
      expect.objectContaining({ kind: 'malformed_response' }),
    );
  });

  it('reads no usage without a promptTokenCount', () => {
    expect(fromGeminiUsage({ candidatesTokenCount: 3 })).toBeUndefined();
  });
});

describe('geminiStatusError', () => {
  it('classifies google.rpc statuses, an invalid key as auth, and reads RetryInfo', () => {
    const limited = geminiStatusError(
      429,
      JSON.stringify({
        error: {
          code: 429,
          message: 'Quota exceeded',
          status: 'RESOURCE_EXHAUSTED',
          details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2.5s' }],
        },
      }),
      null,
    );
    expect(limited).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 2500 });
    expect(limited.message).toContain('Quota exceeded');
    const badKey = geminiStatusError(
      400,
      JSON.stringify({
        error: {
          code: 400,
          message: 'API key not valid. key=AIzaSECRET0123',
          status: 'INVALID_ARGUMENT',
          details: [
            { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' },
          ],
        },
      }),
      'AIzaSECRET0123',
    );
    expect(badKey.kind).toBe('auth');
    expect(badKey.message).not.toContain('AIzaSECRET0123');
    // a JSON array body (streamGenerateContent without alt=sse) and plain text
    expect(
      geminiStatusError(
        503,
        JSON.stringify([{ error: { code: 503, status: 'UNAVAILABLE' } }]),
        null,
      ).kind,
    ).toBe('server_error');
    expect(geminiStatusError(502, '<html>Bad gateway</html>', null).kind).toBe('server_error');
  });
});

describe('GeminiStreamTranslator', () => {
  const run = (events: unknown[]) => {
    const t = new GeminiStreamTranslator('gemini', 'AIzaSECRET0123');
    const chunks: StreamChunk[] = events.flatMap((e) => t.translate(e));
    return { t, chunks };
  };
  const piece = (text: string, usage?: object, finishReason?: string) => ({
    responseId: 'r1',
    modelVersion: 'gemini-x',
    candidates: [
      { content: { role: 'model', parts: [{ text }] }, ...(finishReason ? { finishReason } : {}) },
    ],
    ...(usage ? { usageMetadata: usage } : {}),
  });

  it('opens with the role (and the prompt usage), streams text, finishes, ends with the usage', () => {
    const { t, chunks } = run([
      piece('Hel', { promptTokenCount: 12 }),
      piece('lo', { promptTokenCount: 12, candidatesTokenCount: 2 }),
      piece(
        '',
        {
          promptTokenCount: 12,
          candidatesTokenCount: 3,
          thoughtsTokenCount: 4,
          cachedContentTokenCount: 8,
        },
        'STOP',
      ),
    ]);
    const all = [...chunks, ...t.finish()];
    expect(all[0]).toMatchObject({
      id: 'r1',
      model: 'gemini-x',
      choices: [{ delta: { role: 'assistant', content: '' }, finish_reason: null }],
      usage: { prompt_tokens: 12 },
    });
    expect(all.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello');
    const usage = {
      prompt_tokens: 12,
      completion_tokens: 7,
      total_tokens: 19,
      prompt_tokens_details: { cached_tokens: 8 },
      completion_tokens_details: { reasoning_tokens: 4 },
    };
    expect(all.at(-2)).toMatchObject({ choices: [{ finish_reason: 'stop' }], usage });
    expect(all.at(-1)).toMatchObject({ choices: [], usage });
    const meter = new StreamMeter([{ role: 'user', content: 'Hi' }], 'public', true);
    for (const chunk of all) meter.forward(chunk);
    expect(meter.usage()).toEqual(usage);
  });

  it('emits each function call whole at its own index and finishes with tool_calls', () => {
    const { chunks } = run([
      {
        candidates: [
          {
            content: {
              parts: [
                { functionCall: { name: 'a', args: { x: 1 } } },
                { functionCall: { id: 'fc-2', name: 'b', args: {} } },
              ],
            },
            finishReason: 'STOP',
          },
        ],
      },
    ]);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls).toEqual([
      {
        index: 0,
        id: expect.any(String),
        type: 'function',
        function: { name: 'a', arguments: '{"x":1}' },
      },
      { index: 1, id: 'fc-2', type: 'function', function: { name: 'b', arguments: '{}' } },
    ]);
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('tool_calls');
  });

  it('throws a classified, scrubbed error on an in-stream error, and on a stream cut before the finish', () => {
    const { t } = run([piece('Hi')]);
    expect(() =>
      t.translate({
        error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: 'slow down AIzaSECRET0123' },
      }),
    ).toThrow(expect.objectContaining({ kind: 'rate_limited' }));
    try {
      t.translate({ error: { code: 500, message: 'boom AIzaSECRET0123' } });
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('AIzaSECRET0123');
    }
    expect(() => t.finish()).toThrow(expect.objectContaining({ kind: 'connection' }));
  });
});
