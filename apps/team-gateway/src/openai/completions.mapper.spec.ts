import 'reflect-metadata';
import { TextCompletionEncoder, toCompletionCallBody, toTextRequest } from './completions.mapper';
import { CompletionRequestDto } from './dto/completion-request.dto';
import { fromTextCompletion, readUsage, toTextBody } from '../providers/openai.adapter';
import type { StreamChunk } from '../providers/provider.types';

const chunk = (over: Partial<StreamChunk>): StreamChunk => ({
  id: 'x',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'public',
  choices: [],
  ...over,
});

describe('legacy completions', () => {
  it('holds for the prompt and OpenAI’s default 16 tokens, and sends the prompt upstream', () => {
    const req = Object.assign(new CompletionRequestDto(), {
      model: 'm',
      prompt: ['Once upon'],
      suffix: 'end',
      temperature: 0.5,
    });
    const body = toCompletionCallBody(req);
    expect(body.messages).toEqual([{ role: 'user', content: 'Once upon' }]);
    expect(body.max_tokens).toBe(16);
    const text = toTextRequest(req, {
      model: 'provider-m',
      messages: body.messages,
      max_tokens: 16,
      temperature: 0.5,
    });
    const target = {
      provider: 'openai' as const,
      apiBase: '',
      apiKey: null,
      providerModel: 'provider-m',
    };
    expect(toTextBody(target, text, true)).toEqual({
      model: 'provider-m',
      prompt: 'Once upon',
      suffix: 'end',
      temperature: 0.5,
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('reads a text_completion, with OpenAI’s token details', () => {
    const result = fromTextCompletion(
      {
        id: 'cmpl-1',
        choices: [{ text: ' a time', finish_reason: 'length' }],
        usage: {
          prompt_tokens: 10,
          completion_tokens: 4,
          total_tokens: 14,
          prompt_tokens_details: { cached_tokens: 6 },
          completion_tokens_details: { reasoning_tokens: 2 },
        },
      },
      { model: 'm', prompt: 'Once upon' },
    );
    expect(result).toMatchObject({ content: ' a time', finish_reason: 'length' });
    expect(result.usage).toEqual({
      prompt_tokens: 10,
      completion_tokens: 4,
      total_tokens: 14,
      prompt_tokens_details: { cached_tokens: 6 },
      completion_tokens_details: { reasoning_tokens: 2 },
    });
    expect(
      readUsage({
        prompt_tokens: 1,
        completion_tokens: 1,
        prompt_tokens_details: { cached_tokens: -1 },
      }),
    ).toEqual({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 });
  });

  it('encodes text_completion chunks, usage when asked (once), then [DONE]', () => {
    const encoder = new TextCompletionEncoder('cmpl-1', true);
    const text = encoder.chunk(
      chunk({ choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] }),
    );
    expect(text).toEqual([
      {
        data: {
          id: 'cmpl-1',
          object: 'text_completion',
          created: expect.any(Number),
          model: 'public',
          choices: [{ text: 'Hi', index: 0, logprobs: null, finish_reason: null }],
        },
      },
    ]);
    const usage = { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 };
    expect(encoder.chunk(chunk({ usage }))).toEqual([
      { data: expect.objectContaining({ choices: [], usage }) },
    ]);
    expect(encoder.end(usage, 'stop')).toEqual([{ data: '[DONE]' }]);
    const quiet = new TextCompletionEncoder('cmpl-2', false);
    expect(quiet.chunk(chunk({ usage }))).toEqual([]);
    expect(quiet.end(usage, 'stop')).toEqual([{ data: '[DONE]' }]);
    const asked = new TextCompletionEncoder('cmpl-3', true);
    expect(asked.end(usage, 'stop')).toEqual([
      { data: expect.objectContaining({ usage }) },
      { data: '[DONE]' },
    ]);
    expect(
      asked.fail({ message: 'boom', type: 'api_error', code: 'upstream_error', kind: 'upstream' }),
    ).toEqual([
      {
        data: {
          error: { message: 'boom', type: 'api_error', param: null, code: 'upstream_error' },
        },
      },
      { data: '[DONE]' },
    ]);
  });
});
