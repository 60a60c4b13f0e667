import 'reflect-metadata';
import type { MessagesRequestDto } from './dto/messages-request.dto';
import {
  estimateInputTokens,
  toCallBody,
  toChatMessages,
  toChatToolChoice,
  toChatTools,
  toMessage,
  toMessagesResponse,
  toMessagesUsage,
  toOneCallJob,
  toolInput,
} from './messages.mapper';

const request = (extra: Partial<MessagesRequestDto> = {}): MessagesRequestDto => ({
  model: 'm',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

describe('toChatMessages', () => {
  it('puts the system prompt first (string or text blocks, cache_control dropped)', () => {
    expect(toChatMessages('Be brief', [{ role: 'user', content: 'hi' }])).toEqual([
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: 'hi' },
    ]);
    const blocks = [
      { type: 'text', text: 'one', cache_control: { type: 'ephemeral' } },
      { type: 'text', text: 'two' },
    ];
    expect(toChatMessages(blocks, [])[0]).toEqual({ role: 'system', content: 'one\n\ntwo' });
  });

  it('turns images into image_url parts and keeps text-only turns as strings', () => {
    const messages = toChatMessages(undefined, [
      {
        role: 'user',
        content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAA' } },
          { type: 'image', source: { type: 'url', url: 'https://x/y.png' } },
          { type: 'text', text: 'what?' },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'doc' } },
        ],
      },
    ]);
    expect(messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAA' } },
          { type: 'image_url', image_url: { url: 'https://x/y.png' } },
          { type: 'text', text: 'what?' },
        ],
      },
      { role: 'user', content: 'a\n\nb\n\ndoc' },
    ]);
  });

  it('maps tool_use to tool_calls and tool_result to tool messages before the user text', () => {
    const messages = toChatMessages(undefined, [
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 's' },
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 't1', name: 'lookup', input: { q: 1 } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'and?' },
          { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'found' }] },
          { type: 'tool_result', tool_use_id: 't2', content: 'boom', is_error: true },
        ],
      },
    ]);
    expect(messages).toEqual([
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          { id: 't1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } },
        ],
      },
      { role: 'tool', tool_call_id: 't1', content: 'found' },
      { role: 'tool', tool_call_id: 't2', content: 'Error: boom' },
      { role: 'user', content: 'and?' },
    ]);
  });

  it('keeps system turns mid-conversation (as newer Claude Code sends them) as system messages', () => {
    expect(
      toChatMessages('top', [
        { role: 'user', content: 'hi' },
        { role: 'system', content: [{ type: 'text', text: 'agents: …' }] },
        { role: 'system', content: 'more' },
      ]),
    ).toEqual([
      { role: 'system', content: 'top' },
      { role: 'user', content: 'hi' },
      { role: 'system', content: 'agents: …' },
      { role: 'system', content: 'more' },
    ]);
  });

  it('leaves out turns with nothing a chat model can read', () => {
    expect(
      toChatMessages(undefined, [
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'x' }] },
      ]),
    ).toEqual([]);
  });
});

describe('tools', () => {
  it('keeps client tools as functions and leaves server tools out', () => {
    expect(
      toChatTools([
        { name: 'f', description: 'd', input_schema: { type: 'object', properties: {} } },
        { type: 'web_search_20250305', name: 'web_search' },
        { type: 'custom', name: 'g' },
      ]),
    ).toEqual([
      {
        type: 'function',
        function: { name: 'f', description: 'd', parameters: { type: 'object', properties: {} } },
      },
      { type: 'function', function: { name: 'g', parameters: { type: 'object', properties: {} } } },
    ]);
  });

  it.each([
    [{ type: 'auto' }, 'auto'],
    [{ type: 'any' }, 'required'],
    [{ type: 'none' }, 'none'],
    [
      { type: 'tool', name: 'f' },
      { type: 'function', function: { name: 'f' } },
    ],
    [undefined, undefined],
  ])('tool_choice %j → %j', (choice, expected) => {
    expect(toChatToolChoice(choice)).toEqual(expected);
  });
});

describe('toCallBody', () => {
  it('carries the sampling fields, the user, and the whole body for pass-through', () => {
    const req = request({
      temperature: 0.3,
      top_p: 0.9,
      top_k: 5,
      stop_sequences: ['X'],
      metadata: { user_id: 'u'.repeat(300) },
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    });
    const body = toCallBody(req, 'beta-1');
    expect(body).toMatchObject({
      model: 'm',
      max_tokens: 100,
      temperature: 0.3,
      top_p: 0.9,
      stop: ['X'],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      user: 'u'.repeat(255),
    });
    expect(body.anthropicPassthrough).toEqual({ anthropic: req, beta: 'beta-1' });
    expect(body).not.toHaveProperty('top_k');
  });

  it('drops tool_choice without client tools, and runs as a one-call `messages` job', () => {
    const req = request({ tool_choice: { type: 'any' }, metadata: { user_id: 'bob' } });
    expect(toCallBody(req).tool_choice).toBeUndefined();
    expect(toOneCallJob(req)).toEqual({ job_type: 'messages', user_id: 'bob', metadata: {} });
    expect(toOneCallJob(request()).user_id).toBeUndefined();
  });
});

describe('answers', () => {
  const usage = { prompt_tokens: 130, completion_tokens: 7, total_tokens: 137 };

  it('splits cached prompt tokens out of input_tokens, as Anthropic counts them', () => {
    expect(
      toMessagesUsage({
        ...usage,
        prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 20 },
      }),
    ).toEqual({
      input_tokens: 10,
      output_tokens: 7,
      cache_read_input_tokens: 100,
      cache_creation_input_tokens: 20,
    });
  });

  it('builds a Message with text and tool_use blocks and the stop reason', () => {
    const message = toMessage(
      'call-1',
      {
        id: 'x',
        model: 'up',
        content: 'Sure.',
        finish_reason: 'tool_calls',
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
        usage,
      },
      'public',
    );
    expect(message).toEqual({
      id: 'msg_call-1',
      type: 'message',
      role: 'assistant',
      model: 'public',
      content: [
        { type: 'text', text: 'Sure.' },
        { type: 'tool_use', id: 'c1', name: 'f', input: { a: 1 } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: {
        input_tokens: 130,
        output_tokens: 7,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
    });
    const cut = toMessage(
      'c',
      { id: '', model: '', content: 'a', finish_reason: 'length', usage },
      'p',
    );
    expect(cut.stop_reason).toBe('max_tokens');
  });

  it("returns Anthropic's own answer when passed through, renamed to the public model", () => {
    const raw = { id: 'msg_up', model: 'claude-x', content: [{ type: 'thinking' }], extra: 1 };
    const result = { id: '', model: '', content: '', finish_reason: 'stop' as const, usage };
    expect(toMessagesResponse('c', { ...result, anthropicPassthrough: raw }, 'public')).toEqual({
      ...raw,
      model: 'public',
    });
  });

  it('reads tool arguments that are not JSON objects without throwing', () => {
    expect(toolInput('')).toEqual({});
    expect(toolInput('{bad')).toEqual({});
    expect(toolInput('[1]')).toEqual({ value: [1] });
  });
});

describe('estimateInputTokens', () => {
  it('counts system, messages and tools at ~4 characters a token', () => {
    expect(
      estimateInputTokens({
        model: 'm',
        system: 'abcd',
        messages: [{ role: 'user', content: 'efgh' }],
      }),
    ).toBe(3);
    const withTools = estimateInputTokens({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
    });
    expect(withTools).toBeGreaterThan(10);
  });
});
