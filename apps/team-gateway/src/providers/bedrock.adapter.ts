import { randomUUID } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { Injectable } from '@nestjs/common';
import { EventStreamCodec, type Message } from '@smithy/eventstream-codec';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
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
import { splitTurns } from './turns';
import { errorExcerpt, kindForStatus, retryAfterMs, scrub } from './upstream-errors';
import { UpstreamCall, UpstreamHttp } from './upstream-http';
import { tokenCount, withDetails } from './usage';

/** Bedrock requires maxTokens for some models; used when the caller gives none. */
export const BEDROCK_DEFAULT_MAX_TOKENS = 4096;
export const BEDROCK_SERVICE = 'bedrock';
const EVENT_STREAM = 'application/vnd.amazon.eventstream';

type Json = Record<string, unknown>;
type Block = Json;
type ChunkDelta = StreamChunk['choices'][number]['delta'];

/** The sealed secret of a bedrock credential: an AWS access key pair (and session token). */
export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface BedrockMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const malformed = (what: string) =>
  new UpstreamError('malformed_response', `Upstream answer is malformed: ${what}`, 200);

/** The JSON admin-api seals for a bedrock credential, as the signer wants it. */
export function parseAwsKeys(sealed: string | null): AwsKeys {
  let parsed: unknown;
  try {
    parsed = sealed ? JSON.parse(sealed) : null;
  } catch {
    parsed = null;
  }
  if (
    !isObject(parsed) ||
    typeof parsed.access_key_id !== 'string' ||
    typeof parsed.secret_access_key !== 'string'
  ) {
    throw new UpstreamError('auth', 'The bedrock credential has no AWS access key pair');
  }
  return {
    accessKeyId: parsed.access_key_id,
    secretAccessKey: parsed.secret_access_key,
    ...(typeof parsed.session_token === 'string' ? { sessionToken: parsed.session_token } : {}),
  };
}

/**
 * AWS Bedrock's Converse API: `POST {endpoint}/model/{modelId}/converse` (and
 * `/converse-stream`, answered in AWS's binary event-stream framing), signed with SigV4 for the
 * credential's region. The endpoint defaults to `https://bedrock-runtime.{region}.amazonaws.com`.
 */
@Injectable()
export class BedrockAdapter implements ProviderAdapter {
  private readonly codec = new EventStreamCodec(toUtf8, fromUtf8);

  constructor(private readonly http: UpstreamHttp) {}

  async complete(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): Promise<ChatResult> {
    const call = await signedCall(target, request, false, signal);
    const json = await this.http.postJson(call);
    return fromConverseResponse(json, request, target.providerModel);
  }

  async *stream(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): AsyncGenerator<StreamChunk> {
    const call = await signedCall(target, request, true, signal);
    const translator = new BedrockStreamTranslator(target.providerModel, call.secret);
    const frames = new FrameSplitter();
    for await (const bytes of this.http.postBytes(call, EVENT_STREAM)) {
      for (const frame of frames.push(bytes)) {
        let message: Message;
        try {
          message = this.codec.decode(frame); // checks both CRCs
        } catch {
          throw malformed('bad event-stream frame');
        }
        yield* translator.translate(message);
      }
    }
    if (frames.pending > 0) {
      throw new UpstreamError('connection', 'Upstream stream ended inside an event frame');
    }
    yield* translator.finish();
  }
}

/** Cuts a byte stream into event-stream frames by their length prelude (CRCs are the codec's). */
export class FrameSplitter {
  private buffer: Buffer = Buffer.alloc(0);

  get pending(): number {
    return this.buffer.length;
  }

  *push(bytes: Uint8Array): Generator<Uint8Array> {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, bytes]) : Buffer.from(bytes);
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length < 16) throw malformed('bad event-stream frame length');
      if (this.buffer.length < length) return;
      yield this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
    }
  }
}

export function bedrockEndpoint(target: ProviderTarget): string {
  const region = target.settings?.region;
  if (target.apiBase) return target.apiBase.replace(/\/+$/, '');
  if (!region) throw new UpstreamError('bad_request', 'The bedrock credential has no region');
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}

const signers = new Map<string, SignatureV4>();

/** One signer per key pair and region (it caches its derived signing keys). */
function signerFor(keys: AwsKeys, region: string): SignatureV4 {
  const id = JSON.stringify([keys.accessKeyId, keys.secretAccessKey, keys.sessionToken, region]);
  let signer = signers.get(id);
  if (!signer) {
    if (signers.size >= 256) signers.clear();
    signer = new SignatureV4({
      service: BEDROCK_SERVICE,
      region,
      credentials: keys,
      sha256: Sha256,
    });
    signers.set(id, signer);
  }
  return signer;
}

async function signedCall(
  target: ProviderTarget,
  request: ChatRequest,
  stream: boolean,
  signal: AbortSignal,
): Promise<UpstreamCall> {
  const keys = parseAwsKeys(target.apiKey);
  const region = target.settings?.region;
  if (!region) throw new UpstreamError('bad_request', 'The bedrock credential has no region');
  const url = new URL(
    `${bedrockEndpoint(target)}/model/${encodeURIComponent(target.providerModel)}/${stream ? 'converse-stream' : 'converse'}`,
  );
  const body = JSON.stringify(toConverseRequest(request));
  const signed = await signerFor(keys, region).sign(
    new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      headers: {
        host: url.host,
        'content-type': 'application/json',
        accept: stream ? EVENT_STREAM : 'application/json',
      },
      body,
    }),
  );
  return {
    url: url.toString(),
    headers: signed.headers,
    body: null,
    rawBody: body,
    signal,
    secret: keys.secretAccessKey,
    errorFor: (status, text, headers) =>
      bedrockStatusError(status, text, keys.secretAccessKey, headers),
  };
}

// ---- OpenAI request → Converse request ----

const IMAGE_FORMATS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

function imageBlock(url: string): Block {
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  const format = data ? IMAGE_FORMATS[data[1].toLowerCase()] : undefined;
  if (!data || !format) {
    throw new UpstreamError(
      'bad_request',
      'Bedrock deployments take images as data: URLs (base64 png, jpeg, gif or webp)',
    );
  }
  return { image: { format, source: { bytes: data[2] } } };
}

function contentBlocks(content: ChatMessage['content']): Block[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  return (content ?? []).flatMap((part): Block[] => {
    if (part.type === 'image_url' && part.image_url?.url) return [imageBlock(part.image_url.url)];
    return part.text ? [{ text: part.text }] : [];
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

/** A tool result: JSON objects as `json` content, anything else as text. */
function toolResultContent(content: ChatMessage['content']): Block[] {
  const text = textOf(content);
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed)) return [{ json: parsed }];
  } catch {
    // plain text
  }
  return [{ text }];
}

function blocksOf(message: ChatMessage): Block[] {
  switch (message.role) {
    case 'tool':
      return [
        {
          toolResult: {
            toolUseId: message.tool_call_id ?? '',
            content: toolResultContent(message.content),
          },
        },
      ];
    case 'assistant':
      return [
        ...contentBlocks(message.content),
        ...(message.tool_calls ?? []).map((call) => ({
          toolUse: { toolUseId: call.id, name: call.function.name, input: parseArguments(call) },
        })),
      ];
    case 'user':
    case 'system':
    case 'developer':
      return contentBlocks(message.content);
  }
}

/** System and developer messages become `system`; tool results user toolResult blocks; roles merged. */
export function toConverseMessages(messages: ChatMessage[]): {
  system?: Block[];
  messages: BedrockMessage[];
} {
  const { system, turns } = splitTurns(messages, blocksOf);
  return system.length > 0
    ? { system: system.map((text) => ({ text })), messages: turns }
    : { messages: turns };
}

export function toConverseTools(tools: ToolDefinition[], choice?: ToolChoice): Json {
  const config: Json = {
    tools: tools.map((tool) => ({
      toolSpec: {
        name: tool.function.name,
        ...(tool.function.description ? { description: tool.function.description } : {}),
        inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
      },
    })),
  };
  // Converse has no "none": the tools stay declared (earlier toolUse blocks need them), choice auto
  if (choice === 'required') config.toolChoice = { any: {} };
  else if (choice === 'auto') config.toolChoice = { auto: {} };
  else if (typeof choice === 'object') config.toolChoice = { tool: { name: choice.function.name } };
  return config;
}

export function toConverseRequest(request: ChatRequest): Json {
  const { system, messages } = toConverseMessages(request.messages);
  const body: Json = { messages };
  // Converse has no JSON mode: asking for JSON becomes an instruction in the system prompt
  const format = request.response_format;
  const blocks = [...(system ?? [])];
  if (format?.type === 'json_object' || format?.type === 'json_schema') {
    const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
    blocks.push({
      text: schema
        ? `Respond only with a valid JSON object matching this JSON schema: ${JSON.stringify(schema)}`
        : 'Respond only with a valid JSON object.',
    });
  }
  if (blocks.length > 0) body.system = blocks;
  const inference: Json = { maxTokens: request.max_tokens ?? BEDROCK_DEFAULT_MAX_TOKENS };
  if (request.temperature !== undefined) inference.temperature = Math.min(request.temperature, 1);
  if (request.top_p !== undefined) inference.topP = request.top_p;
  if (request.stop !== undefined) {
    inference.stopSequences = typeof request.stop === 'string' ? [request.stop] : request.stop;
  }
  body.inferenceConfig = inference;
  if (request.tools && request.tools.length > 0) {
    body.toolConfig = toConverseTools(request.tools, request.tool_choice);
  }
  return body;
}

// ---- Converse answer → OpenAI result ----

export function mapStopReason(reason: unknown): FinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * Converse usage in OpenAI's shape: inputTokens excludes the prompt-cache reads and writes
 * (totalTokens counts them), so they are added into prompt_tokens and reported as details.
 */
export function fromConverseUsage(usage: unknown): Usage | undefined {
  if (!isObject(usage)) return undefined;
  const input = tokenCount(usage, 'inputTokens');
  const output = tokenCount(usage, 'outputTokens');
  if (input === undefined || output === undefined) return undefined;
  const cached = tokenCount(usage, 'cacheReadInputTokens');
  const cacheWrite = tokenCount(usage, 'cacheWriteInputTokens');
  const prompt = input + (cached ?? 0) + (cacheWrite ?? 0);
  return withDetails(
    { prompt_tokens: prompt, completion_tokens: output, total_tokens: prompt + output },
    { cached, cacheWrite },
  );
}

export function fromConverseResponse(
  json: unknown,
  request: ChatRequest,
  model: string,
): ChatResult {
  const output = isObject(json) && isObject(json.output) ? json.output : undefined;
  const message = output && isObject(output.message) ? output.message : undefined;
  if (!isObject(json) || !message || !Array.isArray(message.content)) {
    throw malformed('no output.message.content');
  }
  const blocks = message.content.filter(isObject);
  const text = blocks
    .filter((b) => typeof b.text === 'string')
    .map((b) => b.text as string)
    .join('');
  const toolCalls: ToolCall[] = blocks
    .filter((b) => isObject(b.toolUse))
    .map((b) => {
      const use = b.toolUse as Json;
      if (typeof use.toolUseId !== 'string' || typeof use.name !== 'string') {
        throw malformed('bad toolUse');
      }
      return {
        id: use.toolUseId,
        type: 'function' as const,
        function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) },
      };
    });
  const usage = fromConverseUsage(json.usage);
  const result: ChatResult = {
    id: `chatcmpl-${randomUUID()}`,
    model,
    content: text === '' && toolCalls.length > 0 ? null : text,
    finish_reason: mapStopReason(json.stopReason),
    usage: usage ?? estimateUsage(request.messages, text, toolCalls),
  };
  if (!usage) result.usage_estimated = true;
  if (toolCalls.length > 0) result.tool_calls = toolCalls;
  return result;
}

// ---- errors ----

/** Bedrock's exception names (x-amzn-errortype, or :exception-type in a stream) → kinds. */
export function bedrockErrorKind(type: string, status?: number): UpstreamErrorKind {
  const name = type.split(':')[0].replace(/^./, (c) => c.toUpperCase());
  switch (name) {
    case 'ThrottlingException':
    case 'ServiceQuotaExceededException':
    case 'TooManyRequestsException':
      return 'rate_limited';
    case 'AccessDeniedException':
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'ExpiredTokenException':
    case 'IncompleteSignatureException':
      return 'auth';
    case 'ValidationException':
    case 'ResourceNotFoundException':
    case 'ConflictException':
      return 'bad_request';
    case 'ModelTimeoutException':
      return 'timeout';
    case 'InternalServerException':
    case 'ServiceUnavailableException':
    case 'ModelNotReadyException':
    case 'ModelErrorException':
    case 'ModelStreamErrorException':
      return 'server_error';
    default:
      return status === undefined ? 'server_error' : kindForStatus(status);
  }
}

export function bedrockStatusError(
  status: number,
  body: string,
  secret: string | null,
  headers: Dispatcher.ResponseData['headers'] = {},
): UpstreamError {
  const header = headers['x-amzn-errortype'];
  const type = (Array.isArray(header) ? header[0] : header) ?? '';
  const excerpt = errorExcerpt(body);
  const name = type.split(':')[0];
  return new UpstreamError(
    type ? bedrockErrorKind(type, status) : kindForStatus(status),
    scrub(
      `Upstream returned ${status}${name ? ` ${name}` : ''}${excerpt ? `: ${excerpt}` : ''}`,
      secret,
    ),
    status,
    retryAfterMs(headers['retry-after']),
  );
}

// ---- stream ----

function headerString(message: Message, name: string): string | undefined {
  const header = message.headers[name];
  return header?.type === 'string' ? header.value : undefined;
}

/**
 * Turns ConverseStream events into OpenAI chunks: messageStart → role chunk; text deltas →
 * content; a toolUse contentBlockStart and its input deltas → indexed tool-call deltas;
 * messageStop → finish chunk; metadata (after messageStop) → the final usage chunk. Exception
 * frames become classified UpstreamErrors.
 */
export class BedrockStreamTranslator {
  private readonly id = `chatcmpl-${randomUUID()}`;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly toolIndex = new Map<number, number>();
  private stopped = false;

  constructor(
    private readonly model: string,
    private readonly secret: string | null = null,
  ) {}

  translate(message: Message): StreamChunk[] {
    const messageType = headerString(message, ':message-type');
    let payload: unknown;
    try {
      payload = JSON.parse(toUtf8(message.body) || '{}');
    } catch {
      throw malformed('invalid JSON in an event');
    }
    const data = isObject(payload) ? payload : {};
    if (messageType === 'exception' || messageType === 'error') {
      const type =
        headerString(message, ':exception-type') ?? headerString(message, ':error-code') ?? '';
      const text =
        typeof data.message === 'string'
          ? data.message
          : (headerString(message, ':error-message') ?? '');
      throw new UpstreamError(
        bedrockErrorKind(type),
        scrub(`Upstream stream failed: ${type} ${text.slice(0, 200)}`.trim(), this.secret),
      );
    }
    switch (headerString(message, ':event-type') ?? '') {
      case 'messageStart':
        return [this.chunk({ role: 'assistant', content: '' })];
      case 'contentBlockStart':
        return this.blockStart(data);
      case 'contentBlockDelta':
        return this.blockDelta(data);
      case 'messageStop':
        this.stopped = true;
        return [this.chunk({}, mapStopReason(data.stopReason))];
      case 'metadata': {
        const usage = fromConverseUsage(data.usage);
        return usage ? [Object.assign({}, this.chunk({}), { choices: [], usage })] : [];
      }
      default:
        return []; // contentBlockStop and event types added later
    }
  }

  /** Call when the body ended: a stream cut before messageStop is an error. */
  finish(): StreamChunk[] {
    if (!this.stopped) {
      throw new UpstreamError('connection', 'Upstream stream ended before messageStop');
    }
    return [];
  }

  private blockStart(data: Json): StreamChunk[] {
    const start = isObject(data.start) ? data.start : {};
    const use = isObject(start.toolUse) ? start.toolUse : undefined;
    if (!use) return [];
    const index = this.toolIndex.size;
    this.toolIndex.set(Number(data.contentBlockIndex), index);
    return [
      this.chunk({
        tool_calls: [
          {
            index,
            id: String(use.toolUseId),
            type: 'function',
            function: { name: String(use.name), arguments: '' },
          },
        ],
      }),
    ];
  }

  private blockDelta(data: Json): StreamChunk[] {
    const delta = isObject(data.delta) ? data.delta : {};
    if (typeof delta.text === 'string') return [this.chunk({ content: delta.text })];
    const use = isObject(delta.toolUse) ? delta.toolUse : undefined;
    if (use && typeof use.input === 'string') {
      const index = this.toolIndex.get(Number(data.contentBlockIndex));
      if (index === undefined) throw malformed('toolUse delta outside a toolUse block');
      return [this.chunk({ tool_calls: [{ index, function: { arguments: use.input } }] })];
    }
    return []; // reasoningContent is not part of OpenAI's format
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
}
