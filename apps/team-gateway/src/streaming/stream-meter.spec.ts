import type { StreamChunk } from '../providers/provider.types';
import { StreamMeter } from './stream-meter';

const chunk = (delta: StreamChunk['choices'][number]['delta'], finish: 'stop' | null = null) =>
  ({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'provider-model-v2',
    choices: [{ index: 0, delta, finish_reason: finish }],
  }) satisfies StreamChunk;

const usageChunk: StreamChunk = {
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1_700_000_000,
  model: 'provider-model-v2',
  choices: [],
  usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
};

const messages = [{ role: 'user' as const, content: 'What is the answer?' }];

describe('StreamMeter', () => {
  it('renames the model to the public name and keeps the rest of the chunk', () => {
    const meter = new StreamMeter(messages, 'public-model', true);
    expect(meter.forward(chunk({ role: 'assistant', content: 'Hi' }))).toEqual({
      ...chunk({ role: 'assistant', content: 'Hi' }),
      model: 'public-model',
    });
  });

  it("uses the upstream's usage when it sends one, and forwards it only when asked", () => {
    const asked = new StreamMeter(messages, 'm', true);
    const silent = new StreamMeter(messages, 'm', false);
    for (const meter of [asked, silent]) meter.forward(chunk({ content: 'Forty-two' }, 'stop'));
    expect(asked.forward(usageChunk)?.usage).toEqual(usageChunk.usage);
    expect(silent.forward(usageChunk)).toBeNull();
    for (const meter of [asked, silent]) {
      expect(meter.usage()).toEqual(usageChunk.usage);
      expect(meter.finishReason).toBe('stop');
      // already sent (or not wanted): no extra usage chunk
      expect(meter.usageChunk()).toBeNull();
    }
  });

  it('counts the prompt and the delivered content and tool calls when the upstream gives no usage', () => {
    const meter = new StreamMeter(messages, 'm', true);
    expect(meter.hasOutput).toBe(false);
    meter.forward(chunk({ role: 'assistant', content: '' }));
    meter.forward(chunk({ content: 'abcdefgh' }));
    meter.forward(
      chunk({ tool_calls: [{ index: 0, function: { name: 'get', arguments: '{"a":1}' } }] }),
    );
    expect(meter.hasOutput).toBe(true);
    const prompt = Math.ceil('What is the answer?'.length / 4);
    const completion = Math.ceil('abcdefghget{"a":1}'.length / 4);
    expect(meter.usage()).toEqual({
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    });
    expect(meter.usageChunk()).toMatchObject({
      id: 'chatcmpl-1',
      model: 'm',
      choices: [],
      usage: { prompt_tokens: prompt, completion_tokens: completion },
    });
    expect(meter.usageChunk()).toBeNull();
  });

  it('bills no completion tokens when nothing was generated', () => {
    const meter = new StreamMeter(messages, 'm', false);
    meter.forward(chunk({ role: 'assistant', content: '' }));
    expect(meter.usage().completion_tokens).toBe(0);
    expect(meter.usageChunk()).toBeNull();
  });

  it('bills a cut stream on the prompt tokens the upstream reported mid-stream, not an estimate', () => {
    // Anthropic's message_start: real input_tokens on the role chunk, output so far
    const start = {
      ...chunk({ role: 'assistant', content: '' }),
      usage: { prompt_tokens: 1234, completion_tokens: 1, total_tokens: 1235 },
    };
    const meter = new StreamMeter(messages, 'm', true);
    // usage rides only on a final chunk of its own, as OpenAI sends it
    expect(meter.forward(start)?.usage).toBeUndefined();
    meter.forward(chunk({ content: 'abcdefghijkl' }));
    expect(meter.usage()).toEqual({
      prompt_tokens: 1234,
      completion_tokens: 3,
      total_tokens: 1237,
    });
    expect(meter.usageChunk()?.usage).toEqual(meter.usage());
  });

  it('takes usage that comes with the finish as the final count', () => {
    const meter = new StreamMeter(messages, 'm', true);
    meter.forward(chunk({ content: 'a long answer, longer than its reported count' }));
    const finish = {
      ...chunk({}, 'stop'),
      usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
    };
    expect(meter.forward(finish)?.usage).toBeUndefined();
    expect(meter.usage()).toEqual(finish.usage);
    expect(meter.usageChunk()).toMatchObject({ choices: [], usage: finish.usage });
  });
});
