import type { ChatMessage, ToolCall, Usage } from './provider.types';

/** A deterministic token estimate (~4 characters per token, at least 1) for text without usage. */
export const approxTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

/** The plain text of a message's content (text parts only). */
export function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content.map((part) => part.text ?? '').join('');
}

/** Everything the model reads of a conversation, for estimates. */
export function promptText(messages: ChatMessage[]): string {
  return messages
    .map((m) => textOf(m.content) + (m.tool_calls ?? []).map((c) => c.function.arguments).join(''))
    .join('\n');
}

/** Usage estimated from the prompt and what was generated, for an answer that came without it. */
export function estimateUsage(messages: ChatMessage[], text: string, calls: ToolCall[]): Usage {
  const prompt = approxTokens(promptText(messages));
  const completion = approxTokens(
    text + calls.map((c) => c.function.name + c.function.arguments).join(''),
  );
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}
