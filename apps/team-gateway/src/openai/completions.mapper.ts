import { LlmCallDto } from '../calls/dto/llm-call.dto';
import type {
  ChatRequest,
  ChatResult,
  FinishReason,
  StreamChunk,
  TextCompletionRequest,
  Usage,
} from '../providers/provider.types';
import type { SseEvent, StreamEncoder, StreamFailure } from '../streaming/stream-encoder';
import type { CompletionRequestDto } from './dto/completion-request.dto';

/** OpenAI's default max_tokens for legacy completions. */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;

export const promptOf = (req: CompletionRequestDto): string =>
  typeof req.prompt === 'string' ? req.prompt : req.prompt[0];

/**
 * The pipeline's call for a legacy completion: the prompt as one user message (what the hold,
 * the tpm take and a stream's fallback count estimate from) and OpenAI's default max_tokens.
 */
export function toCompletionCallBody(req: CompletionRequestDto): LlmCallDto {
  return Object.assign(new LlmCallDto(), {
    model: req.model,
    messages: [{ role: 'user', content: promptOf(req) }],
    max_tokens: req.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS,
    temperature: req.temperature ?? undefined,
    top_p: req.top_p ?? undefined,
    stop: req.stop ?? undefined,
    seed: req.seed ?? undefined,
    presence_penalty: req.presence_penalty ?? undefined,
    frequency_penalty: req.frequency_penalty ?? undefined,
    logit_bias: req.logit_bias ?? undefined,
    user: req.user ? req.user.slice(0, 255) : undefined,
  });
}

/** The upstream text request from the pipeline's request for one deployment. */
export function toTextRequest(req: CompletionRequestDto, request: ChatRequest) {
  const text: TextCompletionRequest = {
    model: request.model,
    prompt: promptOf(req),
    temperature: request.temperature,
    max_tokens: request.max_tokens,
    top_p: request.top_p,
    stop: request.stop,
    seed: request.seed,
    presence_penalty: request.presence_penalty,
    frequency_penalty: request.frequency_penalty,
    logit_bias: request.logit_bias,
    user: request.user,
  };
  if (req.suffix !== undefined && req.suffix !== null) text.suffix = req.suffix;
  return text;
}

export function toCompletionsJob(req: CompletionRequestDto) {
  return { job_type: 'completions', user_id: req.user ? req.user.slice(0, 255) : undefined };
}

const usageOf = (usage: Usage) => ({
  prompt_tokens: usage.prompt_tokens,
  completion_tokens: usage.completion_tokens,
  total_tokens: usage.total_tokens || usage.prompt_tokens + usage.completion_tokens,
});

/** OpenAI's `text_completion` object; the id carries the gateway's call_id. */
export function toTextCompletion(
  callId: string,
  result: ChatResult,
  model: string,
  created = Math.floor(Date.now() / 1000),
) {
  return {
    id: `cmpl-${callId}`,
    object: 'text_completion' as const,
    created,
    model,
    choices: [
      { text: result.content ?? '', index: 0, logprobs: null, finish_reason: result.finish_reason },
    ],
    usage: usageOf(result.usage),
  };
}

export type TextCompletion = ReturnType<typeof toTextCompletion>;

/**
 * Writes a metered stream as OpenAI's legacy completion stream: `text_completion` chunks (the
 * content deltas as `text`), the usage chunk when asked for, then `data: [DONE]`.
 */
export class TextCompletionEncoder implements StreamEncoder {
  private readonly created = Math.floor(Date.now() / 1000);
  private model = '';
  private usageSent = false;

  constructor(
    private readonly id: string,
    private readonly includeUsage: boolean,
  ) {}

  chunk(chunk: StreamChunk): SseEvent[] {
    this.model = chunk.model;
    if (chunk.choices.length === 0) {
      if (!this.includeUsage || !chunk.usage) return [];
      this.usageSent = true;
      return [{ data: this.frame([], usageOf(chunk.usage)) }];
    }
    const choices = chunk.choices.map((c) => ({
      text: c.delta.content ?? '',
      index: c.index,
      logprobs: null,
      finish_reason: c.finish_reason,
    }));
    return [{ data: this.frame(choices) }];
  }

  end(usage: Usage, _finishReason: FinishReason | null): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.includeUsage && !this.usageSent) {
      events.push({ data: this.frame([], usageOf(usage)) });
    }
    return [...events, { data: '[DONE]' }];
  }

  fail(failure: StreamFailure): SseEvent[] {
    const { message, type, code } = failure;
    return [{ data: { error: { message, type, param: null, code } } }, { data: '[DONE]' }];
  }

  private frame(choices: unknown[], usage?: ReturnType<typeof usageOf>) {
    return {
      id: this.id,
      object: 'text_completion',
      created: this.created,
      model: this.model,
      choices,
      ...(usage ? { usage } : {}),
    };
  }
}
