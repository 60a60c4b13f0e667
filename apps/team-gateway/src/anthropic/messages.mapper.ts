import { LlmCallBody, LlmCallDto } from '../calls/dto/llm-call.dto';
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
import { approxTokens, promptText } from '../providers/tokens';
import type {
  ContentBlock,
  CountTokensRequestDto,
  MessagesRequestDto,
} from './dto/messages-request.dto';
import type { MessageResponseDto, MessagesUsageDto } from './dto/messages-response.dto';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

// ---- Messages request → the gateway's chat call ----

/** The text of a system prompt (string, or text blocks; cache_control is Anthropic's only). */
export function systemText(system: MessagesRequestDto['system']): string {
  if (typeof system === 'string') return system;
  return (system ?? [])
    .filter((b) => b.type === 'text')
    .map((b) => str(b.text))
    .join('\n\n');
}

/** An image block as an OpenAI image part: base64 → data URL, url → url. */
function imagePart(block: ContentBlock): ContentPart | null {
  const source = isObject(block.source) ? block.source : {};
  if (source.type === 'base64' && typeof source.data === 'string') {
    const media = str(source.media_type) || 'image/png';
    return { type: 'image_url', image_url: { url: `data:${media};base64,${source.data}` } };
  }
  if (source.type === 'url' && typeof source.url === 'string') {
    return { type: 'image_url', image_url: { url: source.url } };
  }
  return null;
}

/** Text and images a chat model can read; blocks only Anthropic understands are left out. */
function readableParts(blocks: ContentBlock[]): ContentPart[] {
  return blocks.flatMap((block): ContentPart[] => {
    if (block.type === 'text') return [{ type: 'text', text: str(block.text) }];
    if (block.type === 'image') {
      const part = imagePart(block);
      return part ? [part] : [];
    }
    // a plain-text document is text to a chat model; PDFs and others are Anthropic's only
    if (block.type === 'document' && isObject(block.source) && block.source.type === 'text') {
      return [{ type: 'text', text: str(block.source.data) }];
    }
    return []; // thinking, redacted_thinking, server tool blocks, …
  });
}

/** Text-only parts become one string (what every OpenAI-style server reads). */
function asContent(parts: ContentPart[]): string | ContentPart[] {
  return parts.every((p) => p.type === 'text')
    ? parts.map((p) => p.text ?? '').join('\n\n')
    : parts;
}

function toolResultText(block: ContentBlock): { text: string; images: ContentPart[] } {
  const content = block.content;
  const blocks = typeof content === 'string' ? [] : Array.isArray(content) ? content : [];
  const parts = readableParts(blocks.filter((b): b is ContentBlock => isObject(b)));
  const text =
    typeof content === 'string'
      ? content
      : parts
          .filter((p) => p.type === 'text')
          .map((p) => p.text ?? '')
          .join('\n\n');
  return {
    text: block.is_error === true ? `Error: ${text}` : text,
    images: parts.filter((p) => p.type !== 'text'),
  };
}

function toolCallOf(block: ContentBlock): ToolCall {
  return {
    id: str(block.id),
    type: 'function',
    function: { name: str(block.name), arguments: JSON.stringify(block.input ?? {}) },
  };
}

/**
 * Messages → chat messages: the system prompt first; an assistant turn's text and tool_use
 * blocks become one message with tool_calls; a user turn's tool_result blocks become tool
 * messages (first, as chat wants them right after the tool calls), its other blocks one user
 * message (images of tool results join it).
 */
export function toChatMessages(
  system: MessagesRequestDto['system'],
  messages: MessagesRequestDto['messages'],
): ChatMessage[] {
  const out: ChatMessage[] = [];
  const sys = systemText(system);
  if (sys) out.push({ role: 'system', content: sys });
  for (const message of messages) {
    if (message.role === 'system') {
      const text = systemText(message.content);
      if (text) out.push({ role: 'system', content: text });
      continue;
    }
    if (typeof message.content === 'string') {
      out.push({ role: message.role, content: message.content });
      continue;
    }
    const blocks = message.content;
    if (message.role === 'assistant') {
      const text = readableParts(blocks)
        .map((p) => p.text ?? '')
        .join('');
      const calls = blocks.filter((b) => b.type === 'tool_use').map(toolCallOf);
      if (!text && calls.length === 0) continue;
      out.push({
        role: 'assistant',
        content: text || null,
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      });
      continue;
    }
    const images: ContentPart[] = [];
    for (const block of blocks.filter((b) => b.type === 'tool_result')) {
      const result = toolResultText(block);
      out.push({ role: 'tool', tool_call_id: str(block.tool_use_id), content: result.text });
      images.push(...result.images);
    }
    const parts = [...readableParts(blocks), ...images];
    if (parts.length > 0) out.push({ role: 'user', content: asContent(parts) });
  }
  return out;
}

/** Client tools (with an input_schema) as functions; Anthropic's server tools are left out. */
export function toChatTools(tools: MessagesRequestDto['tools']): ToolDefinition[] {
  return (tools ?? [])
    .filter((t) => typeof t.name === 'string' && (t.type === undefined || t.type === 'custom'))
    .map((t) => ({
      type: 'function' as const,
      function: {
        name: t.name as string,
        ...(typeof t.description === 'string' ? { description: t.description } : {}),
        parameters: isObject(t.input_schema) ? t.input_schema : { type: 'object', properties: {} },
      },
    }));
}

export function toChatToolChoice(choice: Json | undefined): ToolChoice | undefined {
  switch (choice?.type) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return { type: 'function', function: { name: str(choice.name) } };
    default:
      return undefined;
  }
}

/**
 * The call the gateway makes for a Messages request: translated to chat for OpenAI-style
 * deployments, and carrying the client's body for Anthropic ones (see ChatRequest.anthropicPassthrough).
 * `thinking`, `top_k` and other Anthropic-only fields reach Anthropic deployments only.
 */
export function toCallBody(req: MessagesRequestDto, beta?: string): LlmCallBody {
  const tools = toChatTools(req.tools);
  const choice = tools.length > 0 ? toChatToolChoice(req.tool_choice) : undefined;
  const user = req.metadata?.user_id ?? undefined;
  return Object.assign(new LlmCallDto(), {
    model: req.model,
    messages: toChatMessages(req.system, req.messages),
    max_tokens: req.max_tokens,
    temperature: req.temperature,
    top_p: req.top_p,
    stop: req.stop_sequences?.length ? req.stop_sequences : undefined,
    tools: tools.length > 0 ? tools : undefined,
    tool_choice: choice,
    parallel_tool_calls:
      tools.length > 0 && req.tool_choice?.disable_parallel_tool_use === true ? false : undefined,
    user: user ? user.slice(0, 255) : undefined,
    anthropicPassthrough: { anthropic: req as unknown as Json, ...(beta ? { beta } : {}) },
  });
}

/** The one-call job a request without X-Job-Id runs in. */
export function toOneCallJob(req: MessagesRequestDto) {
  const user = req.metadata?.user_id ?? undefined;
  return { job_type: 'messages', user_id: user ? user.slice(0, 255) : undefined, metadata: {} };
}

/** The gateway's own estimate of a prompt, for count_tokens on non-Anthropic deployments. */
export function estimateInputTokens(req: CountTokensRequestDto): number {
  const tools = toChatTools(req.tools);
  const text = promptText(toChatMessages(req.system, req.messages));
  return approxTokens(tools.length > 0 ? `${text}\n${JSON.stringify(tools)}` : text);
}

// ---- chat result → Messages response ----

export function toStopReason(finish: FinishReason | null): string {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    case 'stop':
    case null:
      return 'end_turn';
  }
}

/** Anthropic counts cache reads and writes beside input_tokens; our prompt_tokens includes them. */
export function toMessagesUsage(usage: Usage): MessagesUsageDto {
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const written = usage.prompt_tokens_details?.cache_write_tokens ?? 0;
  return {
    input_tokens: Math.max(0, usage.prompt_tokens - cached - written),
    output_tokens: usage.completion_tokens,
    cache_creation_input_tokens: written,
    cache_read_input_tokens: cached,
  };
}

/** A tool call's arguments as the object Anthropic's `input` is ({} when they are not JSON). */
export function toolInput(args: string): Json {
  try {
    const parsed: unknown = args.trim() ? JSON.parse(args) : {};
    return isObject(parsed) ? parsed : { value: parsed };
  } catch {
    return {};
  }
}

/** Anthropic's Message object for a chat result; the id carries the gateway's call_id. */
export function toMessage(callId: string, result: ChatResult, model: string): MessageResponseDto {
  const content: Json[] = [];
  if (result.content) content.push({ type: 'text', text: result.content });
  for (const call of result.tool_calls ?? []) {
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: toolInput(call.function.arguments),
    });
  }
  return {
    id: `msg_${callId}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: toStopReason(result.finish_reason),
    stop_sequence: null,
    usage: toMessagesUsage(result.usage),
  };
}

/** What the client gets: Anthropic's own answer when passed through (public model name), else the translation. */
export function toMessagesResponse(
  callId: string,
  result: ChatResult,
  model: string,
): MessageResponseDto {
  if (result.anthropicPassthrough)
    return Object.assign({}, result.anthropicPassthrough, {
      model,
    }) as unknown as MessageResponseDto;
  return toMessage(callId, result, model);
}
