import { setMaxListeners } from 'node:events';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Answer,
  answerFor,
  anthropicError,
  anthropicEvents,
  anthropicInputTokens,
  anthropicMessage,
  openAiChunks,
  openAiCompletion,
  openAiError,
} from './replies';

/**
 * A fake LLM upstream on loopback, speaking OpenAI's `POST /v1/chat/completions` and Anthropic's
 * `POST /v1/messages` (plain and streamed), with switchable failure modes. Used by the e2e specs
 * and the benchmark; `main.ts` runs it standalone.
 */

export type Mode = 'ok' | 'status' | 'slow' | 'hang' | 'malformed' | 'drop' | 'stall' | 'no_usage';

export interface ModelBehavior {
  mode: Mode;
  /** HTTP status for `status` mode (e.g. 429, 500). */
  status: number;
  /** Retry-After seconds sent with a 429. */
  retryAfter: number;
  errorMessage: string;
  /** Fixed answer text; default: derived from the prompt. */
  content?: string;
  /** Overrides of the computed token counts. */
  usage?: { prompt_tokens?: number; completion_tokens?: number };
  /** Anthropic's prompt-cache counts to report (beside input_tokens, as Anthropic does). */
  anthropicCache?: { read: number; write: number };
  /** Answer with a tool call when the request has tools (default false). */
  toolCalls: boolean;
  /** Delay before the response headers (`slow` defaults it to 200 ms). */
  delayMs?: number;
  /** Delay between stream chunks (`slow` defaults it to 100 ms). */
  chunkDelayMs?: number;
  /** How many content pieces a stream is cut into. */
  chunks: number;
  /** `drop` / `stall`: content pieces sent before the socket is destroyed / the stream goes silent. */
  dropAfterChunks: number;
}

export interface Behavior extends ModelBehavior {
  /** Overrides by request `model`, on top of the global behaviour. */
  perModel: Record<string, Partial<ModelBehavior>>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or the raw text when it is not JSON. */
  body: any;
  at: number;
  /** When the response was completely written (unset while running, or if it never finished). */
  finishedAt?: number;
  /** When each stream event was handed to the socket. */
  chunkTimes: number[];
}

export interface FakeUpstream {
  /** `http://127.0.0.1:PORT` (append `/v1` for an OpenAI-style api_base). */
  url: string;
  requests: RecordedRequest[];
  setBehavior(b: Partial<Behavior>): void;
  /** Back to `ok`, and forgets requests and counters. */
  reset(): void;
  openConnections(): number;
  /** Requests whose client disconnected before the response finished. */
  readonly closedByClient: number;
  close(): Promise<void>;
}

const DEFAULTS: Behavior = {
  mode: 'ok',
  status: 500,
  retryAfter: 1,
  errorMessage: 'Fake upstream failure',
  toolCalls: false,
  chunks: 5,
  dropAfterChunks: 2,
  perModel: {},
};

type Dialect = 'openai' | 'anthropic';

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  dialect: Dialect;
  body: Record<string, any>;
  behavior: ModelBehavior;
  /** Aborts when the client goes away or the server closes. */
  signal: AbortSignal;
  record: RecordedRequest;
}

export async function startFakeUpstream(options: { port?: number } = {}): Promise<FakeUpstream> {
  let behavior: Behavior = { ...DEFAULTS };
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const lifetime = new AbortController();
  // one listener per running exchange, removed when it ends: many at once is not a leak
  setMaxListeners(0, lifetime.signal);
  let closedByClient = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // recorded as text
      }
      const path = (req.url ?? '/').split('?')[0];
      const record: RecordedRequest = {
        method: req.method ?? '',
        path,
        headers: req.headers,
        body,
        at: Date.now(),
        chunkTimes: [],
      };
      requests.push(record);
      res.on('finish', () => (record.finishedAt = Date.now()));

      const gone = new AbortController();
      let dropped = false;
      const onLifetime = () => gone.abort();
      lifetime.signal.addEventListener('abort', onLifetime, { once: true });
      res.on('close', () => {
        lifetime.signal.removeEventListener('abort', onLifetime);
        if (!res.writableFinished && !dropped && !lifetime.signal.aborted) closedByClient += 1;
        gone.abort();
      });
      res.on('error', () => gone.abort());
      const drop = () => {
        dropped = true;
        res.socket?.destroy();
      };

      if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
        return json(res, 200, { input_tokens: anthropicInputTokens(body) });
      }
      const dialect = route(req.method, path);
      if (!dialect) {
        if (req.method === 'GET' && path === '/v1/models') {
          return json(res, 200, { object: 'list', data: [] });
        }
        return json(res, 404, openAiError(404, `No route for ${req.method} ${path}`));
      }
      if (typeof body !== 'object' || body === null) {
        return json(res, 400, errorBody(dialect, 400, 'Request body must be JSON'));
      }
      const model = typeof body.model === 'string' ? body.model : '';
      const effective = { ...behavior, ...(behavior.perModel[model] ?? {}) };
      const exchange = {
        req,
        res,
        dialect,
        body,
        behavior: effective,
        signal: gone.signal,
        record,
      };
      respond(exchange, drop).catch(() => res.socket?.destroy());
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setBehavior(b) {
      behavior = { ...behavior, ...b };
    },
    reset() {
      behavior = { ...DEFAULTS, perModel: {} };
      requests.length = 0;
      closedByClient = 0;
    },
    openConnections: () => sockets.size,
    get closedByClient() {
      return closedByClient;
    },
    async close() {
      lifetime.abort();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function route(method: string | undefined, path: string): Dialect | null {
  if (method !== 'POST') return null;
  if (path === '/v1/chat/completions' || path === '/chat/completions') return 'openai';
  if (path === '/v1/messages') return 'anthropic';
  return null;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const errorBody = (dialect: Dialect, status: number, message: string) =>
  dialect === 'openai' ? openAiError(status, message) : anthropicError(status, message);

/** Resolves after ms, or rejects when the exchange is over (client gone / server closing). */
const wait = (ms: number, signal: AbortSignal) =>
  ms > 0 ? sleep(ms, undefined, { signal }) : Promise.resolve();

/** Writes and waits until the bytes reach the socket (so a following drop cannot discard them). */
function flushed(res: ServerResponse, text: string, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    res.write(text, done);
  });
}

async function respond(
  { res, dialect, body, behavior: b, signal, record }: Exchange,
  drop: () => void,
) {
  if (b.mode === 'hang') return; // keeps the socket open until the client or close() ends it
  const slow = b.mode === 'slow';
  await wait(b.delayMs ?? (slow ? 200 : 0), signal);
  const chunkDelay = b.chunkDelayMs ?? (slow ? 100 : 0);

  if (b.mode === 'status') {
    const headers: Record<string, string> =
      b.status === 429 ? { 'retry-after': String(b.retryAfter) } : {};
    return json(res, b.status, errorBody(dialect, b.status, b.errorMessage), headers);
  }
  const answer = answerFor(body, {
    content: b.content,
    usage: b.usage,
    toolCalls: b.toolCalls,
    chunks: b.chunks,
  });
  const stream = body.stream === true;

  if (b.mode === 'malformed') {
    res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
    res.end(
      stream ? 'data: {"id": "chatcmpl-x", "choices": [\n\n' : '{"id": "broken", "choices": [',
    );
    return;
  }
  if (!stream) {
    if (b.mode === 'drop') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
      await flushed(res, '{"id": "partial", ', signal);
      return drop();
    }
    const withUsage = b.mode !== 'no_usage';
    if (dialect === 'anthropic') {
      return json(res, 200, anthropicMessage(answer, withUsage, b.anthropicCache));
    }
    const completion: Record<string, unknown> = openAiCompletion(answer);
    if (!withUsage) delete completion.usage;
    return json(res, 200, completion);
  }

  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
  const events = streamEvents(dialect, answer, b, body);
  let contentSent = 0;
  for (const [i, [event, data]] of events.entries()) {
    if (signal.aborted) return;
    if (i > 0) await wait(chunkDelay, signal);
    if (b.mode === 'drop' && contentSent >= b.dropAfterChunks) return drop();
    if (b.mode === 'stall' && contentSent >= b.dropAfterChunks) return; // silent until closed
    const line = `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
    record.chunkTimes.push(Date.now());
    await flushed(res, line, signal);
    if (isContent(data)) contentSent += 1;
  }
  if (dialect === 'openai') res.write('data: [DONE]\n\n');
  res.end();
}

function streamEvents(
  dialect: Dialect,
  answer: Answer,
  b: ModelBehavior,
  body: Record<string, any>,
): Array<[string | null, unknown]> {
  const withUsage = b.mode !== 'no_usage';
  if (dialect === 'anthropic') {
    return anthropicEvents(answer, b.chunks, withUsage, b.anthropicCache);
  }
  const asked = body.stream_options?.include_usage === true;
  return openAiChunks(answer, b.chunks, withUsage && asked).map((d) => [null, d]);
}

/** A chunk that carries generated text or tool arguments (what `drop` counts). */
function isContent(data: any): boolean {
  const delta = data?.choices?.[0]?.delta ?? data?.delta;
  return Boolean(
    delta?.content ||
    delta?.text ||
    delta?.partial_json ||
    delta?.tool_calls?.[0]?.function?.arguments,
  );
}
