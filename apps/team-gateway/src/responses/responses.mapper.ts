import type { CallBody } from '../calls/calls.service';
import { LlmCallDto } from '../calls/dto/llm-call.dto';
import { InvalidParamError } from '../openai/openai-error';
import type {
  ChatMessage,
  ChatResult,
  ContentPart,
  FinishReason,
  ToolCall,
  ToolChoice,
  ToolDefinition,
  Usage,
} from '../providers/provider.types';
import type { CreateResponseDto } from './dto/create-response.dto';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A Responses request as the chat call the pipeline makes. `problems` lists what chat completions
 * cannot express (built-in tools, file inputs, item references): fine for OpenAI deployments,
 * which get the client's body as is, a 400 when any deployment of the plan needs the translation.
 */
export interface TranslatedRequest {
  body: CallBody;
  problems: InvalidParamError[];
}

/** The request, translated for chat providers and carried whole for OpenAI ones. */
export function toCallBody(req: CreateResponseDto, raw: Json): TranslatedRequest {
  const problems: InvalidParamError[] = [];
  const messages = toMessages(req, problems);
  const tools = toTools(req.tools ?? [], problems);
  const body: CallBody = Object.assign(new LlmCallDto(), {
    model: req.model,
    messages,
    temperature: req.temperature ?? undefined,
    top_p: req.top_p ?? undefined,
    max_tokens: req.max_output_tokens ?? undefined,
    response_format: toResponseFormat(req.text, problems),
    tools: tools.length ? tools : undefined,
    tool_choice: tools.length ? toToolChoice(req.tool_choice, problems) : undefined,
    parallel_tool_calls: tools.length ? (req.parallel_tool_calls ?? undefined) : undefined,
    user: req.user ? req.user.slice(0, 255) : undefined,
    call_metadata: req.metadata ?? undefined,
    passthrough: { api: 'responses' as const, body: raw },
  });
  return { body, problems };
}

/** The one-call job a request without X-Job-Id runs in. */
export function toOneCallJob(req: CreateResponseDto) {
  return {
    job_type: 'responses',
    user_id: req.user ? req.user.slice(0, 255) : undefined,
    metadata: req.metadata ?? {},
  };
}

function toMessages(req: CreateResponseDto, problems: InvalidParamError[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (req.instructions) messages.push({ role: 'system', content: req.instructions });
  if (typeof req.input === 'string') {
    messages.push({ role: 'user', content: req.input });
    return messages;
  }
  for (const [i, item] of req.input.entries()) {
    const at = `input[${i}]`;
    const type = item.type ?? (item.role !== undefined ? 'message' : 'missing');
    switch (type) {
      case 'message':
        messages.push(toMessage(item, at, problems));
        break;
      case 'function_call': {
        const call = toToolCall(item, at);
        const last = messages.at(-1);
        // parallel calls arrive as consecutive items: one assistant turn, as chat expects
        if (last?.role === 'assistant' && last.tool_calls) last.tool_calls.push(call);
        else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
        break;
      }
      case 'function_call_output':
        messages.push({
          role: 'tool',
          tool_call_id: stringField(item, 'call_id', at),
          content: outputText(item.output, `${at}.output`, problems),
        });
        break;
      case 'reasoning':
        // a reasoning model's own notes: chat providers have nowhere to take them back
        break;
      default:
        problems.push(
          new InvalidParamError(
            `${at}.type: input items of type ${JSON.stringify(type)} cannot be translated for this model's provider (supported: message, function_call, function_call_output, reasoning)`,
            `${at}.type`,
          ),
        );
    }
  }
  if (messages.every((m) => m.role === 'system')) {
    problems.push(new InvalidParamError('input: at least one input message is required', 'input'));
  }
  return messages;
}

const ROLES = new Set(['user', 'assistant', 'system', 'developer']);

function toMessage(item: Json, at: string, problems: InvalidParamError[]): ChatMessage {
  const role = item.role;
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw new InvalidParamError(
      `${at}.role: must be one of user, assistant, system, developer`,
      `${at}.role`,
    );
  }
  const content = item.content;
  if (typeof content === 'string') return { role: role as ChatMessage['role'], content };
  if (!Array.isArray(content)) {
    throw new InvalidParamError(
      `${at}.content: must be a string or an array of content parts`,
      `${at}.content`,
    );
  }
  const parts = content.map((part, j) => toPart(part, `${at}.content[${j}]`, problems));
  // assistant turns in chat are text: the output_text parts of earlier answers, joined
  if (role === 'assistant') {
    return { role: 'assistant', content: parts.map((p) => p.text ?? '').join('') };
  }
  return { role: role as ChatMessage['role'], content: parts };
}

function toPart(part: unknown, at: string, problems: InvalidParamError[]): ContentPart {
  if (!isObject(part)) throw new InvalidParamError(`${at}: must be an object`, at);
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      if (typeof part.text !== 'string') {
        throw new InvalidParamError(`${at}.text: must be a string`, `${at}.text`);
      }
      return { type: 'text', text: part.text };
    case 'refusal':
      return { type: 'text', text: typeof part.refusal === 'string' ? part.refusal : '' };
    case 'input_image':
      if (typeof part.image_url === 'string') {
        const detail = typeof part.detail === 'string' ? part.detail : undefined;
        return {
          type: 'image_url',
          image_url: { url: part.image_url, ...(detail ? { detail } : {}) },
        };
      }
      problems.push(
        new InvalidParamError(
          `${at}: images by file_id cannot be translated for this model's provider; send image_url (a URL or a data: URL)`,
          `${at}.image_url`,
        ),
      );
      return { type: 'text', text: '' };
    default:
      problems.push(
        new InvalidParamError(
          `${at}.type: content of type ${JSON.stringify(part.type)} cannot be translated for this model's provider (supported: input_text, input_image, output_text)`,
          `${at}.type`,
        ),
      );
      return { type: 'text', text: '' };
  }
}

function toToolCall(item: Json, at: string): ToolCall {
  const args = item.arguments;
  return {
    id: stringField(item, 'call_id', at),
    type: 'function',
    function: {
      name: stringField(item, 'name', at),
      arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
    },
  };
}

function stringField(item: Json, field: string, at: string): string {
  const value = item[field];
  if (typeof value !== 'string' || value === '') {
    throw new InvalidParamError(`${at}.${field}: must be a non-empty string`, `${at}.${field}`);
  }
  return value;
}

/** A function call's output: text, or input_text parts (other parts cannot go to a chat tool message). */
function outputText(output: unknown, at: string, problems: InvalidParamError[]): string {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) {
    throw new InvalidParamError(`${at}: must be a string or an array of content parts`, at);
  }
  return output
    .map((part: unknown, j) => {
      if (isObject(part) && part.type === 'input_text' && typeof part.text === 'string') {
        return part.text;
      }
      problems.push(
        new InvalidParamError(
          `${at}[${j}]: only input_text parts can be translated for this model's provider`,
          `${at}[${j}]`,
        ),
      );
      return '';
    })
    .join('');
}

function toTools(tools: Json[], problems: InvalidParamError[]): ToolDefinition[] {
  const out: ToolDefinition[] = [];
  for (const [i, tool] of tools.entries()) {
    if (tool.type !== 'function') {
      problems.push(
        new InvalidParamError(
          `tools[${i}].type: built-in tool ${JSON.stringify(tool.type)} is available only on OpenAI deployments; this model's provider takes function tools`,
          `tools[${i}].type`,
        ),
      );
      continue;
    }
    if (typeof tool.name !== 'string' || tool.name === '') {
      throw new InvalidParamError(
        `tools[${i}].name: must be a non-empty string`,
        `tools[${i}].name`,
      );
    }
    const fn: ToolDefinition['function'] = { name: tool.name };
    if (typeof tool.description === 'string') fn.description = tool.description;
    if (isObject(tool.parameters)) fn.parameters = tool.parameters;
    out.push({ type: 'function', function: fn });
  }
  return out;
}

function toToolChoice(
  choice: CreateResponseDto['tool_choice'],
  problems: InvalidParamError[],
): ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'none' || choice === 'auto' || choice === 'required') return choice;
  if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string') {
    return { type: 'function', function: { name: choice.name } };
  }
  problems.push(
    new InvalidParamError(
      `tool_choice: ${JSON.stringify(choice)} cannot be translated for this model's provider (use none, auto, required or {type:"function", name})`,
      'tool_choice',
    ),
  );
  return undefined;
}

/** `text.format` → chat's response_format (json_schema, json_object; text is the default). */
function toResponseFormat(text: Json | undefined, problems: InvalidParamError[]): Json | undefined {
  const format = isObject(text?.format) ? text.format : undefined;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    const { type: _type, ...schema } = format;
    return { type: 'json_schema', json_schema: schema };
  }
  problems.push(
    new InvalidParamError(
      `text.format.type: must be text, json_object or json_schema`,
      'text.format.type',
    ),
  );
  return undefined;
}

/** Chat usage (the gateway's convention) in the Responses API's shape. */
export function toResponsesUsage(usage: Usage) {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: usage.completion_tokens,
    output_tokens_details: {
      reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
    },
    total_tokens: usage.total_tokens || usage.prompt_tokens + usage.completion_tokens,
  };
}

export type ResponsesUsage = ReturnType<typeof toResponsesUsage>;

/** The message item holding an answer's text. */
export function messageItem(
  id: string,
  text: string,
  status: 'completed' | 'incomplete' | 'in_progress',
) {
  return {
    id,
    type: 'message' as const,
    status,
    role: 'assistant' as const,
    content: status === 'in_progress' ? [] : [outputTextPart(text)],
  };
}

export const outputTextPart = (text: string) => ({
  type: 'output_text' as const,
  text,
  annotations: [] as unknown[],
  logprobs: [] as unknown[],
});

export function functionCallItem(
  id: string,
  call: { call_id: string; name: string; arguments: string },
  status: 'completed' | 'in_progress',
) {
  return { id, type: 'function_call' as const, status, ...call };
}

export type OutputItem = ReturnType<typeof messageItem> | ReturnType<typeof functionCallItem>;

/** How a chat finish reads as a Response's status and incomplete_details. */
export function statusOf(finish: FinishReason | null) {
  if (finish === 'length') {
    return { status: 'incomplete' as const, incomplete_details: { reason: 'max_output_tokens' } };
  }
  if (finish === 'content_filter') {
    return { status: 'incomplete' as const, incomplete_details: { reason: 'content_filter' } };
  }
  return { status: 'completed' as const, incomplete_details: null };
}

/** The parts of a Response object that echo the request (OpenAI's defaults where absent). */
export function echoOf(req: CreateResponseDto) {
  return {
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    metadata: req.metadata ?? {},
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    // stateless: nothing is kept, whatever the request asked
    store: false,
    temperature: req.temperature ?? 1,
    text: req.text ?? { format: { type: 'text' } },
    tool_choice: req.tool_choice ?? 'auto',
    tools: req.tools ?? [],
    top_p: req.top_p ?? 1,
    truncation: 'disabled',
    user: req.user ?? null,
  };
}

/** A Response object (`object: "response"`) for a translated call's result. */
export function toResponse(
  id: string,
  result: ChatResult,
  model: string,
  req: CreateResponseDto,
  created = Math.floor(Date.now() / 1000),
) {
  const { status, incomplete_details } = statusOf(result.finish_reason);
  const output: OutputItem[] = [];
  const suffix = id.replace(/^resp_/, '');
  if (result.content) {
    output.push(
      messageItem(
        `msg_${suffix}`,
        result.content,
        status === 'completed' ? 'completed' : 'incomplete',
      ),
    );
  }
  for (const [i, call] of (result.tool_calls ?? []).entries()) {
    output.push(
      functionCallItem(
        `fc_${suffix}_${i}`,
        { call_id: call.id, name: call.function.name, arguments: call.function.arguments },
        'completed',
      ),
    );
  }
  return {
    id,
    object: 'response' as const,
    created_at: created,
    status,
    completed_at: Math.floor(Date.now() / 1000),
    error: null,
    incomplete_details,
    model,
    output,
    usage: toResponsesUsage(result.usage),
    ...echoOf(req),
  };
}

/** A passed-through answer: the upstream's body, with the public model name. */
export function withPublicModel(raw: Json, model: string): Json {
  return Object.assign({}, raw, { model });
}

/** A Response id for a gateway call id (letters and digits, as OpenAI's). */
export const responseId = (callId: string) => `resp_${callId.replace(/-/g, '')}`;
