/**
 * The one small interface every provider adapter implements. Requests and responses are in
 * OpenAI's chat-completions shape; adapters translate to and from their provider.
 */

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ContentPart {
  type: string;
  text?: string;
  image_url?: { url: string; detail?: string };
}

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  content: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown> };
}

export type ToolChoice =
  'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/**
 * A client body in a provider's own API (OpenAI `responses`, Anthropic `messages`), for the
 * adapter of that provider to send as is (model replaced) instead of the translated chat fields.
 * It rides on the request so the call pipeline keeps routing, fallback, holds and settlement:
 * an adapter that does not speak `api` ignores it and uses the chat fields, which the surface
 * always fills in too.
 */
export interface Passthrough {
  api: 'responses' | 'messages';
  body: Record<string, unknown>;
}

/** What the gateway asks of an upstream (model = the deployment's provider_model). */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  max_tokens?: number;
  top_p?: number;
  stop?: string | string[];
  response_format?: Record<string, unknown>;
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  logit_bias?: Record<string, number>;
  /** The end user, passed on for the provider's abuse monitoring. */
  user?: string;
  /** The client's own body, for an adapter that speaks its API (see Passthrough). */
  passthrough?: Passthrough;
  /**
   * Anthropic pass-through (the /v1/messages surface): the client's Messages body as it came,
   * fields the gateway does not understand included (thinking, cache_control, unknown blocks).
   * Only the anthropic adapter honours it: it sends this body (with `model`, `max_tokens` and
   * `stream` set by the pipeline) instead of translating the fields above, and returns
   * Anthropic's own answer beside the normalised one. Every other adapter ignores it and uses
   * the translated fields, so routing, fallback, holds and settlement stay the pipeline's.
   */
  anthropicPassthrough?: {
    anthropic: Record<string, unknown>;
    /** The client's `anthropic-beta` header, sent on with its body. */
    beta?: string;
  };
}

/**
 * Token counts in OpenAI's shape. `prompt_tokens` counts every input token, cached and
 * cache-written ones included (adapters of providers that count them apart, like Anthropic, add
 * them in); `completion_tokens` counts every output token, reasoning included. The details say
 * how many of them are billed at the deployment's cache prices (SPEC §9).
 */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: {
    /** Input tokens read from the provider's prompt cache. */
    cached_tokens?: number;
    /** Input tokens written to the provider's prompt cache. */
    cache_write_tokens?: number;
  };
  completion_tokens_details?: {
    /** Output tokens spent on reasoning (billed as output). */
    reasoning_tokens?: number;
  };
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/** A normalised non-streaming answer. */
export interface ChatResult {
  id: string;
  model: string;
  content: string | null;
  finish_reason: FinishReason;
  tool_calls?: ToolCall[];
  usage: Usage;
  /** True when the upstream gave no usage and the adapter estimated it (~4 characters a token). */
  usage_estimated?: boolean;
  /** A passed-through request's answer, exactly as the upstream sent it. */
  raw?: Record<string, unknown>;
  /** The upstream's own answer body, for a request with `anthropicPassthrough` (see ChatRequest). */
  anthropicPassthrough?: Record<string, unknown>;
}

/** One upstream Server-Sent Event as it came (name and parsed data), for pass-through streams. */
export interface RawStreamEvent {
  event?: string;
  data: unknown;
}

/** One OpenAI `chat.completion.chunk`; the last one may carry `usage` and no choices. */
export interface StreamChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: {
      role?: 'assistant';
      content?: string | null;
      tool_calls?: Array<{
        index: number;
        id?: string;
        type?: 'function';
        function?: { name?: string; arguments?: string };
      }>;
    };
    finish_reason: FinishReason | null;
  }>;
  usage?: Usage | null;
  /** A passed-through stream's event as the upstream sent it; the chunk's fields only meter it. */
  raw?: { event?: string; data: Record<string, unknown> };
  /**
   * For a request with `anthropicPassthrough`: the upstream's own events this chunk was translated from
   * (a chunk without choices carries events that translate to nothing, e.g. ping).
   */
  anthropicPassthrough?: RawStreamEvent[];
}

/** A credential's non-secret settings (SPEC §9). */
export interface ProviderSettings {
  /** azure-openai: the `api-version` query parameter. */
  apiVersion?: string;
  /** bedrock: the AWS region requests are signed for (and sent to, without an api_base). */
  region?: string;
}

/**
 * Where and how to reach one deployment; apiKey is decrypted just before the call (for bedrock
 * it is the JSON of the AWS key pair, read by the bedrock adapter).
 */
export interface ProviderTarget {
  provider:
    'openai' | 'openai-compatible' | 'anthropic' | 'azure-openai' | 'gemini' | 'bedrock' | 'mock';
  apiBase: string;
  apiKey: string | null;
  providerModel: string;
  settings?: ProviderSettings;
}

export type UpstreamErrorKind =
  | 'rate_limited'
  | 'server_error'
  | 'timeout'
  | 'connection'
  | 'bad_request'
  | 'auth'
  | 'malformed_response';

/** An upstream failure, classified; never carries the provider key. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly status?: number,
    /** The provider's Retry-After (429/503), in milliseconds, when it sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }

  /** 429, 5xx, timeouts and connection errors may be retried on another deployment. */
  get retryable(): boolean {
    return (
      this.kind === 'rate_limited' ||
      this.kind === 'server_error' ||
      this.kind === 'timeout' ||
      this.kind === 'connection'
    );
  }
}

/** OpenAI's embeddings request (model = the deployment's provider_model). */
export interface EmbeddingRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
}

/** Embeddings in request order: float arrays, or base64 little-endian float32 when asked. */
export interface EmbeddingResult {
  data: Array<{ index: number; embedding: number[] | string }>;
  usage: Usage;
}

/** A legacy text completion (`POST /completions`): a prompt instead of messages. */
export interface TextCompletionRequest extends Pick<
  ChatRequest,
  | 'model'
  | 'temperature'
  | 'max_tokens'
  | 'top_p'
  | 'stop'
  | 'seed'
  | 'presence_penalty'
  | 'frequency_penalty'
  | 'logit_bias'
  | 'user'
> {
  prompt: string;
  suffix?: string;
  echo?: boolean;
}

export interface ProviderAdapter {
  complete(target: ProviderTarget, request: ChatRequest, signal: AbortSignal): Promise<ChatResult>;
  /**
   * Yields chunks as the upstream produces them. Must ask for usage
   * (stream_options.include_usage or the provider's equivalent) and end with a chunk carrying it
   * when the upstream gives it. Aborting `signal` must close the upstream connection.
   */
  stream(
    target: ProviderTarget,
    request: ChatRequest,
    signal: AbortSignal,
  ): AsyncIterable<StreamChunk>;
  /** Embeddings; absent when the provider has none (the gateway refuses with a 400 first). */
  embed?(
    target: ProviderTarget,
    request: EmbeddingRequest,
    signal: AbortSignal,
  ): Promise<EmbeddingResult>;
  /**
   * Legacy text completions, OpenAI-style providers only: the text comes back as a ChatResult's
   * content (and as content deltas of stream chunks), so the pipeline meters it like chat.
   */
  completeText?(
    target: ProviderTarget,
    request: TextCompletionRequest,
    signal: AbortSignal,
  ): Promise<ChatResult>;
  streamText?(
    target: ProviderTarget,
    request: TextCompletionRequest,
    signal: AbortSignal,
  ): AsyncIterable<StreamChunk>;
}
