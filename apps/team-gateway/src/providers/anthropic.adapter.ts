import { Injectable } from '@nestjs/common';
import type {
  ChatMessage,
  ChatRequest,
  ChatResult,
  ContentPart,
  FinishReason,
  ProviderAdapter,
  ProviderTarget,
  RawStreamEvent,
  StreamChunk,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  Usage,
  UpstreamErrorKind,
} from './provider.types';
import { UpstreamError } from './provider.types';
import { estimateUsage, textOf } from './tokens';
import { splitTurns } from './turns';
import { scrub } from './upstream-errors';
import { UpstreamHttp } from './upstream-http';
import { tokenCount, withDetails } from './usage';

export const ANTHROPIC_DEFAULT_API_BASE = 'https://api.anthropic.com';
export const ANTHROPIC_VERSION = '2023-06-01';
/** Anthropic requires max_tokens; used when the caller gives none. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

type Json = Record<string, unknown>;
type Block = Json & { type: string };
type ChunkDelta = StreamChunk['choices'][number]['delta'];

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: string;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  tools?: Array<{ name: string; description?: string; input_schema: Json }>;
  tool_choice?: { type: 'auto' | 'any' | 'none' } | { type: 'tool'; name: string };
  metadata?: { user_id: string };
  stream?: boolean;
}

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const malformed = (what: string) =>
  new UpstreamError('malformed_response', `Upstream answer is malformed: ${what}`, 200);

/** Anthropic Messages API: `POST {base}/v1/messages`, translated to and from OpenAI's shape. */
@Injectable()
export class AnthropicAdapter implements ProviderAdapter {
  constructor(private readonly http: UpstreamHttp) {}

  async complete(target: ProviderTarget, request: ChatRequest, signal: AbortSignal) {
    const body = request.anthropicPassthrough
      ? passthroughRequest(request, target.providerModel, false)
      : toAnthropicRequest(request, target.providerModel, false);
    const json = await this.http.postJson(
      Object.assign({}, this.endpoint(target, request), { body, signal }),
    );
    const result = fromAnthropicMessage(json, request);
    // pass-through: the client gets Anthropic's own answer; the pipeline meters the result
    if (request.anthropicPassthrough) result.anthropicPassthrough = json as Record<string, unknown>;
    return result;
  }

  async *stream(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamChunk> {
    const body = request.anthropicPassthrough
      ? passthroughRequest(request, target.providerModel, true)
      : toAnthropicRequest(request, target.providerModel, true);
    const translator = new AnthropicStreamTranslator(target.providerModel, target.apiKey);
    const call = Object.assign({}, this.endpoint(target, request), { body, signal });
    for await (const event of this.http.postStream(call)) {
      if (event.data.trim() === '') continue;
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        throw malformed('invalid JSON in the stream');
      }
      const chunks = translator.translate(data);
      if (request.anthropicPassthrough) yield* withRawEvent(chunks, { event: event.event, data });
      else yield* chunks;
    }
    translator.finish();
  }

  /**
   * Anthropic's own token count for a Messages body (`POST /v1/messages/count_tokens`, free of
   * charge upstream); `body` is the client's, its model replaced by the deployment's.
   */
  async countTokens(
    target: ProviderTarget,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<number> {
    const endpoint = this.endpoint(target);
    const json = await this.http.postJson(
      Object.assign({}, endpoint, {
        url: `${endpoint.url}/count_tokens`,
        body: Object.assign({}, body, { model: target.providerModel }),
        signal,
      }),
    );
    if (!isObject(json) || typeof json.input_tokens !== 'number')
      throw malformed('no input_tokens');
    return json.input_tokens;
  }

  private endpoint(target: ProviderTarget, request?: ChatRequest) {
    const base = (target.apiBase || ANTHROPIC_DEFAULT_API_BASE).replace(/\/+$/, '');
    const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION };
    if (target.apiKey) headers['x-api-key'] = target.apiKey;
    const beta = request?.anthropicPassthrough?.beta;
    if (beta) headers['anthropic-beta'] = beta;
    return { url: `${base}/v1/messages`, headers, secret: target.apiKey };
  }
}

/**
 * The client's own Messages body for a pass-through request: its fields kept as they came, the
 * model the deployment's, max_tokens the pipeline's (it may cap it to what the hold pays for).
 */
export function passthroughRequest(
  request: ChatRequest,
  model: string,
  stream: boolean,
): Record<string, unknown> {
  const { stream: _stream, ...body } = request.anthropicPassthrough?.anthropic ?? {};
  const out: Record<string, unknown> = Object.assign({}, body, { model });
  if (request.max_tokens !== undefined) out.max_tokens = request.max_tokens;
  if (stream) out.stream = true;
  return out;
}

/** Attaches one upstream event to the chunks it became (a bare carrier chunk when none). */
function withRawEvent(chunks: StreamChunk[], raw: RawStreamEvent): StreamChunk[] {
  if (chunks.length === 0) {
    const carrier: StreamChunk = {
      id: '',
      object: 'chat.completion.chunk',
      created: 0,
      model: '',
      choices: [],
      anthropicPassthrough: [raw],
    };
    return [carrier];
  }
  return chunks.map((chunk, i) =>
    i === 0 ? Object.assign({}, chunk, { anthropicPassthrough: [raw] }) : chunk,
  );
}

// ---- OpenAI request → Anthropic request ----

function imageBlock(url: string): Block {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return data
    ? { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } }
    : { type: 'image', source: { type: 'url', url } };
}

function contentBlocks(content: ChatMessage['content']): Block[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  return (content ?? []).flatMap((part: ContentPart): Block[] => {
    if (part.type === 'image_url' && part.image_url?.url) return [imageBlock(part.image_url.url)];
    return part.text ? [{ type: 'text', text: part.text }] : [];
  });
}

function parseArguments(call: ToolCall): unknown {
  try {
    return call.function.arguments.trim() ? (JSON.parse(call.function.arguments) as unknown) : {};
  } catch {
    throw new UpstreamError(
      'bad_request',
      `Tool call ${call.function.name} has arguments that are not valid JSON`,
    );
  }
}

function blocksOf(message: ChatMessage): Block[] {
  switch (message.role) {
    case 'tool':
      return [
        {
          type: 'tool_result',
          tool_use_id: message.tool_call_id ?? '',
          content: textOf(message.content),
        },
      ];
    case 'assistant':
      return [
        ...contentBlocks(message.content),
        ...(message.tool_calls ?? []).map((call) => ({
          type: 'tool_use',
          id: call.id,
          name: call.function.name,
          input: parseArguments(call),
        })),
      ];
    case 'user':
    case 'system':
    case 'developer':
      return contentBlocks(message.content);
  }
}

/**
 * System and developer messages become the top-level `system`; tool results become user
 * `tool_result` blocks; assistant tool calls become `tool_use` blocks; consecutive turns of one
 * role are merged, as Anthropic expects alternating roles.
 */
export function toAnthropicMessages(messages: ChatMessage[]): {
  system?: string;
  messages: AnthropicMessage[];
} {
  const { system, turns } = splitTurns(messages, blocksOf);
  return system.length > 0 ? { system: system.join('\n\n'), messages: turns } : { messages: turns };
}

export function toAnthropicTools(tools: ToolDefinition[]): AnthropicRequest['tools'] {
  return tools.map((tool) => ({
    name: tool.function.name,
    ...(tool.function.description ? { description: tool.function.description } : {}),
    input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
  }));
}

export function toAnthropicToolChoice(choice: ToolChoice): AnthropicRequest['tool_choice'] {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'required') return { type: 'any' };
  if (choice === 'none') return { type: 'none' };
  return { type: 'tool', name: choice.function.name };
}

/** Anthropic has no JSON mode: asking for JSON becomes an instruction in the system prompt. */
function jsonInstruction(format: Json | undefined): string | null {
  if (format?.type === 'json_object') return 'Respond only with a valid JSON object.';
  if (format?.type === 'json_schema') {
    const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
    return `Respond only with a valid JSON object matching this JSON schema: ${JSON.stringify(schema ?? {})}`;
  }
  return null;
}

export function toAnthropicRequest(
  request: ChatRequest,
  model: string,
  stream: boolean,
): AnthropicRequest {
  const { system, messages } = toAnthropicMessages(request.messages);
  const body: AnthropicRequest = {
    model,
    max_tokens: request.max_tokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages,
  };
  const json = jsonInstruction(request.response_format);
  const systemText = [system, json].filter(Boolean).join('\n\n');
  if (systemText) body.system = systemText;
  // OpenAI's temperature goes to 2, Anthropic's to 1.
  if (request.temperature !== undefined) body.temperature = Math.min(request.temperature, 1);
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (request.stop !== undefined) {
    body.stop_sequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  }
  if (request.tools && request.tools.length > 0) {
    body.tools = toAnthropicTools(request.tools);
    if (request.tool_choice !== undefined) {
      body.tool_choice = toAnthropicToolChoice(request.tool_choice);
    }
  }
  if (request.user) body.metadata = { user_id: request.user };
  if (stream) body.stream = true;
  return body;
}

// ---- Anthropic answer → OpenAI result ----

export function mapStopReason(reason: unknown): FinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** input_tokens plus cached input: everything the model read, as OpenAI counts prompt_tokens. */
function inputTokens(usage: Json): number | undefined {
  if (typeof usage.input_tokens !== 'number') return undefined;
  const cached = ['cache_creation_input_tokens', 'cache_read_input_tokens']
    .map((k) => usage[k])
    .filter((v): v is number => typeof v === 'number');
  return usage.input_tokens + cached.reduce((a, b) => a + b, 0);
}

/**
 * Anthropic's usage in OpenAI's shape: input_tokens excludes the cache reads and writes, so they
 * are added into prompt_tokens and reported again as details.
 */
export function fromAnthropicUsage(usage: unknown): Usage | undefined {
  if (!isObject(usage)) return undefined;
  const prompt = inputTokens(usage);
  const completion = usage.output_tokens;
  if (prompt === undefined || typeof completion !== 'number') return undefined;
  return withDetails(
    { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    {
      cached: tokenCount(usage, 'cache_read_input_tokens'),
      cacheWrite: tokenCount(usage, 'cache_creation_input_tokens'),
    },
  );
}

export function fromAnthropicMessage(json: unknown, request: ChatRequest): ChatResult {
  if (!isObject(json) || !Array.isArray(json.content)) throw malformed('no content blocks');
  const blocks = json.content.filter(isObject);
  const text = blocks
    .filter((b) => b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('');
  const toolCalls: ToolCall[] = blocks
    .filter((b) => b.type === 'tool_use')
    .map((b) => {
      if (typeof b.id !== 'string' || typeof b.name !== 'string') throw malformed('bad tool_use');
      return {
        id: b.id,
        type: 'function' as const,
        function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
      };
    });
  const content = text === '' && toolCalls.length > 0 ? null : text;
  const result: ChatResult = {
    id: typeof json.id === 'string' ? json.id : '',
    model: typeof json.model === 'string' ? json.model : request.model,
    content,
    finish_reason: mapStopReason(json.stop_reason),
    usage: fromAnthropicUsage(json.usage) ?? estimateUsage(request.messages, text, toolCalls),
  };
  if (!fromAnthropicUsage(json.usage)) result.usage_estimated = true;
  if (toolCalls.length > 0) result.tool_calls = toolCalls;
  return result;
}

export function anthropicErrorKind(type: unknown): UpstreamErrorKind {
  switch (type) {
    case 'rate_limit_error':
      return 'rate_limited';
    case 'authentication_error':
    case 'permission_error':
      return 'auth';
    case 'invalid_request_error':
    case 'not_found_error':
    case 'request_too_large':
      return 'bad_request';
    default:
      return 'server_error';
  }
}

/**
 * Turns Anthropic stream events into OpenAI chunks, one event at a time: message_start → role
 * chunk; text_delta → content; tool_use start / input_json_delta → tool_calls deltas (indexed
 * per tool); message_delta → finish_reason; message_stop → the final usage chunk. The usage
 * known so far also rides on the role chunk (input_tokens) and the finish chunk (output_tokens),
 * so a stream cut before message_stop is still billed on the real prompt tokens.
 */
export class AnthropicStreamTranslator {
  private id = '';
  private readonly created = Math.floor(Date.now() / 1000);
  private promptTokens = 0;
  private completionTokens = 0;
  private cachedTokens: number | undefined;
  private cacheWriteTokens: number | undefined;
  private sawUsage = false;
  private readonly toolIndex = new Map<number, number>();
  private stopped = false;

  constructor(
    private model: string,
    private readonly secret: string | null = null,
  ) {}

  /** True once message_stop arrived. */
  get done(): boolean {
    return this.stopped;
  }

  translate(data: unknown): StreamChunk[] {
    if (!isObject(data)) throw malformed('stream event is not an object');
    switch (data.type) {
      case 'message_start':
        return this.start(isObject(data.message) ? data.message : {});
      case 'content_block_start':
        return this.blockStart(data);
      case 'content_block_delta':
        return this.blockDelta(data);
      case 'message_delta': {
        this.readUsage(data.usage);
        const delta = isObject(data.delta) ? data.delta : {};
        return [this.withUsage(this.chunk({}, mapStopReason(delta.stop_reason)))];
      }
      case 'message_stop':
        this.stopped = true;
        return this.sawUsage ? [this.usageChunk()] : [];
      case 'error': {
        const error = isObject(data.error) ? data.error : {};
        const message = typeof error.message === 'string' ? error.message.slice(0, 200) : '';
        throw new UpstreamError(
          anthropicErrorKind(error.type),
          scrub(`Upstream stream failed: ${String(error.type)} ${message}`.trim(), this.secret),
        );
      }
      default:
        return []; // ping, content_block_stop, and event types added later
    }
  }

  /** Call when the upstream body ended: a stream cut before message_stop is an error. */
  finish(): void {
    if (!this.stopped) {
      throw new UpstreamError('connection', 'Upstream stream ended before message_stop');
    }
  }

  private start(message: Json): StreamChunk[] {
    if (typeof message.id === 'string') this.id = message.id;
    if (typeof message.model === 'string') this.model = message.model;
    this.readUsage(message.usage);
    return [this.withUsage(this.chunk({ role: 'assistant', content: '' }))];
  }

  private blockStart(data: Json): StreamChunk[] {
    const block = isObject(data.content_block) ? data.content_block : {};
    if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
      return [this.chunk({ content: block.text })];
    }
    if (block.type !== 'tool_use') return [];
    const index = this.toolIndex.size;
    this.toolIndex.set(Number(data.index), index);
    const call = {
      index,
      id: String(block.id),
      type: 'function' as const,
      function: { name: String(block.name), arguments: '' },
    };
    return [this.chunk({ tool_calls: [call] })];
  }

  private blockDelta(data: Json): StreamChunk[] {
    const delta = isObject(data.delta) ? data.delta : {};
    if (delta.type === 'text_delta' && typeof delta.text === 'string') {
      return [this.chunk({ content: delta.text })];
    }
    if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
      const index = this.toolIndex.get(Number(data.index));
      if (index === undefined) throw malformed('input_json_delta outside a tool_use block');
      return [this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] })];
    }
    return []; // thinking and signature deltas are not part of OpenAI's format
  }

  private readUsage(usage: unknown): void {
    if (!isObject(usage)) return;
    const prompt = inputTokens(usage);
    if (prompt !== undefined) this.promptTokens = prompt;
    this.cachedTokens = tokenCount(usage, 'cache_read_input_tokens') ?? this.cachedTokens;
    this.cacheWriteTokens =
      tokenCount(usage, 'cache_creation_input_tokens') ?? this.cacheWriteTokens;
    // output_tokens is cumulative in message_delta
    if (typeof usage.output_tokens === 'number') this.completionTokens = usage.output_tokens;
    if (prompt !== undefined || typeof usage.output_tokens === 'number') this.sawUsage = true;
  }

  private chunk(delta: ChunkDelta, finish: FinishReason | null = null): StreamChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
  }

  private usageChunk(): StreamChunk {
    return this.withUsage({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
    });
  }

  /** The chunk with the usage counted so far, once the upstream has given any. */
  private withUsage(chunk: StreamChunk): StreamChunk {
    if (!this.sawUsage) return chunk;
    const usage = withDetails(
      {
        prompt_tokens: this.promptTokens,
        completion_tokens: this.completionTokens,
        total_tokens: this.promptTokens + this.completionTokens,
      },
      { cached: this.cachedTokens, cacheWrite: this.cacheWriteTokens },
    );
    return Object.assign({}, chunk, { usage });
  }
}
