import { randomUUID } from 'node:crypto';
import type { FinishReason, StreamChunk, Usage } from '../providers/provider.types';
import type { SseEvent, StreamEncoder, StreamFailure } from '../streaming/stream-encoder';
import type { CreateResponseDto } from './dto/create-response.dto';
import {
  echoOf,
  functionCallItem,
  messageItem,
  OutputItem,
  outputTextPart,
  statusOf,
  toResponsesUsage,
} from './responses.mapper';

type Json = Record<string, unknown>;

interface OpenItem {
  index: number;
  id: string;
  /** Chat's tool-call index for a function call; null for the message. */
  toolIndex: number | null;
  name: string;
  callId: string;
  text: string;
}

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * Writes a call's stream as the Responses API's semantic events, each with its `sequence_number`:
 * response.created and response.in_progress, then per output item (a message with one output_text
 * part, or a function call) its added / delta / done events, then response.completed (or
 * response.incomplete) with the usage that is billed. A passed-through stream (chunks carrying
 * the upstream's own events) is written as is, the model renamed to the public name.
 */
export class ResponsesEncoder implements StreamEncoder {
  private seq = 0;
  private started = false;
  private passthrough = false;
  private terminalSent = false;
  private readonly id = `resp_${randomUUID().replace(/-/g, '')}`;
  private readonly created = Math.floor(Date.now() / 1000);
  private model = '';
  private readonly done: OutputItem[] = [];
  private open: OpenItem | null = null;

  constructor(private readonly req: CreateResponseDto) {}

  chunk(chunk: StreamChunk): SseEvent[] {
    this.model = chunk.model;
    if (chunk.raw) return [this.relay(chunk.raw, chunk.model)];
    const events = this.start();
    for (const choice of chunk.choices) {
      const { content, tool_calls: calls } = choice.delta;
      if (content) events.push(...this.text(content));
      for (const call of calls ?? []) {
        events.push(
          ...this.toolCall(call.index, call.id, call.function?.name, call.function?.arguments),
        );
      }
    }
    return events;
  }

  end(usage: Usage, finishReason: FinishReason | null): SseEvent[] {
    if (this.passthrough) {
      return this.terminalSent ? [] : this.failed('The upstream stream ended without a result');
    }
    const events = [...this.start(), ...this.close()];
    const { status, incomplete_details } = statusOf(finishReason);
    const type = status === 'completed' ? 'response.completed' : 'response.incomplete';
    events.push(
      this.event(type, {
        response: Object.assign({}, this.response(status), {
          completed_at: Math.floor(Date.now() / 1000),
          incomplete_details,
          usage: toResponsesUsage(usage),
        }),
      }),
    );
    return events;
  }

  fail(failure: StreamFailure): SseEvent[] {
    return this.failed(failure.message, failure.code);
  }

  private failed(message: string, code: string | null = 'server_error'): SseEvent[] {
    const events = this.passthrough ? [] : this.start();
    events.push(this.event('error', { code, message, param: null }));
    events.push(
      this.event('response.failed', {
        response: Object.assign({}, this.response('failed'), {
          error: { code: 'server_error', message },
        }),
      }),
    );
    return events;
  }

  /** An upstream event, forwarded as is (its sequence numbers are the upstream's). */
  private relay(raw: NonNullable<StreamChunk['raw']>, model: string): SseEvent {
    this.passthrough = true;
    const data: Json = { ...raw.data };
    const type = typeof data.type === 'string' ? data.type : (raw.event ?? '');
    if (typeof data.sequence_number === 'number') this.seq = data.sequence_number + 1;
    if (TERMINAL.has(type)) this.terminalSent = true;
    const response = data.response;
    if (typeof response === 'object' && response !== null && !Array.isArray(response)) {
      data.response = Object.assign({}, response as Json, { model });
    }
    return { event: raw.event ?? type, data };
  }

  private start(): SseEvent[] {
    if (this.started) return [];
    this.started = true;
    return [
      this.event('response.created', { response: this.response('in_progress') }),
      this.event('response.in_progress', { response: this.response('in_progress') }),
    ];
  }

  private text(delta: string): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.open?.toolIndex !== null) {
      events.push(...this.close());
      this.open = this.newItem(null, 'msg', '', '');
      const item = messageItem(this.open.id, '', 'in_progress');
      events.push(this.itemEvent('response.output_item.added', { item }));
      events.push(
        this.itemEvent('response.content_part.added', {
          item_id: this.open.id,
          content_index: 0,
          part: outputTextPart(''),
        }),
      );
    }
    const open = this.open;
    if (!open) return events;
    open.text += delta;
    events.push(
      this.itemEvent('response.output_text.delta', {
        item_id: open.id,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
    return events;
  }

  private toolCall(
    toolIndex: number,
    callId: string | undefined,
    name: string | undefined,
    args: string | undefined,
  ): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.open?.toolIndex !== toolIndex) {
      events.push(...this.close());
      this.open = this.newItem(
        toolIndex,
        'fc',
        name ?? '',
        callId ?? `call_${randomUUID().replace(/-/g, '')}`,
      );
      const item = functionCallItem(
        this.open.id,
        { call_id: this.open.callId, name: this.open.name, arguments: '' },
        'in_progress',
      );
      events.push(this.itemEvent('response.output_item.added', { item }));
    } else if (name) this.open.name += name;
    if (args) {
      this.open.text += args;
      events.push(
        this.itemEvent('response.function_call_arguments.delta', {
          item_id: this.open.id,
          delta: args,
        }),
      );
    }
    return events;
  }

  /** The done events of the open item, if any. */
  private close(): SseEvent[] {
    const open = this.open;
    if (!open) return [];
    const events: SseEvent[] = [];
    let item: OutputItem;
    if (open.toolIndex === null) {
      const part = outputTextPart(open.text);
      events.push(
        this.itemEvent('response.output_text.done', {
          item_id: open.id,
          content_index: 0,
          text: open.text,
          logprobs: [],
        }),
      );
      events.push(
        this.itemEvent('response.content_part.done', { item_id: open.id, content_index: 0, part }),
      );
      item = messageItem(open.id, open.text, 'completed');
    } else {
      events.push(
        this.itemEvent('response.function_call_arguments.done', {
          item_id: open.id,
          name: open.name,
          arguments: open.text,
        }),
      );
      const call = { call_id: open.callId, name: open.name, arguments: open.text };
      item = functionCallItem(open.id, call, 'completed');
    }
    events.push(this.itemEvent('response.output_item.done', { item }));
    this.done.push(item);
    this.open = null;
    return events;
  }

  private newItem(
    toolIndex: number | null,
    prefix: string,
    name: string,
    callId: string,
  ): OpenItem {
    const index = this.done.length;
    const id = `${prefix}_${this.id.slice(5)}_${index}`;
    return { index, id, toolIndex, name, callId, text: '' };
  }

  private itemEvent(type: string, fields: Json): SseEvent {
    return this.event(type, { output_index: this.open?.index ?? this.done.length, ...fields });
  }

  private event(type: string, fields: Json): SseEvent {
    return { event: type, data: { type, sequence_number: this.seq++, ...fields } };
  }

  private response(status: 'in_progress' | 'completed' | 'incomplete' | 'failed') {
    return {
      id: this.id,
      object: 'response',
      created_at: this.created,
      status,
      completed_at: null,
      error: null,
      incomplete_details: null,
      model: this.model,
      output: [...this.done],
      usage: null,
      ...echoOf(this.req),
    };
  }
}
