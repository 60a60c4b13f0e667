import { LlmCallDto } from '../calls/dto/llm-call.dto';
import type { ChatResult } from '../providers/provider.types';
import type { ChatCompletionRequestDto } from './dto/chat-completion-request.dto';

/** The call the gateway makes for a chat-completions request (nulls read as "not given"). */
export function toCallBody(req: ChatCompletionRequestDto): LlmCallDto {
  return Object.assign(new LlmCallDto(), {
    model: req.model,
    messages: req.messages,
    temperature: req.temperature ?? undefined,
    top_p: req.top_p ?? undefined,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? undefined,
    stop: req.stop ?? undefined,
    response_format: req.response_format ?? undefined,
    tools: req.tools?.length ? req.tools : undefined,
    tool_choice: req.tools?.length ? (req.tool_choice ?? undefined) : undefined,
    parallel_tool_calls: req.tools?.length ? (req.parallel_tool_calls ?? undefined) : undefined,
    seed: req.seed ?? undefined,
    presence_penalty: req.presence_penalty ?? undefined,
    frequency_penalty: req.frequency_penalty ?? undefined,
    logit_bias: req.logit_bias ?? undefined,
    user: req.user ? req.user.slice(0, 255) : undefined,
    purpose: req.purpose ?? undefined,
    call_metadata: req.call_metadata ?? req.metadata ?? undefined,
  });
}

/** The one-call job a request without X-Job-Id runs in. */
export function toOneCallJob(req: ChatCompletionRequestDto) {
  return {
    job_type: 'chat.completions',
    user_id: req.user ? req.user.slice(0, 255) : undefined,
    metadata: req.metadata ?? {},
  };
}

/** OpenAI's `chat.completion` object; the id carries the gateway's call_id. */
export function toChatCompletion(
  callId: string,
  result: ChatResult,
  model: string,
  created = Math.floor(Date.now() / 1000),
) {
  const usage = result.usage;
  return {
    id: `chatcmpl-${callId}`,
    object: 'chat.completion' as const,
    created,
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: result.content,
          ...(result.tool_calls?.length ? { tool_calls: result.tool_calls } : {}),
          refusal: null,
        },
        finish_reason: result.finish_reason,
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens || usage.prompt_tokens + usage.completion_tokens,
      // cached / cache-write / reasoning counts, as OpenAI reports them, when the upstream did
      ...(usage.prompt_tokens_details
        ? { prompt_tokens_details: usage.prompt_tokens_details }
        : {}),
      ...(usage.completion_tokens_details
        ? { completion_tokens_details: usage.completion_tokens_details }
        : {}),
    },
  };
}

export type ChatCompletion = ReturnType<typeof toChatCompletion>;

/** OpenAI's `model` object for a model or group name the key may use. */
export function toModel(id: string, created: number) {
  return { id, object: 'model' as const, created, owned_by: 'tollgate' };
}

export type OpenAiModel = ReturnType<typeof toModel>;
