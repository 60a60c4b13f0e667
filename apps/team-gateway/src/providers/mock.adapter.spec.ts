import { MockAdapter, mockResult } from './mock.adapter';
import type { ChatRequest, ProviderTarget, StreamChunk } from './provider.types';

const target: ProviderTarget = {
  provider: 'mock',
  apiBase: '',
  apiKey: null,
  providerModel: 'mock-1',
};
const request: ChatRequest = {
  model: 'public-name',
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'What is the capital of France?' },
  ],
};

async function collect(iterable: AsyncIterable<StreamChunk>): Promise<StreamChunk[]> {
  const out: StreamChunk[] = [];
  for await (const chunk of iterable) out.push(chunk);
  return out;
}

describe('MockAdapter', () => {
  const adapter = new MockAdapter();

  it('answers deterministically from the last user message, with tokens from the text', async () => {
    const a = await adapter.complete(target, request, new AbortController().signal);
    const b = await adapter.complete(target, request, new AbortController().signal);
    expect(a).toEqual(b);
    expect(a.content).toBe('Mock response to: What is the capital of France?');
    expect(a.finish_reason).toBe('stop');
    expect(a.model).toBe('mock-1');
    // "You are terse.\nWhat is the capital of France?" is 45 characters → 12 tokens
    expect(a.usage).toEqual({
      prompt_tokens: 12,
      completion_tokens: Math.ceil(a.content!.length / 4),
      total_tokens: 12 + Math.ceil(a.content!.length / 4),
    });
    const other = await adapter.complete(
      target,
      { ...request, messages: [{ role: 'user', content: 'Something else' }] },
      new AbortController().signal,
    );
    expect(other.content).not.toBe(a.content);
    expect(other.id).not.toBe(a.id);
  });

  it('honours max_tokens by truncating with finish_reason length', () => {
    const result = mockResult(target, { ...request, max_tokens: 2 });
    expect(result.content).toBe('Mock res');
    expect(result.finish_reason).toBe('length');
    expect(result.usage.completion_tokens).toBe(2);
  });

  it('calls the forced tool when tool_choice requires one', () => {
    const tools = [{ type: 'function' as const, function: { name: 'lookup' } }];
    const result = mockResult(target, { ...request, tools, tool_choice: 'required' });
    expect(result.finish_reason).toBe('tool_calls');
    expect(result.content).toBeNull();
    expect(result.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'lookup', arguments: '{"input":"What is the capital of France?"}' },
      },
    ]);
    expect(
      mockResult(target, { ...request, tools, tool_choice: 'auto' }).tool_calls,
    ).toBeUndefined();
  });

  it('streams several chunks whose deltas add up to the non-stream answer, then usage', async () => {
    const whole = mockResult(target, request);
    const chunks = await collect(adapter.stream(target, request, new AbortController().signal));
    expect(chunks.length).toBeGreaterThan(4);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(whole.content);
    expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe('stop');
    expect(chunks[chunks.length - 1]).toMatchObject({ choices: [], usage: whole.usage });
  });

  it('stops streaming when aborted', async () => {
    const controller = new AbortController();
    const seen: StreamChunk[] = [];
    await expect(
      (async () => {
        for await (const chunk of adapter.stream(target, request, controller.signal)) {
          seen.push(chunk);
          if (seen.length === 2) controller.abort();
        }
      })(),
    ).rejects.toThrow();
    expect(seen).toHaveLength(2);
  });
});
