import { createHash } from 'node:crypto';

/** What the fake decided to answer, before it is written in OpenAI's or Anthropic's shape. */
export interface Answer {
  id: string;
  model: string;
  content: string;
  toolCall: { id: string; name: string; arguments: string } | null;
  finish: 'stop' | 'length' | 'tool_calls';
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export interface AnswerOptions {
  content?: string;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  toolCalls: boolean;
  chunks: number;
}

interface AnyMessage {
  role?: string;
  content?: unknown;
}

/** Deterministic token count: about 4 characters per token, at least 1. */
export const countTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

const textOf = (content: unknown): string => {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: { text?: unknown; content?: unknown }) =>
        typeof part?.text === 'string' ? part.text : textOf(part?.content),
      )
      .join('');
  }
  return '';
};

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 24);

/** Builds the answer from the request body (OpenAI or Anthropic shape): same prompt, same answer. */
export function answerFor(body: Record<string, unknown>, options: AnswerOptions): Answer {
  const model = typeof body.model === 'string' ? body.model : 'unknown';
  const messages = (Array.isArray(body.messages) ? body.messages : []) as AnyMessage[];
  const system = textOf(body.system);
  const promptText = system + messages.map((m) => textOf(m.content)).join('\n');
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const asked = textOf(lastUser?.content).slice(0, 80);
  let content = options.content ?? `Fake answer from ${model} to: ${asked}`;
  if (options.content === undefined) {
    while (content.length < options.chunks) content += ` ${content}`;
  }
  const tools = Array.isArray(body.tools) ? (body.tools as Record<string, any>[]) : [];
  let toolCall: Answer['toolCall'] = null;
  if (options.toolCalls && tools.length > 0) {
    const choice = body.tool_choice as Record<string, any> | string | undefined;
    const first = tools[0];
    const name: string =
      (typeof choice === 'object' && (choice?.function?.name ?? choice?.name)) ||
      first.function?.name ||
      first.name;
    toolCall = {
      id: `call_${hash(promptText + name)}`,
      name,
      arguments: JSON.stringify({ query: asked }),
    };
    content = '';
  }
  let finish: Answer['finish'] = toolCall ? 'tool_calls' : 'stop';
  const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : undefined;
  if (!toolCall && maxTokens !== undefined && countTokens(content) > maxTokens) {
    content = content.slice(0, maxTokens * 4);
    finish = 'length';
  }
  const prompt = options.usage?.prompt_tokens ?? countTokens(promptText);
  const completion =
    options.usage?.completion_tokens ??
    countTokens(toolCall ? toolCall.name + toolCall.arguments : content);
  return {
    id: hash(`${model}\n${promptText}`),
    model,
    content,
    toolCall,
    finish,
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    },
  };
}

/** Splits text into exactly n pieces (some may be empty when the text is short). */
export function split(text: string, n: number): string[] {
  const size = Math.ceil(text.length / n);
  return Array.from({ length: n }, (_, i) => text.slice(i * size, (i + 1) * size));
}

// ---- OpenAI shapes ----

export function openAiCompletion(a: Answer) {
  return {
    id: `chatcmpl-${a.id}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model: a.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: a.toolCall ? null : a.content,
          ...(a.toolCall
            ? {
                tool_calls: [
                  {
                    id: a.toolCall.id,
                    type: 'function',
                    function: { name: a.toolCall.name, arguments: a.toolCall.arguments },
                  },
                ],
              }
            : {}),
        },
        finish_reason: a.finish,
      },
    ],
    usage: a.usage,
  };
}

/** The `data:` payloads of an OpenAI stream (without `[DONE]`). */
export function openAiChunks(a: Answer, pieces: number, withUsage: boolean): unknown[] {
  const base = { id: `chatcmpl-${a.id}`, object: 'chat.completion.chunk', created: 1_700_000_000 };
  const chunk = (delta: unknown, finish: string | null = null) => ({
    ...base,
    model: a.model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const out: unknown[] = [chunk({ role: 'assistant', content: '' })];
  if (a.toolCall) {
    const { id, name, arguments: args } = a.toolCall;
    out.push(
      chunk({
        tool_calls: [{ index: 0, id, type: 'function', function: { name, arguments: '' } }],
      }),
    );
    for (const part of split(args, pieces)) {
      out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }));
    }
  } else {
    for (const part of split(a.content, pieces)) out.push(chunk({ content: part }));
  }
  out.push(chunk({}, a.finish));
  if (withUsage) out.push({ ...base, model: a.model, choices: [], usage: a.usage });
  return out;
}

export function openAiError(status: number, message: string) {
  const type =
    status === 429
      ? 'rate_limit_exceeded'
      : status >= 500
        ? 'server_error'
        : status === 401 || status === 403
          ? 'authentication_error'
          : 'invalid_request_error';
  return { error: { message, type, param: null, code: type } };
}

// ---- Anthropic shapes ----

const anthropicStop = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' } as const;

/** Anthropic's prompt-cache counts, reported beside input_tokens. */
export interface AnthropicCache {
  read: number;
  write: number;
}

const cacheUsage = (cache?: AnthropicCache): Record<string, number> =>
  cache ? { cache_read_input_tokens: cache.read, cache_creation_input_tokens: cache.write } : {};

/** The fake's count_tokens answer: its own count of the prompt (system, messages, tools). */
export function anthropicInputTokens(body: Record<string, unknown>): number {
  const answer = answerFor(body, { toolCalls: false, chunks: 1 });
  const tools = Array.isArray(body.tools) ? JSON.stringify(body.tools) : '';
  return answer.usage.prompt_tokens + (tools ? countTokens(tools) : 0);
}

export function anthropicMessage(a: Answer, withUsage = true, cache?: AnthropicCache) {
  const content: unknown[] = [];
  if (a.content) content.push({ type: 'text', text: a.content });
  if (a.toolCall) {
    content.push({
      type: 'tool_use',
      id: `toolu_${a.toolCall.id.slice(5)}`,
      name: a.toolCall.name,
      input: JSON.parse(a.toolCall.arguments) as unknown,
    });
  }
  return {
    id: `msg_${a.id}`,
    type: 'message',
    role: 'assistant',
    model: a.model,
    content,
    stop_reason: anthropicStop[a.finish],
    stop_sequence: null,
    ...(withUsage
      ? {
          usage: {
            input_tokens: a.usage.prompt_tokens,
            output_tokens: a.usage.completion_tokens,
            ...cacheUsage(cache),
          },
        }
      : {}),
  };
}

/** The (event, data) pairs of Anthropic's Messages stream, in the real order. */
export function anthropicEvents(
  a: Answer,
  pieces: number,
  withUsage: boolean,
  cache?: AnthropicCache,
): Array<[string, unknown]> {
  const usage = (u: Record<string, number>) => (withUsage ? { usage: u } : {});
  const events: Array<[string, unknown]> = [
    [
      'message_start',
      {
        type: 'message_start',
        message: {
          ...anthropicMessage({ ...a, content: '', toolCall: null }, false),
          content: [],
          stop_reason: null,
          ...usage({ input_tokens: a.usage.prompt_tokens, output_tokens: 1, ...cacheUsage(cache) }),
        },
      },
    ],
  ];
  let index = 0;
  if (a.content || !a.toolCall) {
    events.push([
      'content_block_start',
      { type: 'content_block_start', index, content_block: { type: 'text', text: '' } },
    ]);
    events.push(['ping', { type: 'ping' }]);
    for (const text of split(a.content, pieces)) {
      events.push([
        'content_block_delta',
        { type: 'content_block_delta', index, delta: { type: 'text_delta', text } },
      ]);
    }
    events.push(['content_block_stop', { type: 'content_block_stop', index }]);
    index += 1;
  }
  if (a.toolCall) {
    events.push([
      'content_block_start',
      {
        type: 'content_block_start',
        index,
        content_block: {
          type: 'tool_use',
          id: `toolu_${a.toolCall.id.slice(5)}`,
          name: a.toolCall.name,
          input: {},
        },
      },
    ]);
    for (const partial_json of split(a.toolCall.arguments, pieces)) {
      events.push([
        'content_block_delta',
        { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } },
      ]);
    }
    events.push(['content_block_stop', { type: 'content_block_stop', index }]);
  }
  events.push([
    'message_delta',
    {
      type: 'message_delta',
      delta: { stop_reason: anthropicStop[a.finish], stop_sequence: null },
      ...usage({ output_tokens: a.usage.completion_tokens }),
    },
  ]);
  events.push(['message_stop', { type: 'message_stop' }]);
  return events;
}

export function anthropicError(status: number, message: string) {
  const type =
    status === 429
      ? 'rate_limit_error'
      : status === 529
        ? 'overloaded_error'
        : status >= 500
          ? 'api_error'
          : status === 401
            ? 'authentication_error'
            : status === 403
              ? 'permission_error'
              : status === 404
                ? 'not_found_error'
                : 'invalid_request_error';
  return { type: 'error', error: { type, message } };
}
