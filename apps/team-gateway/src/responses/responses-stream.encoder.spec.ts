import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { fromResponsesEvent } from '../providers/openai-responses';
import type { StreamChunk } from '../providers/provider.types';
import type { SseEvent } from '../streaming/stream-encoder';
import { CreateResponseDto } from './dto/create-response.dto';
import { ResponsesEncoder } from './responses-stream.encoder';

const req = plainToInstance(CreateResponseDto, { model: 'pub', input: 'x' });
const chunk = (delta: StreamChunk['choices'][number]['delta']): StreamChunk => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'pub',
  choices: [{ index: 0, delta, finish_reason: null }],
});
const data = (events: SseEvent[]) => events.map((e) => e.data as Record<string, any>);
const usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };

describe('ResponsesEncoder', () => {
  it('writes text then a tool call as items, numbered, closing each before the next', () => {
    const encoder = new ResponsesEncoder(req);
    const events = [
      ...encoder.chunk(chunk({ role: 'assistant', content: '' })),
      ...encoder.chunk(chunk({ content: 'Hel' })),
      ...encoder.chunk(chunk({ content: 'lo' })),
      ...encoder.chunk(
        chunk({
          tool_calls: [
            { index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } },
          ],
        }),
      ),
      ...encoder.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] })),
      ...encoder.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] })),
      ...encoder.end(usage, 'tool_calls'),
    ];
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const all = data(events);
    expect(all.map((d) => d.sequence_number)).toEqual(all.map((_, i) => i));
    expect(all.map((d) => d.type)).toEqual(events.map((e) => e.event));
    expect(all[6]).toMatchObject({ output_index: 0, text: 'Hello' });
    expect(all[12]).toMatchObject({ output_index: 1, name: 'f', arguments: '{"a":1}' });
    const response = all.at(-1)!.response;
    expect(response).toMatchObject({
      status: 'completed',
      model: 'pub',
      usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 },
      output: [
        { type: 'message', content: [{ type: 'output_text', text: 'Hello' }] },
        { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":1}' },
      ],
    });
    expect(all[0].response.id).toBe(response.id);
  });

  it('ends a cut answer as response.incomplete, a failure as error + response.failed', () => {
    const cut = new ResponsesEncoder(req);
    cut.chunk(chunk({ content: 'a' }));
    const end = data(cut.end(usage, 'length'));
    expect(end.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } },
    });
    const failing = new ResponsesEncoder(req);
    failing.chunk(chunk({ content: 'a' }));
    const failed = data(
      failing.fail({
        message: 'boom',
        type: 'api_error',
        code: 'upstream_error',
        kind: 'upstream',
      }),
    );
    expect(failed.map((d) => d.type)).toEqual(['error', 'response.failed']);
    expect(failed[1].response).toMatchObject({ status: 'failed', error: { message: 'boom' } });
  });

  it('relays passed-through events as is, with the public model, and adds nothing at the end', () => {
    const encoder = new ResponsesEncoder(req);
    const created = fromResponsesEvent(
      'response.created',
      { type: 'response.created', sequence_number: 0, response: { id: 'resp_u', model: 'gpt-x' } },
      null,
    );
    const delta = fromResponsesEvent(
      'response.output_text.delta',
      { type: 'response.output_text.delta', sequence_number: 1, delta: 'hi', unknown: true },
      null,
    );
    expect(delta.choices[0].delta.content).toBe('hi');
    const completed = fromResponsesEvent(
      'response.completed',
      {
        type: 'response.completed',
        sequence_number: 2,
        response: {
          status: 'completed',
          model: 'gpt-x',
          output: [],
          usage: {
            input_tokens: 5,
            input_tokens_details: { cached_tokens: 2 },
            output_tokens: 3,
            output_tokens_details: { reasoning_tokens: 1 },
            total_tokens: 8,
          },
        },
      },
      null,
    );
    expect(completed.usage).toEqual({
      prompt_tokens: 5,
      completion_tokens: 3,
      total_tokens: 8,
      prompt_tokens_details: { cached_tokens: 2 },
      completion_tokens_details: { reasoning_tokens: 1 },
    });
    const out = [created, delta, completed].flatMap((c) => encoder.chunk({ ...c, model: 'pub' }));
    expect(data(out)).toEqual([
      { type: 'response.created', sequence_number: 0, response: { id: 'resp_u', model: 'pub' } },
      { type: 'response.output_text.delta', sequence_number: 1, delta: 'hi', unknown: true },
      expect.objectContaining({
        type: 'response.completed',
        response: expect.objectContaining({ model: 'pub' }),
      }),
    ]);
    expect(encoder.end(completed.usage!, 'stop')).toEqual([]);
    expect(() =>
      fromResponsesEvent('error', { type: 'error', code: 'server_error', message: 'x' }, null),
    ).toThrow(/Upstream stream failed/);
  });
});
