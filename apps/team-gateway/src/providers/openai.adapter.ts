import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type {
  ChatRequest,
  ChatResult,
  EmbeddingRequest,
  EmbeddingResult,
  FinishReason,
  ProviderAdapter,
  ProviderTarget,
  StreamChunk,
  TextCompletionRequest,
  ToolCall,
  Usage,
} from './provider.types';
import { UpstreamError } from './provider.types';
import { fromResponsesBody, fromResponsesEvent, responsesCall } from './openai-responses';
import { approxTokens, promptText } from './tokens';
import { tokenCount, withDetails } from './usage';
import { errorExcerpt, scrub } from './upstream-errors';
import { UpstreamCall, UpstreamHttp } from './upstream-http';

export const OPENAI_DEFAULT_API_BASE = 'https://api.openai.com/v1';

type Json = Record<string, unknown>;
type ChunkChoice = StreamChunk['choices'][number];
type ToolCallDelta = NonNullable<ChunkChoice['delta']['tool_calls']>[number];

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const malformed = (what: string) =>
  new UpstreamError('malformed_response', `Upstream answer is malformed: ${what}`, 200);

/** `openai` and `openai-compatible` (vLLM, Ollama, LM Studio, OpenRouter…): `POST {base}/chat/completions`. */
@Injectable()
export class OpenAiAdapter implements ProviderAdapter {
  constructor(private readonly http: UpstreamHttp) {}

  async complete(target: ProviderTarget, request: ChatRequest, signal: AbortSignal) {
    if (speaksResponses(target, request)) {
      const call = responsesCall(target, request, OPENAI_DEFAULT_API_BASE, false, signal);
      return fromResponsesBody(await this.http.postJson(call), request);
    }
    const json = await this.http.postJson(upstreamCall(target, request, false, signal));
    return fromOpenAiCompletion(json, request);
  }

  async *stream(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamChunk> {
    if (speaksResponses(target, request)) {
      const call = responsesCall(target, request, OPENAI_DEFAULT_API_BASE, true, signal);
      for await (const event of this.http.postStream(call)) {
        const data = event.data.trim();
        if (event.event === 'json') throw new UpstreamError('malformed_response', 'No stream', 200);
        if (data !== '' && data !== '[DONE]') {
          yield fromResponsesEvent(event.event, parseJson(data), target.apiKey);
        }
      }
      return;
    }
    for await (const event of this.http.postStream(upstreamCall(target, request, true, signal))) {
      const data = event.data.trim();
      if (data === '[DONE]') return;
      if (data === '') continue;
      const parsed = parseJson(data);
      if (event.event === 'json') {
        // The server ignored `stream: true` and answered in one piece.
        yield* chunksFromResult(fromOpenAiCompletion(parsed, request));
        return;
      }
      yield toStreamChunk(parsed, target.apiKey);
    }
  }

  /** `POST {base}/embeddings`, passed through (base64 stays base64). */
  async embed(
    target: ProviderTarget,
    request: EmbeddingRequest,
    signal: AbortSignal,
  ): Promise<EmbeddingResult> {
    const body: Json = { model: target.providerModel };
    Object.assign(body, request, { model: target.providerModel });
    const json = await this.http.postJson(postTo(target, '/embeddings', body, signal));
    return fromOpenAiEmbeddings(json, request);
  }

  /** Legacy `POST {base}/completions`. */
  async completeText(target: ProviderTarget, request: TextCompletionRequest, signal: AbortSignal) {
    const body = toTextBody(target, request, false);
    const json = await this.http.postJson(postTo(target, '/completions', body, signal));
    return fromTextCompletion(json, request);
  }

  async *streamText(
    target: ProviderTarget,
    request: TextCompletionRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamChunk> {
    const body = toTextBody(target, request, true);
    const call = postTo(target, '/completions', body, signal);
    for await (const event of this.http.postStream(call)) {
      const data = event.data.trim();
      if (data === '[DONE]') return;
      if (data === '') continue;
      const parsed = parseJson(data);
      if (event.event === 'json') {
        yield* chunksFromResult(fromTextCompletion(parsed, request));
        return;
      }
      yield toStreamChunk(textChunkAsChat(parsed), target.apiKey);
    }
  }
}

/** A Responses body goes as is to OpenAI itself; openai-compatible servers get chat completions. */
function speaksResponses(target: ProviderTarget, request: ChatRequest): boolean {
  return request.passthrough?.api === 'responses' && target.provider === 'openai';
}

function upstreamCall(
  target: ProviderTarget,
  request: ChatRequest,
  stream: boolean,
  signal: AbortSignal,
): UpstreamCall {
  return postTo(target, '/chat/completions', toOpenAiBody(target, request, stream), signal);
}

/** A POST of `body` to `{api_base}{path}` with the deployment's key. */
function postTo(
  target: ProviderTarget,
  path: string,
  body: Json,
  signal: AbortSignal,
): UpstreamCall {
  const base = target.apiBase || (target.provider === 'openai' ? OPENAI_DEFAULT_API_BASE : '');
  if (!base) {
    throw new UpstreamError('bad_request', 'The deployment has no api_base (openai-compatible)');
  }
  return {
    url: `${base.replace(/\/+$/, '')}${path}`,
    headers: target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {},
    body,
    signal,
    secret: target.apiKey,
  };
}

const FORWARDED = [
  'messages',
  'temperature',
  'max_tokens',
  'top_p',
  'stop',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'user',
] as const satisfies ReadonlyArray<keyof ChatRequest>;

/** The upstream body: the known request fields, for the deployment's model; streams ask for usage. */
export function toOpenAiBody(target: ProviderTarget, request: ChatRequest, stream: boolean): Json {
  const body: Json = { model: target.providerModel };
  for (const key of FORWARDED) if (request[key] !== undefined) body[key] = request[key];
  if (stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  return body;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw malformed('invalid JSON in the stream');
  }
}

export function normalizeFinish(value: unknown, hasToolCalls = false): FinishReason {
  if (value === 'length' || value === 'content_filter' || value === 'tool_calls') return value;
  if (value === 'function_call') return 'tool_calls';
  return hasToolCalls && (value === null || value === undefined) ? 'tool_calls' : 'stop';
}

export function readUsage(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined;
  const { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total } = value;
  if (typeof prompt !== 'number' || typeof completion !== 'number') return undefined;
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: typeof total === 'number' ? total : prompt + completion,
  };
  return withDetails(usage, {
    cached: tokenCount(value.prompt_tokens_details, 'cached_tokens'),
    cacheWrite: tokenCount(value.prompt_tokens_details, 'cache_write_tokens'),
    reasoning: tokenCount(value.completion_tokens_details, 'reasoning_tokens'),
  });
}

const TEXT_FORWARDED = [
  'prompt',
  'suffix',
  'echo',
  'temperature',
  'max_tokens',
  'top_p',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'user',
] as const satisfies ReadonlyArray<keyof TextCompletionRequest>;

/** A legacy completions body: the known fields, for the deployment's model; streams ask for usage. */
export function toTextBody(
  target: ProviderTarget,
  request: TextCompletionRequest,
  stream: boolean,
): Json {
  const body: Json = { model: target.providerModel };
  for (const key of TEXT_FORWARDED) if (request[key] !== undefined) body[key] = request[key];
  if (stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  return body;
}

/** A text_completion body → ChatResult (the text as content); usage estimated when omitted. */
export function fromTextCompletion(json: unknown, request: TextCompletionRequest): ChatResult {
  const choice =
    isObject(json) && Array.isArray(json.choices) ? (json.choices[0] as unknown) : null;
  if (!isObject(json) || !isObject(choice) || typeof choice.text !== 'string') {
    throw malformed('no choices[0].text');
  }
  const usage = readUsage(json.usage);
  const estimate = (): Usage => {
    const prompt = approxTokens(request.prompt);
    const completion = approxTokens(choice.text as string);
    return {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    };
  };
  return {
    id: typeof json.id === 'string' ? json.id : `cmpl-${randomUUID()}`,
    model: typeof json.model === 'string' ? json.model : request.model,
    content: choice.text,
    finish_reason: normalizeFinish(choice.finish_reason),
    usage: usage ?? estimate(),
    ...(usage ? {} : { usage_estimated: true }),
  };
}

/** A text_completion stream chunk in chat-chunk shape (text → delta.content), for toStreamChunk. */
function textChunkAsChat(data: unknown): unknown {
  if (!isObject(data) || !Array.isArray(data.choices)) return data;
  const choices = data.choices.filter(isObject).map((c) => ({
    index: c.index,
    delta: typeof c.text === 'string' ? { content: c.text } : {},
    finish_reason: c.finish_reason,
  }));
  return Object.assign({}, data, { choices });
}

/** An embeddings answer → EmbeddingResult; usage estimated from the input when omitted. */
export function fromOpenAiEmbeddings(json: unknown, request: EmbeddingRequest): EmbeddingResult {
  if (!isObject(json) || !Array.isArray(json.data)) throw malformed('no data');
  const data = json.data.map((item: unknown, i) => {
    const embedding = isObject(item) ? item.embedding : undefined;
    const ok =
      typeof embedding === 'string' ||
      (Array.isArray(embedding) && embedding.every((x) => typeof x === 'number'));
    if (!isObject(item) || !ok) throw malformed('bad data[].embedding');
    return { index: typeof item.index === 'number' ? item.index : i, embedding };
  });
  const reported = isObject(json.usage) ? json.usage.prompt_tokens : undefined;
  const prompt = typeof reported === 'number' ? reported : embeddingInputTokens(request.input);
  return { data, usage: { prompt_tokens: prompt, completion_tokens: 0, total_tokens: prompt } };
}

/** Tokens of an embeddings input: token arrays count themselves, text ~4 characters a token. */
export function embeddingInputTokens(input: EmbeddingRequest['input']): number {
  const items: Array<string | number | number[]> = Array.isArray(input) ? input : [input];
  if (items.every((x) => typeof x === 'number')) return items.length;
  return items.reduce<number>(
    (sum, x) => sum + (typeof x === 'string' ? approxTokens(x) : Array.isArray(x) ? x.length : 1),
    0,
  );
}

function readToolCalls(value: unknown): ToolCall[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.map((raw: unknown, i) => {
    const fn = isObject(raw) && isObject(raw.function) ? raw.function : undefined;
    if (!isObject(raw) || !fn || typeof fn.name !== 'string') throw malformed('bad tool_calls');
    const args = fn.arguments;
    return {
      id: typeof raw.id === 'string' ? raw.id : `call_${i}`,
      type: 'function' as const,
      function: {
        name: fn.name,
        arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
      },
    };
  });
}

/** A chat.completion body → ChatResult; usage is estimated (and flagged) when the server omits it. */
export function fromOpenAiCompletion(json: unknown, request: ChatRequest): ChatResult {
  const choice =
    isObject(json) && Array.isArray(json.choices) ? (json.choices[0] as unknown) : null;
  const message = isObject(choice) ? choice.message : undefined;
  if (!isObject(json) || !isObject(choice) || !isObject(message)) {
    throw malformed('no choices[0].message');
  }
  const content = typeof message.content === 'string' ? message.content : null;
  const toolCalls = readToolCalls(message.tool_calls);
  const result: ChatResult = {
    id: typeof json.id === 'string' ? json.id : `chatcmpl-${randomUUID()}`,
    model: typeof json.model === 'string' ? json.model : request.model,
    content,
    finish_reason: normalizeFinish(choice.finish_reason, Boolean(toolCalls)),
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
  if (toolCalls) result.tool_calls = toolCalls;
  const usage = readUsage(json.usage);
  if (usage) {
    result.usage = usage;
  } else {
    const prompt = approxTokens(promptText(request.messages));
    const completion = approxTokens(
      (content ?? '') +
        (toolCalls ?? []).map((c) => c.function.name + c.function.arguments).join(''),
    );
    result.usage = {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    };
    result.usage_estimated = true;
  }
  return result;
}

function readToolCallDeltas(value: unknown): ToolCallDelta[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter(isObject).map((raw, i) => {
    const fn = isObject(raw.function) ? raw.function : {};
    const delta: ToolCallDelta = { index: typeof raw.index === 'number' ? raw.index : i };
    if (typeof raw.id === 'string') delta.id = raw.id;
    if (raw.type === 'function') delta.type = 'function';
    const out: NonNullable<ToolCallDelta['function']> = {};
    if (typeof fn.name === 'string') out.name = fn.name;
    if (typeof fn.arguments === 'string') out.arguments = fn.arguments;
    if (out.name !== undefined || out.arguments !== undefined) delta.function = out;
    return delta;
  });
}

/** One upstream `chat.completion.chunk` → our StreamChunk; an in-stream `error` is thrown. */
export function toStreamChunk(data: unknown, secret: string | null): StreamChunk {
  if (!isObject(data)) throw malformed('stream chunk is not an object');
  if (data.error !== undefined) {
    const excerpt = scrub(errorExcerpt(JSON.stringify(data)), secret);
    const type = isObject(data.error)
      ? `${String(data.error.type)} ${String(data.error.code)}`
      : '';
    // OpenAI names it (rate_limit_exceeded), Azure gives the status as its code ("429")
    const kind = /rate|\b429\b/i.test(type) ? 'rate_limited' : 'server_error';
    throw new UpstreamError(kind, `Upstream stream failed: ${excerpt}`);
  }
  const usage = readUsage(data.usage);
  if (!Array.isArray(data.choices) && !usage) throw malformed('stream chunk without choices');
  const choices = (Array.isArray(data.choices) ? data.choices : []).filter(isObject);
  const chunk: StreamChunk = {
    id: typeof data.id === 'string' ? data.id : '',
    object: 'chat.completion.chunk',
    created: typeof data.created === 'number' ? data.created : Math.floor(Date.now() / 1000),
    model: typeof data.model === 'string' ? data.model : '',
    choices: choices.map((c, i): ChunkChoice => {
      const raw = isObject(c.delta) ? c.delta : {};
      const delta: ChunkChoice['delta'] = {};
      if (raw.role === 'assistant') delta.role = 'assistant';
      if (typeof raw.content === 'string' || raw.content === null) delta.content = raw.content;
      const toolCalls = readToolCallDeltas(raw.tool_calls);
      if (toolCalls) delta.tool_calls = toolCalls;
      return {
        index: typeof c.index === 'number' ? c.index : i,
        delta,
        finish_reason:
          c.finish_reason === null || c.finish_reason === undefined
            ? null
            : normalizeFinish(c.finish_reason),
      };
    }),
  };
  if (usage) chunk.usage = usage;
  return chunk;
}

/** A whole result as the chunks a stream would have carried (role, content, tool calls, finish, usage). */
export function* chunksFromResult(result: ChatResult): Generator<StreamChunk> {
  const base = {
    id: result.id,
    object: 'chat.completion.chunk' as const,
    created: Math.floor(Date.now() / 1000),
    model: result.model,
  };
  const delta: ChunkChoice['delta'] = { role: 'assistant', content: result.content ?? '' };
  if (result.tool_calls) {
    delta.tool_calls = result.tool_calls.map((c, index) => ({ index, ...c }));
  }
  yield Object.assign({}, base, { choices: [{ index: 0, delta, finish_reason: null }] });
  yield Object.assign({}, base, {
    choices: [{ index: 0, delta: {}, finish_reason: result.finish_reason }],
  });
  if (!result.usage_estimated) yield Object.assign({}, base, { choices: [], usage: result.usage });
}
