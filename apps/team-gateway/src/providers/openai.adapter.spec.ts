import { fromOpenAiCompletion, toOpenAiBody, toStreamChunk } from './openai.adapter';
import type { ChatRequest, ProviderTarget } from './provider.types';
import { classifyFailure, retryAfterMs, scrub, statusError } from './upstream-errors';

const target: ProviderTarget = {
  provider: 'openai-compatible',
  apiBase: 'http://x/v1',
  apiKey: 'sk-provider-secret-123',
  providerModel: 'llama-3',
};
const request: ChatRequest = {
  model: 'public',
  messages: [{ role: 'user', content: 'Hello there' }],
};

describe('OpenAI translation', () => {
  it('sends the deployment model, only known fields, and asks for usage when streaming', () => {
    const withExtras = {
      ...request,
      max_tokens: 5,
      temperature: undefined,
      purpose: 'x',
    } as ChatRequest;
    expect(toOpenAiBody(target, withExtras, false)).toEqual({
      model: 'llama-3',
      messages: request.messages,
      max_tokens: 5,
    });
    const sampling: ChatRequest = {
      ...request,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      logit_bias: { '50256': -100 },
      parallel_tool_calls: false,
      user: 'end-user-1',
    };
    expect(toOpenAiBody(target, sampling, false)).toEqual({
      model: 'llama-3',
      messages: request.messages,
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      logit_bias: { '50256': -100 },
      parallel_tool_calls: false,
      user: 'end-user-1',
    });
    expect(toOpenAiBody(target, request, true)).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('normalises a completion, and estimates usage the server left out', () => {
    const result = fromOpenAiCompletion(
      {
        id: 'c1',
        model: 'llama-3',
        choices: [
          {
            message: {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } },
              ],
            },
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
      },
      request,
    );
    expect(result).toMatchObject({
      content: null,
      finish_reason: 'tool_calls',
      usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
    });
    expect(result.usage_estimated).toBeUndefined();
    const estimated = fromOpenAiCompletion(
      { choices: [{ message: { content: 'abcd' }, finish_reason: 'stop' }] },
      request,
    );
    expect(estimated.usage).toEqual({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
    expect(estimated.usage_estimated).toBe(true);
  });

  it('keeps the cached and reasoning token details, plain and on the final stream chunk', () => {
    const usage = {
      prompt_tokens: 2006,
      completion_tokens: 300,
      total_tokens: 2306,
      prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 192, audio_tokens: 0 },
    };
    const expected = {
      prompt_tokens: 2006,
      completion_tokens: 300,
      total_tokens: 2306,
      prompt_tokens_details: { cached_tokens: 1920 },
      completion_tokens_details: { reasoning_tokens: 192 },
    };
    const completion = {
      id: 'c',
      choices: [{ message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }],
      usage,
    };
    expect(fromOpenAiCompletion(completion, request).usage).toEqual(expected);
    expect(toStreamChunk({ id: 'c', choices: [], usage }, null).usage).toEqual(expected);
    // garbage in the details is dropped, the counts stay
    expect(
      fromOpenAiCompletion(
        {
          ...completion,
          usage: {
            prompt_tokens: 5,
            completion_tokens: 1,
            prompt_tokens_details: { cached_tokens: -3 },
          },
        },
        request,
      ).usage,
    ).toEqual({ prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 });
  });

  it('rejects answers without a message as malformed', () => {
    expect(() => fromOpenAiCompletion({ choices: [] }, request)).toThrow(
      expect.objectContaining({ kind: 'malformed_response' }),
    );
    expect(() => toStreamChunk('text', null)).toThrow(
      expect.objectContaining({ kind: 'malformed_response' }),
    );
  });

  it('turns an in-stream error into a scrubbed UpstreamError', () => {
    expect(() =>
      toStreamChunk(
        { error: { message: 'bad key sk-provider-secret-123', type: 'server_error' } },
        target.apiKey,
      ),
    ).toThrow(
      expect.objectContaining({
        kind: 'server_error',
        message: expect.not.stringContaining('secret'),
      }),
    );
  });
});

describe('upstream errors', () => {
  it("reads a provider's Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs('0.5')).toBe(500);
    expect(retryAfterMs(['3'])).toBe(3000);
    const now = Date.parse('2026-12-02T00:00:00Z');
    expect(retryAfterMs('Wed, 02 Dec 2026 00:00:10 GMT', now)).toBe(10_000);
    for (const junk of [undefined, '', 'soon', '-1']) expect(retryAfterMs(junk)).toBeUndefined();
    expect(statusError(429, '{}', null, '12').retryAfterMs).toBe(12_000);
  });

  it('classifies statuses', () => {
    const kinds = [429, 500, 503, 400, 404, 422, 401, 403].map(
      (s) => statusError(s, '', null).kind,
    );
    expect(kinds).toEqual([
      'rate_limited',
      'server_error',
      'server_error',
      'bad_request',
      'bad_request',
      'bad_request',
      'auth',
      'auth',
    ]);
  });

  it('keeps a short excerpt of the provider message but never the key', () => {
    const err = statusError(
      401,
      JSON.stringify({
        error: {
          message: `Incorrect API key provided: sk-provider-secret-123. ${'x'.repeat(500)}`,
        },
      }),
      'sk-provider-secret-123',
    );
    expect(err.message).toMatch(/^Upstream returned 401: Incorrect API key provided: \[redacted\]/);
    expect(err.message).not.toContain('sk-provider-secret-123');
    expect(err.message.length).toBeLessThan(260);
    expect(scrub('Authorization: Bearer abc.def', null)).toBe('Authorization: Bearer [redacted]');
  });

  it('classifies transport errors by code, looking through causes', () => {
    expect(
      classifyFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), null).kind,
    ).toBe('connection');
    expect(
      classifyFailure(
        new Error('fetch failed', { cause: { code: 'UND_ERR_HEADERS_TIMEOUT' } }),
        null,
      ).kind,
    ).toBe('timeout');
    expect(
      classifyFailure(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }), null).kind,
    ).toBe('connection');
  });
});
