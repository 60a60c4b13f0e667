/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access -- test helper: events are arbitrary JSON */
import { createParser, EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  data: string;
  /** Parsed JSON (undefined for `[DONE]`). */
  json?: any;
  /** When the test process received it (same clock as the fake upstream). */
  at: number;
}

export interface SseResponse {
  status: number;
  headers: Headers;
  /** Events as they arrive; ends with the response. */
  events: AsyncGenerator<SseEvent>;
  /** The whole body as JSON, for non-SSE answers (errors before the first byte). */
  json(): Promise<any>;
  abort(): void;
}

/** POSTs a JSON body and reads the answer as server-sent events, one at a time. */
export async function postSse(
  base: string,
  path: string,
  key: string,
  body: unknown,
  headers: Record<string, string> = {},
  controller = new AbortController(),
): Promise<SseResponse> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  return {
    status: res.status,
    headers: res.headers,
    events: readEvents(res),
    json: async () => JSON.parse(await res.text()) as unknown,
    abort: () => controller.abort(),
  };
}

async function* readEvents(res: Response): AsyncGenerator<SseEvent> {
  if (!res.body) return;
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => queue.push(event) });
  const decoder = new TextDecoder();
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(bytes, { stream: true }));
    while (queue.length > 0) {
      const { data } = queue.shift() as EventSourceMessage;
      yield { data, json: data === '[DONE]' ? undefined : JSON.parse(data), at: Date.now() };
    }
  }
}

/** Reads every remaining event. */
export async function readAll(events: AsyncGenerator<SseEvent>): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** The text of the content deltas of a list of chunk events. */
export const deltas = (events: SseEvent[]): string =>
  events.map((e) => (e.json?.choices?.[0]?.delta?.content as string | undefined) ?? '').join('');
