import 'reflect-metadata';
import { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';
import { toCallBody, toChatCompletion, toModel, toOneCallJob } from './openai.mapper';

const request = (fields: Record<string, unknown>) =>
  Object.assign(new ChatCompletionRequestDto(), {
    model: 'm',
    messages: [{ role: 'user', content: 'hi' }],
    ...fields,
  });

describe('toCallBody', () => {
  it('prefers max_completion_tokens over max_tokens', () => {
    expect(toCallBody(request({ max_tokens: 10, max_completion_tokens: 20 })).max_tokens).toBe(20);
    expect(toCallBody(request({ max_tokens: 10 })).max_tokens).toBe(10);
  });

  it('reads null as not given and keeps only what the gateway forwards', () => {
    const body = toCallBody(
      request({
        temperature: null,
        stop: null,
        tools: null,
        seed: 3,
        presence_penalty: 0.5,
        frequency_penalty: null,
        logit_bias: { '50256': -100 },
        user: 'u-1',
        stream: true,
        n: 1,
        store: true,
      }),
    );
    expect(body).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      seed: 3,
      presence_penalty: 0.5,
      frequency_penalty: undefined,
      logit_bias: { '50256': -100 },
      user: 'u-1',
      parallel_tool_calls: undefined,
      temperature: undefined,
      top_p: undefined,
      max_tokens: undefined,
      stop: undefined,
      response_format: undefined,
      tools: undefined,
      tool_choice: undefined,
      purpose: undefined,
      call_metadata: undefined,
    });
  });

  it('drops tool_choice without tools, passes tools, response_format and metadata through', () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    expect(toCallBody(request({ tool_choice: 'auto' })).tool_choice).toBeUndefined();
    const body = toCallBody(
      request({
        tools,
        tool_choice: 'required',
        response_format: { type: 'json_object' },
        metadata: { a: 'b' },
      }),
    );
    expect(body).toMatchObject({
      tools,
      tool_choice: 'required',
      response_format: { type: 'json_object' },
      call_metadata: { a: 'b' },
    });
  });
});

describe('toOneCallJob', () => {
  it('is a chat.completions job for the end user, whose id fits the column', () => {
    expect(toOneCallJob(request({ user: 'u'.repeat(300), metadata: { k: 1 } }))).toEqual({
      job_type: 'chat.completions',
      user_id: 'u'.repeat(255),
      metadata: { k: 1 },
    });
    expect(toOneCallJob(request({}))).toEqual({
      job_type: 'chat.completions',
      user_id: undefined,
      metadata: {},
    });
  });
});

describe('toChatCompletion', () => {
  const usage = { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 };

  it("builds OpenAI's chat.completion object", () => {
    const result = {
      id: 'up',
      model: 'provider-model',
      content: 'Hi',
      finish_reason: 'stop' as const,
      usage,
    };
    expect(toChatCompletion('call-1', result, 'public', 1_700_000_000)).toEqual({
      id: 'chatcmpl-call-1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'public',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hi', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage,
    });
  });

  it('carries tool calls, and totals usage when the upstream left total_tokens at 0', () => {
    const tool_calls = [
      { id: 'c1', type: 'function' as const, function: { name: 'f', arguments: '{}' } },
    ];
    const completion = toChatCompletion(
      'c',
      {
        id: 'x',
        model: 'x',
        content: null,
        finish_reason: 'tool_calls',
        tool_calls,
        usage: { ...usage, total_tokens: 0 },
      },
      'm',
    );
    expect(completion.choices[0].message).toEqual({
      role: 'assistant',
      content: null,
      tool_calls,
      refusal: null,
    });
    expect(completion.usage.total_tokens).toBe(7);
  });
});

describe('toModel', () => {
  it("is OpenAI's model object", () => {
    expect(toModel('gpt', 5)).toEqual({
      id: 'gpt',
      object: 'model',
      created: 5,
      owned_by: 'tollgate',
    });
  });
});
