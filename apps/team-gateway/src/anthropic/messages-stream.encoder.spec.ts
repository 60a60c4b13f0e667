import 'reflect-metadata';
import type { StreamChunk } from '../providers/provider.types';
import { MessagesStreamEncoder } from './messages-stream.encoder';

type Delta = StreamChunk['choices'][number]['delta'];

const chunk = (delta: Delta, finish: StreamChunk['choices'][number]['finish_reason'] = null) =>
  ({
    id: 'x',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'public',
    choices: [{ index: 0, delta, finish_reason: finish }],
  }) as StreamChunk;

const usage = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };

describe('MessagesStreamEncoder (chat chunks → Anthropic events)', () => {
  it('opens the message, runs text deltas in one block, and closes with the billed usage', () => {
    const encoder = new MessagesStreamEncoder(9);
    const events = [
      ...encoder.chunk(chunk({ role: 'assistant', content: '' })),
      ...encoder.chunk(chunk({ content: 'Hel' })),
      ...encoder.chunk(chunk({ content: 'lo' })),
      ...encoder.chunk(chunk({}, 'stop')),
      ...encoder.end(usage, 'stop'),
    ];
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of events) expect((e.data as { type: string }).type).toBe(e.event);
    expect(events[0].data).toMatchObject({
      message: { model: 'public', role: 'assistant', content: [], usage: { input_tokens: 9 } },
    });
    expect(events[3].data).toEqual({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'text_delta', text: 'Hel' },
    });
    expect(events[6].data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: {
        input_tokens: 12,
        output_tokens: 5,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
    });
  });

  it('gives text and each tool call its own block, arguments as input_json_delta', () => {
    const encoder = new MessagesStreamEncoder(1);
    const events = [
      ...encoder.chunk(chunk({ content: 'Looking' })),
      ...encoder.chunk(
        chunk({
          tool_calls: [
            { index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '' } },
          ],
        }),
      ),
      ...encoder.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] })),
      ...encoder.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] })),
      ...encoder.chunk(
        chunk({ tool_calls: [{ index: 1, id: 'c2', function: { name: 'g', arguments: '{}' } }] }),
      ),
      ...encoder.end(usage, 'tool_calls'),
    ].slice(2);
    expect(events.map((e) => [e.event, (e.data as { index?: number }).index])).toEqual([
      ['content_block_start', 0],
      ['content_block_delta', 0],
      ['content_block_stop', 0],
      ['content_block_start', 1],
      ['content_block_delta', 1],
      ['content_block_delta', 1],
      ['content_block_stop', 1],
      ['content_block_start', 2],
      ['content_block_delta', 2],
      ['content_block_stop', 2],
      ['message_delta', undefined],
      ['message_stop', undefined],
    ]);
    expect(events[3].data).toMatchObject({
      content_block: { type: 'tool_use', id: 'c1', name: 'f', input: {} },
    });
    expect(events[4].data).toMatchObject({
      delta: { type: 'input_json_delta', partial_json: '{"a":' },
    });
    expect(events[10].data).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('starts the message even when the stream had no chunk, and maps max_tokens', () => {
    const events = new MessagesStreamEncoder(3).end(usage, 'length');
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'ping',
      'message_delta',
      'message_stop',
    ]);
    expect(events[2].data).toMatchObject({ delta: { stop_reason: 'max_tokens' } });
  });

  it('ends a failed stream with an error event', () => {
    const encoder = new MessagesStreamEncoder(1);
    expect(
      encoder.fail({ message: 'cut', type: 'api_error', code: null, kind: 'shutdown' }),
    ).toEqual([
      {
        event: 'error',
        data: { type: 'error', error: { type: 'overloaded_error', message: 'cut' } },
      },
    ]);
    expect(
      encoder.fail({ message: 'x', type: 'api_error', code: null, kind: 'upstream' })[0].data,
    ).toMatchObject({
      error: { type: 'api_error' },
    });
  });
});

describe('MessagesStreamEncoder (pass-through)', () => {
  it("sends the upstream's own events, the model renamed, and adds no closing events", () => {
    const encoder = new MessagesStreamEncoder(1);
    const start = {
      ...chunk({ role: 'assistant', content: '' }),
      anthropicPassthrough: [
        {
          event: 'message_start',
          data: { type: 'message_start', message: { model: 'claude-x', id: 'm' } },
        },
      ],
    };
    const ping = {
      ...chunk({}),
      choices: [],
      anthropicPassthrough: [{ event: 'ping', data: { type: 'ping' } }],
    };
    expect(encoder.chunk(start)).toEqual([
      {
        event: 'message_start',
        data: { type: 'message_start', message: { model: 'public', id: 'm' } },
      },
    ]);
    expect(encoder.chunk(ping)).toEqual([{ event: 'ping', data: { type: 'ping' } }]);
    expect(encoder.end(usage, 'stop')).toEqual([]);
  });
});
