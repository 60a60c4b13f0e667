import { createHash } from 'node:crypto';

/** What the fake decided to answer, before it is written in OpenAI's or Anthropic's shape. */
export interface Answer {
  id: string;
  model: string;
  content: string;
  toolCall: { id: string; name: string; arguments: string } | null;
  finish: 'stop' | 'length' | 'tool_calls';
  /** Every input token (cached ones included) and every output token (reasoning included). */
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** How many of them each dialect reports as cache reads, cache writes and reasoning. */
  details: UsageDetails;
}

export interface UsageDetails {
  cached?: number;
  cacheWrite?: number;
  reasoning?: number;
}

export interface AnswerOptions {
  content?: string;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  details?: UsageDetails;
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
  // a legacy completion's prompt reads as one user message
  const messages = (
    Array.isArray(body.messages)
      ? body.messages
      : body.prompt !== undefined
        ? [{ role: 'user', content: textOf(body.prompt) }]
        : []
  ) as AnyMessage[];
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
    details: options.details ?? {},
  };
}

/** OpenAI's usage object: details only when the behaviour sets them. */
export function openAiUsage(a: Answer) {
  const { cached, cacheWrite, reasoning } = a.details;
  return {
    ...a.usage,
    ...(cached !== undefined || cacheWrite !== undefined
      ? {
          prompt_tokens_details: {
            ...(cached !== undefined ? { cached_tokens: cached } : {}),
            ...(cacheWrite !== undefined ? { cache_write_tokens: cacheWrite } : {}),
          },
        }
      : {}),
    ...(reasoning !== undefined
      ? { completion_tokens_details: { reasoning_tokens: reasoning } }
      : {}),
  };
}

/** Anthropic's usage: input_tokens leaves out the cache reads and writes, counted apart. */
export function anthropicUsage(a: Answer, outputTokens = a.usage.completion_tokens) {
  const { cached, cacheWrite } = a.details;
  return {
    input_tokens: a.usage.prompt_tokens - (cached ?? 0) - (cacheWrite ?? 0),
    output_tokens: outputTokens,
    ...(cacheWrite !== undefined ? { cache_creation_input_tokens: cacheWrite } : {}),
    ...(cached !== undefined ? { cache_read_input_tokens: cached } : {}),
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
    usage: openAiUsage(a),
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
  if (withUsage) out.push({ ...base, model: a.model, choices: [], usage: openAiUsage(a) });
  return out;
}

/** OpenAI's legacy `text_completion` object. */
export function openAiTextCompletion(a: Answer) {
  return {
    id: `cmpl-${a.id}`,
    object: 'text_completion',
    created: 1_700_000_000,
    model: a.model,
    choices: [{ text: a.content, index: 0, logprobs: null, finish_reason: a.finish }],
    usage: openAiUsage(a),
  };
}

/** The `data:` payloads of a legacy completions stream (without `[DONE]`). */
export function openAiTextChunks(a: Answer, pieces: number, withUsage: boolean): unknown[] {
  const base = { id: `cmpl-${a.id}`, object: 'text_completion', created: 1_700_000_000 };
  const chunk = (text: string, finish: string | null = null) => ({
    ...base,
    model: a.model,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
  });
  const out: unknown[] = split(a.content, pieces).map((part) => chunk(part));
  out.push(chunk('', a.finish));
  if (withUsage) out.push({ ...base, model: a.model, choices: [], usage: openAiUsage(a) });
  return out;
}

/** A deterministic unit vector for one embeddings input. */
export function fakeEmbedding(model: string, input: unknown, dimensions: number): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const bytes = createHash('sha256')
      .update(`${block}:${model}:${JSON.stringify(input)}`)
      .digest();
    for (let i = 0; i + 4 <= bytes.length && values.length < dimensions; i += 4) {
      values.push(bytes.readUInt32LE(i) / 0xffffffff - 0.5);
    }
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((v) => Math.fround(v / norm));
}

/**
 * OpenAI's embeddings answer: one vector per input (8 dimensions unless `dimensions`), base64
 * float32 when asked; usage counts text at ~4 characters a token and token arrays by length.
 */
export function openAiEmbeddings(
  body: Record<string, any>,
  usage?: { prompt_tokens?: number; completion_tokens?: number },
) {
  const model = typeof body.model === 'string' ? body.model : 'unknown';
  const input: unknown = body.input;
  const items: unknown[] =
    typeof input === 'string'
      ? [input]
      : Array.isArray(input) && input.every((x) => typeof x === 'number')
        ? [input]
        : Array.isArray(input)
          ? input
          : [];
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : 8;
  const data = items.map((item, index) => {
    const vector = fakeEmbedding(model, item, dimensions);
    const embedding =
      body.encoding_format === 'base64'
        ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
        : vector;
    return { object: 'embedding', index, embedding };
  });
  const counted = items.reduce<number>(
    (sum, item) =>
      sum + (typeof item === 'string' ? countTokens(item) : Array.isArray(item) ? item.length : 0),
    0,
  );
  const prompt = usage?.prompt_tokens ?? counted;
  return { object: 'list', data, model, usage: { prompt_tokens: prompt, total_tokens: prompt } };
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

/** The fake's count_tokens answer: its own count of the prompt (system, messages, tools). */
export function anthropicInputTokens(body: Record<string, unknown>): number {
  const answer = answerFor(body, { toolCalls: false, chunks: 1 });
  const tools = Array.isArray(body.tools) ? JSON.stringify(body.tools) : '';
  return answer.usage.prompt_tokens + (tools ? countTokens(tools) : 0);
}

export function anthropicMessage(a: Answer, withUsage = true) {
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
    ...(withUsage ? { usage: anthropicUsage(a) } : {}),
  };
}

/** The (event, data) pairs of Anthropic's Messages stream, in the real order. */
export function anthropicEvents(
  a: Answer,
  pieces: number,
  withUsage: boolean,
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
          ...usage(anthropicUsage(a, 1)),
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

// ---- OpenAI Responses shapes ----

/** A Responses body in the chat shape answerFor reads (instructions + input items → messages). */
export function responsesAsChat(body: Record<string, any>): Record<string, unknown> {
  const messages: AnyMessage[] = [];
  if (typeof body.instructions === 'string') {
    messages.push({ role: 'system', content: body.instructions });
  }
  const input: unknown = body.input;
  if (typeof input === 'string') messages.push({ role: 'user', content: input });
  for (const item of Array.isArray(input) ? (input as Record<string, any>[]) : []) {
    if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', content: String(item.output) });
    } else if (typeof item.role === 'string') {
      messages.push({ role: item.role, content: item.content });
    }
  }
  return {
    model: body.model,
    messages,
    tools: body.tools,
    tool_choice: body.tool_choice,
    max_tokens: body.max_output_tokens,
  };
}

const responsesUsage = (a: Answer) => ({
  input_tokens: a.usage.prompt_tokens,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: a.usage.completion_tokens,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: a.usage.total_tokens,
});

function responsesOutput(a: Answer, done: boolean) {
  const status = done ? 'completed' : 'in_progress';
  const output: Record<string, unknown>[] = [];
  if (a.content) {
    output.push({
      id: `msg_${a.id}`,
      type: 'message',
      status,
      role: 'assistant',
      content: done
        ? [{ type: 'output_text', text: a.content, annotations: [], logprobs: [] }]
        : [],
    });
  }
  if (a.toolCall) {
    output.push({
      id: `fc_${a.id}`,
      type: 'function_call',
      status,
      call_id: a.toolCall.id,
      name: a.toolCall.name,
      arguments: done ? a.toolCall.arguments : '',
    });
  }
  return output;
}

/** OpenAI's Response object; `echo` is the request's own fields (as OpenAI echoes them). */
export function openAiResponse(
  a: Answer,
  echo: Record<string, unknown>,
  state: 'in_progress' | 'done',
  withUsage = true,
) {
  const done = state === 'done';
  const incomplete = done && a.finish === 'length';
  return {
    id: `resp_${a.id}`,
    object: 'response',
    created_at: 1_700_000_000,
    status: done ? (incomplete ? 'incomplete' : 'completed') : 'in_progress',
    error: null,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    instructions: echo.instructions ?? null,
    max_output_tokens: echo.max_output_tokens ?? null,
    model: a.model,
    output: done ? responsesOutput(a, true) : [],
    parallel_tool_calls: true,
    previous_response_id: null,
    store: echo.store ?? true,
    temperature: 1,
    tool_choice: echo.tool_choice ?? 'auto',
    tools: echo.tools ?? [],
    top_p: 1,
    // a field only the real API knows about: pass-through must keep it
    service_tier: 'default',
    usage: done && withUsage ? responsesUsage(a) : null,
  };
}

/** The (event, data) pairs of a Responses stream, in the real order, numbered. */
export function openAiResponseEvents(
  a: Answer,
  echo: Record<string, unknown>,
  pieces: number,
  withUsage: boolean,
): Array<[string, unknown]> {
  const events: Array<[string, Record<string, unknown>]> = [];
  const push = (type: string, fields: Record<string, unknown>) =>
    events.push([type, { type, ...fields }]);
  const started = openAiResponse(a, echo, 'in_progress');
  push('response.created', { response: started });
  push('response.in_progress', { response: started });
  const [message, call] = [responsesOutput(a, false), responsesOutput(a, true)];
  let index = 0;
  if (a.content) {
    const item_id = `msg_${a.id}`;
    push('response.output_item.added', { output_index: index, item: message[0] });
    const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    push('response.content_part.added', { item_id, output_index: index, content_index: 0, part });
    for (const delta of split(a.content, pieces)) {
      push('response.output_text.delta', {
        item_id,
        output_index: index,
        content_index: 0,
        delta,
        logprobs: [],
      });
    }
    push('response.output_text.done', {
      item_id,
      output_index: index,
      content_index: 0,
      text: a.content,
      logprobs: [],
    });
    push('response.content_part.done', {
      item_id,
      output_index: index,
      content_index: 0,
      part: { ...part, text: a.content },
    });
    push('response.output_item.done', { output_index: index, item: call[0] });
    index += 1;
  }
  if (a.toolCall) {
    const item_id = `fc_${a.id}`;
    push('response.output_item.added', { output_index: index, item: message[index] });
    for (const delta of split(a.toolCall.arguments, pieces)) {
      push('response.function_call_arguments.delta', { item_id, output_index: index, delta });
    }
    push('response.function_call_arguments.done', {
      item_id,
      output_index: index,
      name: a.toolCall.name,
      arguments: a.toolCall.arguments,
    });
    push('response.output_item.done', { output_index: index, item: call[index] });
  }
  const final = openAiResponse(a, echo, 'done', withUsage);
  push(final.status === 'incomplete' ? 'response.incomplete' : 'response.completed', {
    response: final,
  });
  return events.map(([type, data], sequence_number) => [type, { ...data, sequence_number }]);
}
