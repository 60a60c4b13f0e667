import type { ChatMessage, ToolDefinition } from '../providers/provider.types';

/** Completion tokens assumed for the hold when the request sets no max_tokens. */
export const DEFAULT_COMPLETION_CAP = 4096;

/** A cheap prompt-size estimate (≈ 4 characters per token) for holds and tpm, before the call. */
export function estimatePromptTokens(messages: ChatMessage[], tools?: ToolDefinition[]): number {
  let chars = 0;
  for (const m of messages) {
    chars += 8;
    if (typeof m.content === 'string') chars += m.content.length;
    else if (m.content) chars += JSON.stringify(m.content).length;
    if (m.tool_calls) chars += JSON.stringify(m.tool_calls).length;
  }
  if (tools) chars += JSON.stringify(tools).length;
  return Math.ceil(chars / 4);
}
