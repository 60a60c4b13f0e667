import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Dispatcher } from 'undici';
import type {
  ChatMessage,
  ChatRequest,
  ChatResult,
  FinishReason,
  ProviderAdapter,
  ProviderTarget,
  StreamChunk,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  Usage,
  UpstreamErrorKind,
} from './provider.types';
import { UpstreamError } from './provider.types';
import { estimateUsage, textOf } from './tokens';
import { errorExcerpt, kindForStatus, retryAfterMs, scrub } from './upstream-errors';
import { UpstreamCall, UpstreamHttp } from './upstream-http';
import { tokenCount, withDetails } from './usage';

export const GEMINI_DEFAULT_API_BASE = 'https://generativelanguage.googleapis.com';
const API_VERSION = 'v1beta';

type Json = Record<string, unknown>;
type Part = Json;
type ChunkDelta = StreamChunk['choices'][number]['delta'];

export interface GeminiContent {
  role: 'user' | 'model';
  parts: Part[];
}

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const malformed = (what: string) =>
  new UpstreamError('malformed_response', `Upstream answer is malformed: ${what}`, 200);

/**
 * Google's Gemini API (native): `POST {base}/v1beta/models/{model}:generateContent`, and
 * `:streamGenerateContent?alt=sse` for streams, with the key in `x-goog-api-key`.
 */
@Injectable()
export class GeminiAdapter implements ProviderAdapter {
  constructor(private readonly http: UpstreamHttp) {}

  async complete(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): Promise<ChatResult> {
    const json = await this.http.postJson(geminiCall(target, request, false, signal));
    return fromGeminiResponse(json, request, target.providerModel);
  }

  async *stream(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamChunk> {
    const translator = new GeminiStreamTranslator(target.providerModel, target.apiKey);
    for await (const event of this.http.postStream(geminiCall(target, request, true, signal))) {
      const data = event.data.trim();
      if (data === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        throw malformed('invalid JSON in the stream');
      }
      // a JSON array instead of SSE (no alt=sse honoured): each element is one response
      for (const item of event.event === 'json' && Array.isArray(parsed) ? parsed : [parsed]) {
        yield* translator.translate(item);
      }
    }
    yield* translator.finish();
  }
}

function geminiCall(
  target: ProviderTarget,
  request: ChatRequest,
  stream: boolean,
  signal: AbortSignal,
): UpstreamCall {
  const base = (target.apiBase || GEMINI_DEFAULT_API_BASE).replace(/\/+$/, '');
  const model = encodeURIComponent(target.providerModel.replace(/^models\//, ''));
  const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  return {
    url: `${base}/${API_VERSION}/models/${model}:${method}`,
    headers: target.apiKey ? { 'x-goog-api-key': target.apiKey } : {},
    body: toGeminiRequest(request),
    signal,
    secret: target.apiKey,
    errorFor: (status, body, headers) => geminiStatusError(status, body, target.apiKey, headers),
  };
}

// ---- OpenAI request → Gemini request ----

function imagePart(url: string): Part {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (!data) {
    throw new UpstreamError(
      'bad_request',
      'Gemini deployments take images as data: URLs (base64); fetch the image and inline it',
    );
  }
  return { inlineData: { mimeType: data[1], data: data[2] } };
}

function contentParts(content: ChatMessage['content']): Part[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  return (content ?? []).flatMap((part): Part[] => {
    if (part.type === 'image_url' && part.image_url?.url) return [imagePart(part.image_url.url)];
    return part.text ? [{ text: part.text }] : [];
  });
}

function parseArguments(call: ToolCall): Json {
  try {
    const parsed: unknown = call.function.arguments.trim()
      ? JSON.parse(call.function.arguments)
      : {};
    return isObject(parsed) ? parsed : { value: parsed };
  } catch {
    throw new UpstreamError(
      'bad_request',
      `Tool call ${call.function.name} has arguments that are not valid JSON`,
    );
  }
}

/** A tool result as functionResponse.response, which must be an object. */
function toolResponse(content: ChatMessage['content']): Json {
  const text = textOf(content);
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed)) return parsed;
  } catch {
    // plain text
  }
  return { content: text };
}

/**
 * System and developer messages become systemInstruction; assistant turns are `model` turns
 * (tool calls as functionCall parts); tool results are functionResponse parts of a user turn,
 * named after the call they answer; consecutive turns of one role are merged.
 */
export function toGeminiContents(messages: ChatMessage[]): {
  systemInstruction?: { parts: Part[] };
  contents: GeminiContent[];
} {
  const system: string[] = [];
  const contents: GeminiContent[] = [];
  const callNames = new Map<string, string>();
  for (const message of messages) {
    let role: GeminiContent['role'];
    let parts: Part[];
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message.content);
        if (text) system.push(text);
        continue;
      }
      case 'assistant':
        role = 'model';
        parts = contentParts(message.content);
        for (const call of message.tool_calls ?? []) {
          callNames.set(call.id, call.function.name);
          const signature = signatureOf(call.id);
          parts.push({
            functionCall: { name: call.function.name, args: parseArguments(call) },
            ...(signature ? { thoughtSignature: signature } : {}),
          });
        }
        break;
      case 'tool': {
        role = 'user';
        const name = callNames.get(message.tool_call_id ?? '') ?? message.name;
        if (!name) {
          throw new UpstreamError(
            'bad_request',
            `Tool message ${message.tool_call_id ?? ''} answers no earlier tool call`.trim(),
          );
        }
        parts = [{ functionResponse: { name, response: toolResponse(message.content) } }];
        break;
      }
      case 'user':
        role = 'user';
        parts = contentParts(message.content);
        break;
    }
    if (parts.length === 0) continue;
    const last = contents[contents.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  }
  return system.length > 0
    ? { systemInstruction: { parts: [{ text: system.join('\n\n') }] }, contents }
    : { contents };
}

/** JSON Schema keywords Gemini's OpenAPI-subset `parameters` refuses. */
const UNSUPPORTED_SCHEMA_KEYS = new Set(['$schema', 'additionalProperties', 'strict', '$id']);

function geminiSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(geminiSchema);
  if (!isObject(schema)) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key]) => !UNSUPPORTED_SCHEMA_KEYS.has(key))
      .map(([key, value]) => [key, geminiSchema(value)]),
  );
}

export function toGeminiTools(tools: ToolDefinition[]): Json[] {
  return [
    {
      functionDeclarations: tools.map((tool) => ({
        name: tool.function.name,
        ...(tool.function.description ? { description: tool.function.description } : {}),
        ...(tool.function.parameters ? { parameters: geminiSchema(tool.function.parameters) } : {}),
      })),
    },
  ];
}

export function toGeminiToolConfig(choice: ToolChoice): Json {
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  return {
    functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] },
  };
}

export function toGeminiRequest(request: ChatRequest): Json {
  const { systemInstruction, contents } = toGeminiContents(request.messages);
  const body: Json = { contents };
  if (systemInstruction) body.systemInstruction = systemInstruction;
  const config: Json = {};
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.top_p !== undefined) config.topP = request.top_p;
  if (request.max_tokens !== undefined) config.maxOutputTokens = request.max_tokens;
  if (request.stop !== undefined) {
    config.stopSequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  }
  if (request.seed !== undefined) config.seed = request.seed;
  if (request.presence_penalty !== undefined) config.presencePenalty = request.presence_penalty;
  if (request.frequency_penalty !== undefined) config.frequencyPenalty = request.frequency_penalty;
  const format = request.response_format;
  if (format?.type === 'json_object' || format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
    if (schema !== undefined) config.responseSchema = geminiSchema(schema);
  }
  if (Object.keys(config).length > 0) body.generationConfig = config;
  if (request.tools && request.tools.length > 0) {
    body.tools = toGeminiTools(request.tools);
    if (request.tool_choice !== undefined) {
      body.toolConfig = toGeminiToolConfig(request.tool_choice);
    }
  }
  return body;
}

// ---- Gemini answer → OpenAI result ----

export function mapFinishReason(reason: unknown, hasToolCalls: boolean): FinishReason {
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
    case 'LANGUAGE':
      return 'content_filter';
    default:
      return hasToolCalls ? 'tool_calls' : 'stop';
  }
}

/**
 * usageMetadata in OpenAI's shape: promptTokenCount already holds cachedContentTokenCount (and
 * tool-use prompts are input too); thoughtsTokenCount is output billed apart from
 * candidatesTokenCount, so both make completion_tokens.
 */
export function fromGeminiUsage(metadata: unknown): Usage | undefined {
  if (!isObject(metadata)) return undefined;
  const promptCount = tokenCount(metadata, 'promptTokenCount');
  if (promptCount === undefined) return undefined;
  const prompt = promptCount + (tokenCount(metadata, 'toolUsePromptTokenCount') ?? 0);
  const thoughts = tokenCount(metadata, 'thoughtsTokenCount');
  const completion = (tokenCount(metadata, 'candidatesTokenCount') ?? 0) + (thoughts ?? 0);
  return withDetails(
    { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
    { cached: tokenCount(metadata, 'cachedContentTokenCount'), reasoning: thoughts },
  );
}

interface CandidateParts {
  text: string;
  calls: Array<{ id?: string; name: string; args: unknown; signature?: string }>;
}

/**
 * Gemini's thinking models sign their function calls (`thoughtSignature`) and want the
 * signature back with the call in the next turn. OpenAI's shape has no place for it but the
 * tool call id, which clients echo verbatim: the id carries it after this separator.
 */
export const SIGNATURE_SEPARATOR = '__thought__';

export function toolCallId(base: string, signature: string | undefined): string {
  return signature ? `${base}${SIGNATURE_SEPARATOR}${signature}` : base;
}

function signatureOf(id: string): string | undefined {
  const at = id.indexOf(SIGNATURE_SEPARATOR);
  return at >= 0 ? id.slice(at + SIGNATURE_SEPARATOR.length) || undefined : undefined;
}

function readParts(candidate: Json): CandidateParts {
  const content = isObject(candidate.content) ? candidate.content : {};
  const parts = Array.isArray(content.parts) ? content.parts.filter(isObject) : [];
  const out: CandidateParts = { text: '', calls: [] };
  for (const part of parts) {
    if (part.thought === true) continue; // thought summaries are not part of the answer
    if (typeof part.text === 'string') out.text += part.text;
    if (isObject(part.functionCall)) {
      const call = part.functionCall;
      if (typeof call.name !== 'string') throw malformed('functionCall without a name');
      out.calls.push(
        Object.assign(
          {},
          typeof call.id === 'string' ? { id: call.id } : {},
          { name: call.name, args: call.args ?? {} },
          typeof part.thoughtSignature === 'string' ? { signature: part.thoughtSignature } : {},
        ),
      );
    }
  }
  return out;
}

/** An in-body `error` (mid-stream, or a 200 that is not an answer) as an UpstreamError. */
function bodyError(json: Json, secret: string | null): UpstreamError {
  const error = isObject(json.error) ? json.error : {};
  const code = typeof error.code === 'number' ? error.code : 500;
  return new UpstreamError(
    geminiErrorKind(code, error),
    scrub(`Upstream stream failed: ${errorExcerpt(JSON.stringify(json))}`, secret),
    undefined,
    retryDelayMs(error),
  );
}

export function fromGeminiResponse(json: unknown, request: ChatRequest, model: string): ChatResult {
  if (!isObject(json)) throw malformed('not an object');
  if (json.error !== undefined) throw bodyError(json, null);
  const candidates = Array.isArray(json.candidates) ? json.candidates.filter(isObject) : [];
  const candidate = candidates[0];
  const feedback = isObject(json.promptFeedback) ? json.promptFeedback : {};
  if (!candidate && feedback.blockReason === undefined) throw malformed('no candidates');
  const { text, calls } = candidate ? readParts(candidate) : { text: '', calls: [] };
  const toolCalls: ToolCall[] = calls.map((call, i) => ({
    id: toolCallId(
      call.id ?? `call_${randomUUID().replace(/-/g, '').slice(0, 24)}_${i}`,
      call.signature,
    ),
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.args) },
  }));
  const usage = fromGeminiUsage(json.usageMetadata);
  const result: ChatResult = {
    id: typeof json.responseId === 'string' ? json.responseId : `chatcmpl-${randomUUID()}`,
    model: typeof json.modelVersion === 'string' ? json.modelVersion : model,
    content: text === '' && toolCalls.length > 0 ? null : text,
    finish_reason: candidate
      ? mapFinishReason(candidate.finishReason, toolCalls.length > 0)
      : 'content_filter', // the prompt itself was blocked
    usage: usage ?? estimateUsage(request.messages, text, toolCalls),
  };
  if (!usage) result.usage_estimated = true;
  if (toolCalls.length > 0) result.tool_calls = toolCalls;
  return result;
}

// ---- errors ----

const STATUS_KINDS: Record<string, UpstreamErrorKind> = {
  RESOURCE_EXHAUSTED: 'rate_limited',
  UNAUTHENTICATED: 'auth',
  PERMISSION_DENIED: 'auth',
  INVALID_ARGUMENT: 'bad_request',
  FAILED_PRECONDITION: 'bad_request',
  NOT_FOUND: 'bad_request',
  DEADLINE_EXCEEDED: 'timeout',
  UNAVAILABLE: 'server_error',
  INTERNAL: 'server_error',
};

function details(error: Json): Json[] {
  return Array.isArray(error.details) ? error.details.filter(isObject) : [];
}

/** google.rpc status (and an invalid key, which Google answers with 400 API_KEY_INVALID). */
export function geminiErrorKind(status: number, error: Json): UpstreamErrorKind {
  if (details(error).some((d) => d.reason === 'API_KEY_INVALID')) return 'auth';
  const byStatus = typeof error.status === 'string' ? STATUS_KINDS[error.status] : undefined;
  return byStatus ?? kindForStatus(status);
}

/** google.rpc.RetryInfo's retryDelay ("13s", "0.5s") in milliseconds. */
function retryDelayMs(error: Json): number | undefined {
  for (const detail of details(error)) {
    const delay = detail.retryDelay;
    if (typeof delay !== 'string') continue;
    const seconds = /^(\d+(?:\.\d+)?)s$/.exec(delay.trim());
    if (seconds) return Math.round(Number(seconds[1]) * 1000);
  }
  return undefined;
}

export function geminiStatusError(
  status: number,
  body: string,
  secret: string | null,
  headers: Dispatcher.ResponseData['headers'] = {},
): UpstreamError {
  let error: Json = {};
  try {
    const parsed: unknown = JSON.parse(body);
    const first: unknown = Array.isArray(parsed) ? parsed[0] : parsed;
    if (isObject(first) && isObject(first.error)) error = first.error;
  } catch {
    // not JSON: classified by status alone
  }
  const excerpt = errorExcerpt(isObject(error) && error.message ? JSON.stringify({ error }) : body);
  return new UpstreamError(
    geminiErrorKind(status, error),
    scrub(`Upstream returned ${status}${excerpt ? `: ${excerpt}` : ''}`, secret),
    status,
    retryAfterMs(headers['retry-after']) ?? retryDelayMs(error),
  );
}

// ---- stream ----

/**
 * Turns streamGenerateContent responses into OpenAI chunks: the first one opens with the role,
 * text parts become content deltas, each functionCall (Gemini sends them whole) one tool-call
 * delta, the finishReason a finish chunk, and the last usageMetadata the final usage chunk. The
 * usage known so far rides on the role chunk, so a cut stream is billed on the real prompt.
 */
export class GeminiStreamTranslator {
  private id = '';
  private readonly created = Math.floor(Date.now() / 1000);
  private usage: Usage | undefined;
  private started = false;
  private finished = false;
  private toolCalls = 0;

  constructor(
    private model: string,
    private readonly secret: string | null = null,
  ) {}

  translate(data: unknown): StreamChunk[] {
    if (!isObject(data)) throw malformed('stream event is not an object');
    if (data.error !== undefined) throw bodyError(data, this.secret);
    if (typeof data.responseId === 'string') this.id ||= data.responseId;
    if (typeof data.modelVersion === 'string') this.model = data.modelVersion;
    this.usage = fromGeminiUsage(data.usageMetadata) ?? this.usage;
    const out: StreamChunk[] = [];
    if (!this.started) {
      this.started = true;
      this.id ||= `chatcmpl-${randomUUID()}`;
      out.push(this.withUsage(this.chunk({ role: 'assistant', content: '' })));
    }
    const candidate = Array.isArray(data.candidates)
      ? (data.candidates as unknown[]).find(isObject)
      : undefined;
    if (!candidate) {
      const feedback = isObject(data.promptFeedback) ? data.promptFeedback : {};
      if (feedback.blockReason !== undefined && !this.finished) {
        this.finished = true;
        out.push(this.withUsage(this.chunk({}, 'content_filter')));
      }
      return out;
    }
    const { text, calls } = readParts(candidate);
    if (text) out.push(this.chunk({ content: text }));
    for (const call of calls) {
      const index = this.toolCalls++;
      out.push(
        this.chunk({
          tool_calls: [
            {
              index,
              id: toolCallId(call.id ?? `call_${this.id.slice(-12)}_${index}`, call.signature),
              type: 'function',
              function: { name: call.name, arguments: JSON.stringify(call.args) },
            },
          ],
        }),
      );
    }
    if (candidate.finishReason !== undefined && !this.finished) {
      this.finished = true;
      const finish = mapFinishReason(candidate.finishReason, this.toolCalls > 0);
      out.push(this.withUsage(this.chunk({}, finish)));
    }
    return out;
  }

  /** The final usage chunk; a stream that ended without a finishReason was cut. */
  finish(): StreamChunk[] {
    if (!this.finished) {
      throw new UpstreamError('connection', 'Upstream stream ended before a finishReason');
    }
    return this.usage ? [this.withUsage(Object.assign({}, this.chunk({}), { choices: [] }))] : [];
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

  private withUsage(chunk: StreamChunk): StreamChunk {
    return this.usage ? Object.assign({}, chunk, { usage: structuredClone(this.usage) }) : chunk;
  }
}
