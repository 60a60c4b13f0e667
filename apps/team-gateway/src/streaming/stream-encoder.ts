import type { FinishReason, StreamChunk, Usage } from '../providers/provider.types';

/** One Server-Sent Event: an optional `event:` name and its `data:` (JSON unless a string). */
export interface SseEvent {
  event?: string;
  data: unknown;
}

/** An error that can only travel inside a stream that has already started. */
export interface StreamFailure {
  message: string;
  type: string;
  code: string | null;
  /** Why the gateway ended the stream with an error. */
  kind: 'shutdown' | 'timeout' | 'upstream';
}

/**
 * How one client surface writes a stream (OpenAI chunks, Anthropic message events, Responses
 * events). The call pipeline meters the upstream's chunks itself and bills what it metered; an
 * encoder only translates. Without one, a stream is written as OpenAI chat.completion chunks.
 */
export interface StreamEncoder {
  /** The events for one upstream chunk (model already the public name); [] for none. */
  chunk(chunk: StreamChunk): SseEvent[];
  /** The events that close a stream that ended normally; `usage` is what is billed. */
  end(usage: Usage, finishReason: FinishReason | null): SseEvent[];
  /** The events that close a stream ended by an error after its first byte. */
  fail(failure: StreamFailure): SseEvent[];
}
