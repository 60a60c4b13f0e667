import { randomUUID } from 'node:crypto';
import type { FinishReason, StreamChunk, Usage } from '../providers/provider.types';
import type { SseEvent, StreamEncoder, StreamFailure } from '../streaming/stream-encoder';
import { toMessagesUsage, toStopReason } from './messages.mapper';

type Json = Record<string, unknown>;

interface OpenBlock {
  index: number;
  kind: 'text' | 'tool_use';
  /** The chat tool-call index a tool_use block comes from. */
  tool?: number;
}

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const event = (name: string, data: Json): SseEvent => ({
  event: name,
  data: { type: name, ...data },
});

/**
 * Writes a metered stream as Anthropic's Messages events. Chunks that carry the upstream's own
 * events (an Anthropic deployment, pass-through) are sent as they came, the model renamed to the
 * public one. Chat chunks (every other provider) are translated: message_start (the prompt
 * estimate as input_tokens), ping, content_block_start / delta (text_delta, input_json_delta) /
 * stop per text run and tool call, then message_delta (stop_reason and the billed usage) and
 * message_stop. After the first byte an error is an `error` event.
 */
export class MessagesStreamEncoder implements StreamEncoder {
  private passthrough = false;
  private started = false;
  private model = '';
  private nextIndex = 0;
  private open: OpenBlock | null = null;
  /** Tool calls already given a block (a chat stream sends each call's deltas in a run). */
  private readonly tools = new Set<number>();
  private readonly id = `msg_${randomUUID().replace(/-/g, '')}`;

  constructor(
    /** The prompt tokens expected (message_start comes before a chat upstream counts them). */
    private readonly promptEstimate: number,
  ) {}

  chunk(chunk: StreamChunk): SseEvent[] {
    if (chunk.anthropicPassthrough) {
      this.passthrough = true;
      return chunk.anthropicPassthrough.map((raw) => this.renamed(raw, chunk.model));
    }
    this.model = chunk.model;
    const out = this.start();
    for (const choice of chunk.choices) {
      const { content, tool_calls: calls } = choice.delta;
      if (content) out.push(...this.text(content));
      for (const call of calls ?? []) out.push(...this.toolDelta(call));
    }
    return out;
  }

  end(usage: Usage, finishReason: FinishReason | null): SseEvent[] {
    if (this.passthrough) return []; // the upstream's message_delta and message_stop went out
    const usageOut = toMessagesUsage(usage);
    return [
      ...this.start(),
      ...this.close(),
      event('message_delta', {
        delta: { stop_reason: toStopReason(finishReason), stop_sequence: null },
        usage: usageOut,
      }),
      event('message_stop', {}),
    ];
  }

  fail(failure: StreamFailure): SseEvent[] {
    const type = failure.kind === 'shutdown' ? 'overloaded_error' : 'api_error';
    return [event('error', { error: { type, message: failure.message } })];
  }

  private renamed(raw: { event?: string; data: unknown }, model: string): SseEvent {
    const data = raw.data;
    if (isObject(data) && data.type === 'message_start' && isObject(data.message)) {
      return {
        event: raw.event,
        data: Object.assign({}, data, { message: Object.assign({}, data.message, { model }) }),
      };
    }
    return { event: raw.event, data };
  }

  private start(): SseEvent[] {
    if (this.started) return [];
    this.started = true;
    return [
      event('message_start', {
        message: {
          id: this.id,
          type: 'message',
          role: 'assistant',
          model: this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: this.promptEstimate,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
        },
      }),
      event('ping', {}),
    ];
  }

  private close(): SseEvent[] {
    if (!this.open) return [];
    const index = this.open.index;
    this.open = null;
    return [event('content_block_stop', { index })];
  }

  private openBlock(kind: OpenBlock['kind'], block: Json, tool?: number): SseEvent[] {
    const out = this.close();
    this.open = { index: this.nextIndex++, kind, tool };
    out.push(event('content_block_start', { index: this.open.index, content_block: block }));
    return out;
  }

  private text(text: string): SseEvent[] {
    const out =
      this.open?.kind === 'text' ? [] : this.openBlock('text', { type: 'text', text: '' });
    out.push(
      event('content_block_delta', {
        index: this.open!.index,
        delta: { type: 'text_delta', text },
      }),
    );
    return out;
  }

  private toolDelta(
    call: NonNullable<StreamChunk['choices'][number]['delta']['tool_calls']>[number],
  ): SseEvent[] {
    const out: SseEvent[] = [];
    const current = this.open?.kind === 'tool_use' && this.open.tool === call.index;
    if (!current) {
      // a call whose block was closed by a later one cannot be reopened: its rest is dropped
      if (this.tools.has(call.index)) return [];
      this.tools.add(call.index);
      out.push(
        ...this.openBlock(
          'tool_use',
          {
            type: 'tool_use',
            id: call.id ?? `toolu_${randomUUID().replace(/-/g, '')}`,
            name: call.function?.name ?? '',
            input: {},
          },
          call.index,
        ),
      );
    }
    const partial = call.function?.arguments;
    if (partial) {
      out.push(
        event('content_block_delta', {
          index: this.open!.index,
          delta: { type: 'input_json_delta', partial_json: partial },
        }),
      );
    }
    return out;
  }
}
