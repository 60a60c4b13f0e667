import {
  AnthropicStreamTranslator,
  fromAnthropicMessage,
  fromAnthropicUsage,
  mapStopReason,
  toAnthropicRequest,
} from './anthropic.adapter';
import { StreamMeter } from '../streaming/stream-meter';
import type { ChatRequest, StreamChunk } from './provider.types';
import { UpstreamError } from './provider.types';

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
  },
};

describe('toAnthropicRequest', () => {
  it('moves system and developer messages to the top-level system and defaults max_tokens', () => {
    const body = toAnthropicRequest(
      {
        model: 'x',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Hello' },
        ],
      },
      'claude-test',
      false,
    );
    expect(body).toEqual({
      model: 'claude-test',
      max_tokens: 4096,
      system: 'Be brief.\n\nAnswer in French.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
    });
  });

  it('translates options: stop → stop_sequences, temperature capped at 1, user, stream', () => {
    const body = toAnthropicRequest(
      {
        model: 'x',
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 50,
        temperature: 1.5,
        top_p: 0.9,
        stop: 'END',
        user: 'u-1',
      },
      'claude-test',
      true,
    );
    expect(body).toMatchObject({
      max_tokens: 50,
      temperature: 1,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'u-1' },
      stream: true,
    });
    expect(
      toAnthropicRequest({ model: 'x', messages: [], stop: ['a', 'b'] }, 'm', false).stop_sequences,
    ).toEqual(['a', 'b']);
  });

  it('translates tools and every tool_choice form', () => {
    const base: ChatRequest = {
      model: 'x',
      messages: [{ role: 'user', content: 'Hi' }],
      tools: [weather],
    };
    const body = toAnthropicRequest({ ...base, tool_choice: 'auto' }, 'm', false);
    expect(body.tools).toEqual([
      {
        name: 'get_weather',
        description: 'Current weather',
        input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ]);
    expect(body.tool_choice).toEqual({ type: 'auto' });
    expect(
      toAnthropicRequest({ ...base, tool_choice: 'required' }, 'm', false).tool_choice,
    ).toEqual({
      type: 'any',
    });
    expect(toAnthropicRequest({ ...base, tool_choice: 'none' }, 'm', false).tool_choice).toEqual({
      type: 'none',
    });
    expect(
      toAnthropicRequest(
        { ...base, tool_choice: { type: 'function', function: { name: 'get_weather' } } },
        'm',
        false,
      ).tool_choice,
    ).toEqual({ type: 'tool', name: 'get_weather' });
    // no tools: neither tools nor tool_choice are sent
    const bare = toAnthropicRequest({ ...base, tools: [], tool_choice: 'auto' }, 'm', false);
    expect(bare.tools).toBeUndefined();
    expect(bare.tool_choice).toBeUndefined();
  });

  it('turns assistant tool_calls into tool_use blocks and tool messages into merged tool_result blocks', () => {
    const body = toAnthropicRequest(
      {
        model: 'x',
        messages: [
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
              },
              {
                id: 'call_2',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Rome"}' },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'rainy' }] },
          { role: 'user', content: 'Thanks' },
        ],
        tools: [weather],
      },
      'm',
      false,
    );
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'sunny' },
          { type: 'tool_result', tool_use_id: 'call_2', content: 'rainy' },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ]);
  });

  it('translates images and refuses tool arguments that are not JSON', () => {
    const body = toAnthropicRequest(
      {
        model: 'x',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
            ],
          },
        ],
      },
      'm',
      false,
    );
    expect(body.messages[0].content).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
    ]);
    expect(() =>
      toAnthropicRequest(
        {
          model: 'x',
          messages: [
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                { id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } },
              ],
            },
          ],
        },
        'm',
        false,
      ),
    ).toThrow(UpstreamError);
  });

  it('asks for JSON through the system prompt when response_format wants it', () => {
    const body = toAnthropicRequest(
      {
        model: 'x',
        messages: [
          { role: 'system', content: 'You are a parser.' },
          { role: 'user', content: 'Parse' },
        ],
        response_format: { type: 'json_object' },
      },
      'm',
      false,
    );
    expect(body.system).toBe('You are a parser.\n\nRespond only with a valid JSON object.');
  });
});

describe('fromAnthropicMessage', () => {
  const request: ChatRequest = { model: 'x', messages: [{ role: 'user', content: 'Hi' }] };

  it('maps text, usage and stop reason', () => {
    const result = fromAnthropicMessage(
      {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-test',
        content: [
          { type: 'text', text: 'Hello ' },
          { type: 'text', text: 'there' },
        ],
        stop_reason: 'end_turn',
        usage: { input_tokens: 12, output_tokens: 3, cache_read_input_tokens: 5 },
      },
      request,
    );
    expect(result).toEqual({
      id: 'msg_1',
      model: 'claude-test',
      content: 'Hello there',
      finish_reason: 'stop',
      usage: {
        prompt_tokens: 17,
        completion_tokens: 3,
        total_tokens: 20,
        prompt_tokens_details: { cached_tokens: 5 },
      },
    });
  });

  it('adds cache reads and writes into prompt_tokens and reports them as details', () => {
    const usage = fromAnthropicUsage({
      input_tokens: 10,
      cache_creation_input_tokens: 200,
      cache_read_input_tokens: 1000,
      output_tokens: 7,
    });
    expect(usage).toEqual({
      prompt_tokens: 1210,
      completion_tokens: 7,
      total_tokens: 1217,
      prompt_tokens_details: { cached_tokens: 1000, cache_write_tokens: 200 },
    });
    // no cache fields: no details
    expect(fromAnthropicUsage({ input_tokens: 3, output_tokens: 1 })).toEqual({
      prompt_tokens: 3,
      completion_tokens: 1,
      total_tokens: 4,
    });
  });

  it('maps tool_use blocks to tool_calls with JSON-string arguments', () => {
    const result = fromAnthropicMessage(
      {
        id: 'msg_2',
        model: 'claude-test',
        content: [
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
        stop_reason: 'tool_use',
        usage: { input_tokens: 20, output_tokens: 8 },
      },
      request,
    );
    expect(result.content).toBeNull();
    expect(result.finish_reason).toBe('tool_calls');
    expect(result.tool_calls).toEqual([
      {
        id: 'toolu_1',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
      },
    ]);
  });

  it('maps every stop reason', () => {
    expect(mapStopReason('end_turn')).toBe('stop');
    expect(mapStopReason('stop_sequence')).toBe('stop');
    expect(mapStopReason('max_tokens')).toBe('length');
    expect(mapStopReason('tool_use')).toBe('tool_calls');
    expect(mapStopReason('refusal')).toBe('content_filter');
    expect(mapStopReason(null)).toBe('stop');
  });

  it('rejects an answer without content blocks as malformed, and estimates missing usage', () => {
    expect(() => fromAnthropicMessage({ id: 'x' }, request)).toThrow(
      expect.objectContaining({ kind: 'malformed_response' }),
    );
    const estimated = fromAnthropicMessage(
      { content: [{ type: 'text', text: 'abcdefgh' }] },
      request,
    );
    expect(estimated.usage).toEqual({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
    expect(estimated.usage_estimated).toBe(true);
  });
});

describe('AnthropicStreamTranslator', () => {
  const run = (events: unknown[]) => {
    const t = new AnthropicStreamTranslator('claude-test', 'sk-ant-secret');
    const chunks: StreamChunk[] = events.flatMap((e) => t.translate(e));
    return { t, chunks };
  };
  const start = {
    type: 'message_start',
    message: {
      id: 'msg_s',
      model: 'claude-test',
      content: [],
      usage: { input_tokens: 25, output_tokens: 1 },
    },
  };

  it('translates a text stream into OpenAI chunks ending with usage', () => {
    const { t, chunks } = run([
      start,
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'ping' },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 2 } },
      { type: 'message_stop' },
    ]);
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Hel' },
      { content: 'lo' },
      {},
      null,
    ]);
    expect(chunks[3].choices[0].finish_reason).toBe('length');
    expect(chunks[4]).toMatchObject({
      id: 'msg_s',
      object: 'chat.completion.chunk',
      model: 'claude-test',
      choices: [],
      usage: { prompt_tokens: 25, completion_tokens: 2, total_tokens: 27 },
    });
    expect(t.done).toBe(true);
    expect(() => t.finish()).not.toThrow();
  });

  it('translates tool_use blocks into indexed tool_calls deltas', () => {
    const { chunks } = run([
      start,
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'text_delta', text: 'Let me check.' },
      },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_a', name: 'get_weather', input: {} },
      },
      {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '{"city":' },
      },
      {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '"Paris"}' },
      },
      { type: 'content_block_stop', index: 1 },
      {
        type: 'content_block_start',
        index: 2,
        content_block: { type: 'tool_use', id: 'toolu_b', name: 'get_time', input: {} },
      },
      {
        type: 'content_block_delta',
        index: 2,
        delta: { type: 'input_json_delta', partial_json: '{}' },
      },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 30 } },
      { type: 'message_stop' },
    ]);
    const toolDeltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(toolDeltas).toEqual([
      {
        index: 0,
        id: 'toolu_a',
        type: 'function',
        function: { name: 'get_weather', arguments: '' },
      },
      { index: 0, function: { arguments: '{"city":' } },
      { index: 0, function: { arguments: '"Paris"}' } },
      { index: 1, id: 'toolu_b', type: 'function', function: { name: 'get_time', arguments: '' } },
      { index: 1, function: { arguments: '{}' } },
    ]);
    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(finish?.choices[0].finish_reason).toBe('tool_calls');
    expect(chunks[chunks.length - 1].usage).toEqual({
      prompt_tokens: 25,
      completion_tokens: 30,
      total_tokens: 55,
    });
  });

  it('throws a classified, scrubbed error on an error event, and on a stream cut before message_stop', () => {
    const t = new AnthropicStreamTranslator('m', 'sk-ant-secret');
    t.translate(start);
    let caught: unknown;
    try {
      t.translate({
        type: 'error',
        error: { type: 'overloaded_error', message: 'Overloaded sk-ant-secret' },
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UpstreamError);
    expect((caught as UpstreamError).kind).toBe('server_error');
    expect((caught as UpstreamError).message).not.toContain('sk-ant-secret');
    expect(() =>
      new AnthropicStreamTranslator('m').translate({
        type: 'error',
        error: { type: 'rate_limit_error' },
      }),
    ).toThrow(expect.objectContaining({ kind: 'rate_limited' }));
    expect(() => t.finish()).toThrow(expect.objectContaining({ kind: 'connection' }));
  });

  it('keeps the real input_tokens of a stream cut before message_stop, for billing', () => {
    const { t, chunks } = run([
      start,
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello th' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ere' } },
    ]);
    expect(chunks[0].usage).toEqual({ prompt_tokens: 25, completion_tokens: 1, total_tokens: 26 });
    expect(() => t.finish()).toThrow(expect.objectContaining({ kind: 'connection' }));
    // what the stream meter bills for it: real prompt tokens, completion counted from the text
    const meter = new StreamMeter([{ role: 'user', content: 'Hi' }], 'claude', false);
    for (const chunk of chunks) meter.forward(chunk);
    expect(meter.usage()).toEqual({ prompt_tokens: 25, completion_tokens: 3, total_tokens: 28 });
  });

  it('carries output_tokens from message_delta on the finish chunk, final before message_stop', () => {
    const { chunks } = run([
      start,
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 40 } },
    ]);
    const finish = chunks.at(-1);
    expect(finish?.choices[0].finish_reason).toBe('stop');
    expect(finish?.usage).toEqual({ prompt_tokens: 25, completion_tokens: 40, total_tokens: 65 });
    const meter = new StreamMeter([{ role: 'user', content: 'Hi' }], 'claude', true);
    for (const chunk of chunks) meter.forward(chunk);
    expect(meter.usage()).toEqual(finish?.usage);
  });

  it('keeps the cache details from message_start through to the final usage, and on a cut stream', () => {
    const cached = {
      type: 'message_start',
      message: {
        id: 'msg_c',
        model: 'claude',
        content: [],
        usage: {
          input_tokens: 5,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: 20,
          output_tokens: 1,
        },
      },
    };
    const details = { cached_tokens: 100, cache_write_tokens: 20 };
    const whole = run([
      cached,
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ]).chunks;
    expect(whole.at(-1)?.usage).toEqual({
      prompt_tokens: 125,
      completion_tokens: 9,
      total_tokens: 134,
      prompt_tokens_details: details,
    });
    const meter = new StreamMeter([{ role: 'user', content: 'Hi' }], 'claude', true);
    for (const chunk of whole) meter.forward(chunk);
    expect(meter.usage().prompt_tokens_details).toEqual(details);

    const cut = run([
      cached,
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello there' } },
    ]).chunks;
    const cutMeter = new StreamMeter([{ role: 'user', content: 'Hi' }], 'claude', false);
    for (const chunk of cut) cutMeter.forward(chunk);
    expect(cutMeter.usage()).toEqual({
      prompt_tokens: 125,
      completion_tokens: 3,
      total_tokens: 128,
      prompt_tokens_details: details,
    });
  });

  it('sends no usage chunk when the upstream gave no usage', () => {
    const { chunks } = run([
      { type: 'message_start', message: { id: 'm', model: 'x', content: [] } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' } },
      { type: 'message_stop' },
    ]);
    expect(chunks.some((c) => c.usage)).toBe(false);
  });
});
