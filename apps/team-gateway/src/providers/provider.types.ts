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
  /**
   * Anthropic pass-through (the /v1/messages surface): the client's Messages body as it came,
   * fields the gateway does not understand included (thinking, cache_control, unknown blocks).
   * Only the anthropic adapter honours it: it sends this body (with `model`, `max_tokens` and
   * `stream` set by the pipeline) instead of translating the fields above, and returns
   * Anthropic's own answer beside the normalised one. Every other adapter ignores it and uses
   * the translated fields, so routing, fallback, holds and settlement stay the pipeline's.
   */
  passthrough?: {
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
  /** The upstream's own answer body, for a request with `passthrough` (see ChatRequest). */
  passthrough?: Record<string, unknown>;
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
  /**
   * For a request with `passthrough`: the upstream's own events this chunk was translated from
   * (a chunk without choices carries events that translate to nothing, e.g. ping).
   */
  passthrough?: RawStreamEvent[];
}

/** Where and how to reach one deployment; apiKey is decrypted just before the call. */
export interface ProviderTarget {
  provider: 'openai' | 'openai-compatible' | 'anthropic' | 'mock';
  apiBase: string;
  apiKey: string | null;
  providerModel: string;
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
}
