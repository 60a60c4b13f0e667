import type { ChatMessage } from './provider.types';
import { textOf } from './tokens';

/** One turn of a conversation for APIs that take alternating user/assistant turns. */
export interface Turn<B> {
  role: 'user' | 'assistant';
  content: B[];
}

/**
 * The texts of system and developer messages, apart; every other message as a user or assistant
 * turn of the blocks `blocksOf` makes (tool results count as user turns), consecutive turns of one
 * role merged — Anthropic Messages and Bedrock Converse both expect alternating roles. A message
 * without blocks is left out.
 */
export function splitTurns<B>(
  messages: ChatMessage[],
  blocksOf: (message: ChatMessage) => B[],
): { system: string[]; turns: Array<Turn<B>> } {
  const system: string[] = [];
  const turns: Array<Turn<B>> = [];
  for (const message of messages) {
    if (message.role === 'system' || message.role === 'developer') {
      const text = textOf(message.content);
      if (text) system.push(text);
      continue;
    }
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = blocksOf(message);
    if (blocks.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  }
  return { system, turns };
}
