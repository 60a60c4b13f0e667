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
  openAiEmbeddings,
  openAiError,
  openAiTextChunks,
  openAiTextCompletion,
  UsageDetails,
  openAiResponse,
  openAiResponseEvents,
  responsesAsChat,
} from './replies';
import { azureError, azurePromptFilterChunk, azureRequestProblem, azureRoute } from './azure';
import {
  bedrockError,
  bedrockExceptionFor,
  bedrockRoute,
  converseAsChat,
  converseResponse,
  converseStreamEvents,
  eventFrame,
  exceptionFrame,
  sigV4Problem,
} from './bedrock';
import {
  geminiAsChat,
  geminiError,
  geminiKeyProblem,
  geminiResponse,
  geminiRoute,
  geminiSignatureProblem,
  geminiStreamEvents,
} from './gemini';

/**
 * A fake LLM upstream on loopback, speaking OpenAI's `POST /v1/chat/completions` and `POST /v1/responses` (and legacy
 * `/v1/completions` and `/v1/embeddings`), Anthropic's
 * `POST /v1/messages`, Azure OpenAI's deployment route, Gemini's `generateContent` /
 * `streamGenerateContent?alt=sse` and Bedrock's Converse / ConverseStream (binary event
 * stream), plain and streamed, with switchable failure modes. Azure, Gemini and Bedrock check
 * their credentials as the real services do (Bedrock recomputes the SigV4 signature). Used by
 * the e2e specs and the benchmark; `main.ts` runs it standalone.
 */

export type Mode =
  | 'ok'
  | 'status'
  | 'slow'
  | 'hang'
  | 'malformed'
  | 'drop'
  | 'stall'
  | 'no_usage'
  /** A stream that sends dropAfterChunks content pieces, then the dialect's in-stream error. */
  | 'stream_error';

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
  /** Cached, cache-written and reasoning tokens, each reported in the dialect's own way. */
  details?: UsageDetails;
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
  /** The query string's parameters. */
  query: Record<string, string>;
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

/** `text`: OpenAI's legacy completions; `embeddings`: OpenAI's embeddings. */
type Dialect =
  'openai' | 'anthropic' | 'responses' | 'text' | 'embeddings' | 'azure' | 'gemini' | 'bedrock';

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
      const [path, search = ''] = (req.url ?? '/').split('?');
      const query = new URLSearchParams(search);
      const record: RecordedRequest = {
        method: req.method ?? '',
        path,
        query: Object.fromEntries(query),
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
      const routed = route(req.method, path);
      if (!routed) {
        if (req.method === 'GET' && path === '/v1/models') {
          return json(res, 200, { object: 'list', data: [] });
        }
        return json(res, 404, openAiError(404, `No route for ${req.method} ${path}`));
      }
      const { dialect } = routed;
      const start = async () => {
        const refused = await credentialProblem(dialect, req, query, path, text);
        if (refused) return json(res, refused.status, refused.body, refused.headers);
        if (typeof body !== 'object' || body === null) {
          return json(res, 400, errorBody(dialect, 400, 'Request body must be JSON'));
        }
        const model = routed.model ?? (typeof body.model === 'string' ? body.model : '');
        const unsigned = dialect === 'gemini' ? geminiSignatureProblem(body, model) : null;
        if (unsigned) return json(res, 400, unsigned);
        const effective = { ...behavior, ...(behavior.perModel[model] ?? {}) };
        const exchange = {
          req,
          res,
          dialect,
          body: asChat(dialect, body, model, routed.stream),
          behavior: effective,
          signal: gone.signal,
          record,
        };
        await respond(exchange, drop);
      };
      start().catch(() => res.socket?.destroy());
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

interface Route {
  dialect: Dialect;
  /** The model named by the path (Azure deployment, Gemini model, Bedrock model id). */
  model?: string;
  /** Whether the path asks for a stream (Gemini, Bedrock). */
  stream?: boolean;
}

function route(method: string | undefined, path: string): Route | null {
  if (method !== 'POST') return null;
  if (path === '/v1/chat/completions' || path === '/chat/completions') return { dialect: 'openai' };
  if (path === '/v1/messages') return { dialect: 'anthropic' };
  if (path === '/v1/completions') return { dialect: 'text' };
  if (path === '/v1/embeddings') return { dialect: 'embeddings' };
  const deployment = azureRoute(path);
  if (deployment !== null) return { dialect: 'azure', model: deployment };
  const gemini = geminiRoute(path);
  if (gemini) return { dialect: 'gemini', ...gemini };
  const bedrock = bedrockRoute(path);
  if (bedrock) return { dialect: 'bedrock', ...bedrock };
  if (path === '/v1/responses') return { dialect: 'responses' };
  return null;
}

interface Refusal {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What the real service answers a request with a wrong key, version or signature. */
async function credentialProblem(
  dialect: Dialect,
  req: IncomingMessage,
  query: URLSearchParams,
  path: string,
  text: string,
): Promise<Refusal | null> {
  switch (dialect) {
    case 'azure':
      return azureRequestProblem(req, query);
    case 'gemini': {
      const problem = geminiKeyProblem(req);
      return problem ? { status: 400, body: problem } : null;
    }
    case 'bedrock': {
      const rawPath = (req.url ?? '/').split('?')[0];
      return sigV4Problem(req, rawPath || path, text);
    }
    case 'openai':
    case 'anthropic':
    case 'responses':
    case 'text':
    case 'embeddings':
      return null;
  }
}

/** Every dialect's request as the chat shape the answer is built from (model, stream included). */
function asChat(
  dialect: Dialect,
  body: Record<string, any>,
  model: string,
  stream: boolean | undefined,
): Record<string, any> {
  switch (dialect) {
    case 'gemini':
      return { ...geminiAsChat(body, model), stream };
    case 'bedrock':
      return { ...converseAsChat(body, model), stream };
    case 'azure':
      return { ...body, model };
    case 'openai':
    case 'anthropic':
    case 'responses':
    case 'text':
    case 'embeddings':
      return body;
  }
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

function errorBody(dialect: Dialect, status: number, message: string, retryAfter?: number) {
  switch (dialect) {
    case 'openai':
    case 'responses':
    case 'text':
    case 'embeddings':
      return openAiError(status, message);
    case 'anthropic':
      return anthropicError(status, message);
    case 'azure':
      return azureError(status, message);
    case 'gemini':
      return geminiError(status, message, retryAfter);
    case 'bedrock':
      return { message };
  }
}

/** The headers of an error answer: Retry-After on a 429 (Google uses RetryInfo instead). */
function errorHeaders(dialect: Dialect, status: number, retryAfter: number) {
  const headers: Record<string, string> = {};
  if (status === 429 && dialect !== 'gemini') headers['retry-after'] = String(retryAfter);
  if (dialect === 'bedrock') Object.assign(headers, bedrockError(status, '').headers);
  return headers;
}

/** Resolves after ms, or rejects when the exchange is over (client gone / server closing). */
const wait = (ms: number, signal: AbortSignal) =>
  ms > 0 ? sleep(ms, undefined, { signal }) : Promise.resolve();

/** Writes and waits until the bytes reach the socket (so a following drop cannot discard them). */
function flushed(
  res: ServerResponse,
  text: string | Uint8Array,
  signal: AbortSignal,
): Promise<void> {
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
    return json(
      res,
      b.status,
      errorBody(dialect, b.status, b.errorMessage, b.retryAfter),
      errorHeaders(dialect, b.status, b.retryAfter),
    );
  }
  const answer = answerFor(dialect === 'responses' ? responsesAsChat(body) : body, {
    content: b.content,
    usage: b.usage,
    details: b.details,
    toolCalls: b.toolCalls,
    chunks: b.chunks,
  });
  if (b.anthropicCache) {
    // Anthropic counts cache reads and writes beside input_tokens: the prompt grows by them
    const { read, write } = b.anthropicCache;
    answer.usage.prompt_tokens += read + write;
    answer.usage.total_tokens += read + write;
    answer.details = { ...answer.details, cached: read, cacheWrite: write };
  }
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
    if (dialect === 'anthropic') return json(res, 200, anthropicMessage(answer, withUsage));
    if (dialect === 'responses') {
      return json(res, 200, openAiResponse(answer, body, 'done', withUsage));
    }
    if (dialect === 'gemini') return json(res, 200, geminiResponse(answer, withUsage));
    if (dialect === 'bedrock') return json(res, 200, converseResponse(answer, withUsage));
    const completion: Record<string, unknown> =
      dialect === 'embeddings'
        ? openAiEmbeddings(body, b.usage)
        : dialect === 'text'
          ? openAiTextCompletion(answer)
          : openAiCompletion(answer);
    if (!withUsage) delete completion.usage;
    return json(res, 200, completion);
  }

  res.writeHead(200, {
    'content-type':
      dialect === 'bedrock' ? 'application/vnd.amazon.eventstream' : 'text/event-stream',
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
    if (b.mode === 'stream_error' && contentSent >= b.dropAfterChunks) {
      await flushed(res, streamError(dialect, b), signal);
      return res.end();
    }
    record.chunkTimes.push(Date.now());
    await flushed(res, encodeEvent(dialect, event, data), signal);
    if (isContent(data)) contentSent += 1;
  }
  if (dialect === 'openai' || dialect === 'azure' || dialect === 'text') {
    res.write('data: [DONE]\n\n');
  }
  res.end();
}

function encodeEvent(dialect: Dialect, event: string | null, data: unknown): string | Uint8Array {
  if (dialect === 'bedrock') return eventFrame(event ?? '', data);
  return `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

/** The dialect's error in the middle of a stream, for the behaviour's status. */
function streamError(dialect: Dialect, b: ModelBehavior): string | Uint8Array {
  if (dialect === 'bedrock') {
    const type = bedrockExceptionFor(b.status);
    return exceptionFrame(
      type.replace(/^./, (c) => c.toLowerCase()),
      b.errorMessage,
    );
  }
  if (dialect === 'anthropic') {
    return `event: error\ndata: ${JSON.stringify(anthropicError(b.status, b.errorMessage))}\n\n`;
  }
  return `data: ${JSON.stringify(errorBody(dialect, b.status, b.errorMessage))}\n\n`;
}

function streamEvents(
  dialect: Dialect,
  answer: Answer,
  b: ModelBehavior,
  body: Record<string, any>,
): Array<[string | null, unknown]> {
  const withUsage = b.mode !== 'no_usage';
  if (dialect === 'anthropic') return anthropicEvents(answer, b.chunks, withUsage);
  if (dialect === 'gemini') {
    return geminiStreamEvents(answer, b.chunks, withUsage).map((d) => [null, d]);
  }
  if (dialect === 'bedrock') return converseStreamEvents(answer, b.chunks, withUsage);
  if (dialect === 'responses') return openAiResponseEvents(answer, body, b.chunks, withUsage);
  const asked = body.stream_options?.include_usage === true;
  const chunks = (dialect === 'text' ? openAiTextChunks : openAiChunks)(
    answer,
    b.chunks,
    withUsage && asked,
  );
  if (dialect === 'azure') chunks.unshift(azurePromptFilterChunk);
  return chunks.map((d) => [null, d]);
}

/** A chunk that carries generated text or tool arguments (what `drop` counts). */
function isContent(data: any): boolean {
  const delta = data?.choices?.[0]?.delta ?? data?.delta;
  const part = data?.candidates?.[0]?.content?.parts?.[0];
  if (typeof delta === 'string') return delta !== '';
  return Boolean(
    delta?.content ||
    delta?.text ||
    data?.choices?.[0]?.text ||
    delta?.partial_json ||
    delta?.toolUse?.input ||
    delta?.tool_calls?.[0]?.function?.arguments ||
    part?.text ||
    part?.functionCall,
  );
}
