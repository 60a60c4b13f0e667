import type {
  ChatRequest,
  ChatResult,
  FinishReason,
  ProviderTarget,
  StreamChunk,
  Usage,
} from './provider.types';
import { UpstreamError } from './provider.types';
import { errorExcerpt, scrub } from './upstream-errors';
import type { UpstreamCall } from './upstream-http';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const malformed = (what: string) =>
  new UpstreamError('malformed_response', `Upstream answer is malformed: ${what}`, 200);

/**
 * `POST {base}/responses` with the client's own Responses body: model replaced by the deployment's,
 * `store` off (the gateway is stateless: a later `previous_response_id` could not be routed back
 * to the deployment that kept it), and `max_output_tokens` no higher than the hold pays for.
 */
export function responsesCall(
  target: ProviderTarget,
  request: ChatRequest,
  defaultBase: string,
  stream: boolean,
  signal: AbortSignal,
): UpstreamCall {
  const base = target.apiBase || defaultBase;
  const body: Json = Object.assign({}, request.passthrough!.body, {
    model: target.providerModel,
    store: false,
  });
  if (request.max_tokens !== undefined) body.max_output_tokens = request.max_tokens;
  if (stream) body.stream = true;
  else delete body.stream;
  return {
    url: `${base.replace(/\/+$/, '')}/responses`,
    headers: target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {},
    body,
    signal,
    secret: target.apiKey,
  };
}

/** Responses usage (input/output tokens and their details) in the gateway's Usage convention. */
export function usageFromResponses(value: unknown): Usage | undefined {
  if (!isObject(value)) return undefined;
  const { input_tokens: input, output_tokens: output, total_tokens: total } = value;
  if (typeof input !== 'number' || typeof output !== 'number') return undefined;
  const usage: Usage = {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: typeof total === 'number' ? total : input + output,
  };
  const cached = isObject(value.input_tokens_details)
    ? value.input_tokens_details.cached_tokens
    : undefined;
  const reasoning = isObject(value.output_tokens_details)
    ? value.output_tokens_details.reasoning_tokens
    : undefined;
  if (typeof cached === 'number' && cached > 0) {
    usage.prompt_tokens_details = { cached_tokens: cached };
  }
  if (typeof reasoning === 'number' && reasoning > 0) {
    usage.completion_tokens_details = { reasoning_tokens: reasoning };
  }
  return usage;
}

/** A Response object's finish, in chat terms (what the call row records). */
function finishOf(response: Json): FinishReason {
  const output = Array.isArray(response.output) ? response.output : [];
  if (response.status === 'incomplete') {
    const details = isObject(response.incomplete_details) ? response.incomplete_details : {};
    return details.reason === 'content_filter' ? 'content_filter' : 'length';
  }
  return output.some((item) => isObject(item) && item.type === 'function_call')
    ? 'tool_calls'
    : 'stop';
}

function textOf(response: Json): string {
  const output = Array.isArray(response.output) ? response.output : [];
  return output
    .filter(isObject)
    .flatMap((item): unknown[] =>
      item.type === 'message' && Array.isArray(item.content) ? item.content : [],
    )
    .filter((part): part is Json => isObject(part) && part.type === 'output_text')
    .map((part) => (typeof part.text === 'string' ? part.text : ''))
    .join('');
}

/** The upstream's Response, kept whole in `raw`; the rest is what the call is metered by. */
export function fromResponsesBody(json: unknown, request: ChatRequest): ChatResult {
  if (!isObject(json) || !Array.isArray(json.output)) throw malformed('no output');
  const usage = usageFromResponses(json.usage);
  const content = textOf(json);
  return {
    id: typeof json.id === 'string' ? json.id : '',
    model: typeof json.model === 'string' ? json.model : request.model,
    content,
    finish_reason: finishOf(json),
    usage: usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    ...(usage ? {} : { usage_estimated: true }),
    raw: json,
  };
}

/**
 * One upstream Responses stream event as a chunk that carries it whole (`raw`) and meters it:
 * text and argument deltas as content, the terminal event's finish and usage. An `error` or
 * `response.failed` event is thrown, so the stream ends as any failed stream does.
 */
export function fromResponsesEvent(
  event: string | undefined,
  data: unknown,
  secret: string | null,
): StreamChunk {
  if (!isObject(data)) throw malformed('stream event is not an object');
  const type = typeof data.type === 'string' ? data.type : (event ?? '');
  if (type === 'error' || type === 'response.failed') {
    const excerpt = scrub(errorExcerpt(JSON.stringify(data)), secret);
    const kind = /rate_limit/i.test(excerpt) ? 'rate_limited' : 'server_error';
    throw new UpstreamError(kind, `Upstream stream failed: ${excerpt}`);
  }
  const chunk: StreamChunk = {
    id: '',
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: '',
    choices: [],
    raw: { event: event ?? type, data },
  };
  const delta = typeof data.delta === 'string' ? data.delta : '';
  const index = typeof data.output_index === 'number' ? data.output_index : 0;
  if (type === 'response.output_text.delta' && delta) {
    chunk.choices = [{ index: 0, delta: { content: delta }, finish_reason: null }];
  } else if (type === 'response.function_call_arguments.delta' && delta) {
    chunk.choices = [
      {
        index: 0,
        delta: { tool_calls: [{ index, function: { arguments: delta } }] },
        finish_reason: null,
      },
    ];
  } else if (
    (type === 'response.completed' || type === 'response.incomplete') &&
    isObject(data.response)
  ) {
    chunk.choices = [{ index: 0, delta: {}, finish_reason: finishOf(data.response) }];
    const usage = usageFromResponses(data.response.usage);
    if (usage) chunk.usage = usage;
  }
  return chunk;
}
