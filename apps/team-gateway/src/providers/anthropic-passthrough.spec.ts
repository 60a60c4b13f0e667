import { AnthropicAdapter, passthroughRequest } from './anthropic.adapter';
import type { ChatRequest, ProviderTarget } from './provider.types';
import type { UpstreamCall, UpstreamHttp } from './upstream-http';

const client = {
  model: 'public',
  max_tokens: 100,
  stream: false,
  thinking: { type: 'enabled', budget_tokens: 2000 },
  system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }],
  messages: [{ role: 'user', content: [{ type: 'future_block', x: 1 }] }],
  unknown_field: { a: [1] },
};

const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: 'claude-up',
  messages: [{ role: 'user', content: 'ignored in pass-through' }],
  max_tokens: 100,
  anthropicPassthrough: { anthropic: client, beta: 'beta-x' },
  ...extra,
});

const target: ProviderTarget = {
  provider: 'anthropic',
  apiBase: 'http://up',
  apiKey: 'sk-up',
  providerModel: 'claude-up',
};

describe('passthroughRequest', () => {
  it("keeps the client's fields, sets the deployment's model and the pipeline's max_tokens", () => {
    expect(passthroughRequest(request({ max_tokens: 40 }), 'claude-up', false)).toEqual({
      ...Object.fromEntries(Object.entries(client).filter(([k]) => k !== 'stream')),
      model: 'claude-up',
      max_tokens: 40,
    });
    expect(passthroughRequest(request(), 'claude-up', true)).toMatchObject({ stream: true });
  });
});

describe('AnthropicAdapter in pass-through', () => {
  const answer = {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-up',
    content: [
      { type: 'thinking', thinking: 't', signature: 's' },
      { type: 'text', text: 'Hi' },
    ],
    stop_reason: 'end_turn',
    usage: { input_tokens: 3, output_tokens: 2, cache_read_input_tokens: 10 },
  };

  it("sends the client's body and returns Anthropic's own answer beside the metered result", async () => {
    const calls: UpstreamCall[] = [];
    const http = {
      postJson: (call: UpstreamCall) => {
        calls.push(call);
        return Promise.resolve(answer);
      },
    } as unknown as UpstreamHttp;
    const result = await new AnthropicAdapter(http).complete(
      target,
      request(),
      new AbortController().signal,
    );
    expect(calls[0].body).toMatchObject({ unknown_field: { a: [1] }, model: 'claude-up' });
    expect(calls[0].headers).toMatchObject({ 'anthropic-beta': 'beta-x', 'x-api-key': 'sk-up' });
    expect(result.anthropicPassthrough).toBe(answer);
    expect(result).toMatchObject({
      content: 'Hi',
      usage: { prompt_tokens: 13, completion_tokens: 2 },
    });
  });

  it('attaches every upstream event to the chunks it became, ping and block stops included', async () => {
    const events = [
      {
        event: 'message_start',
        data: { type: 'message_start', message: { id: 'm', usage: { input_tokens: 3 } } },
      },
      { event: 'ping', data: { type: 'ping' } },
      {
        event: 'content_block_start',
        data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      },
      {
        event: 'content_block_delta',
        data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      },
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
      {
        event: 'message_delta',
        data: {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn' },
          usage: { output_tokens: 2 },
        },
      },
      { event: 'message_stop', data: { type: 'message_stop' } },
    ];
    const http = {
      async *postStream() {
        for (const e of events) {
          await Promise.resolve(); // as the network would
          yield { event: e.event, data: JSON.stringify(e.data) };
        }
      },
    } as unknown as UpstreamHttp;
    const raw = [];
    for await (const chunk of new AnthropicAdapter(http).stream(
      target,
      request(),
      new AbortController().signal,
    )) {
      raw.push(...(chunk.anthropicPassthrough ?? []));
    }
    expect(raw).toEqual(events);
  });
});
