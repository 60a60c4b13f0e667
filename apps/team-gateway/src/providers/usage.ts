import type { Usage } from './provider.types';

/** A non-negative integer count `key` of an object, or undefined. */
export function tokenCount(holder: unknown, key: string): number | undefined {
  const value =
    typeof holder === 'object' && holder !== null
      ? (holder as Record<string, unknown>)[key]
      : undefined;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
    ? Math.floor(value)
    : undefined;
}

/**
 * Adds the token details (only those the upstream reported, zeros included) to a usage whose
 * prompt_tokens already counts cached and cache-written tokens and completion_tokens reasoning.
 */
export function withDetails(
  usage: Usage,
  details: { cached?: number; cacheWrite?: number; reasoning?: number },
): Usage {
  const prompt: NonNullable<Usage['prompt_tokens_details']> = {};
  if (details.cached !== undefined) prompt.cached_tokens = details.cached;
  if (details.cacheWrite !== undefined) prompt.cache_write_tokens = details.cacheWrite;
  if (Object.keys(prompt).length > 0) usage.prompt_tokens_details = prompt;
  if (details.reasoning !== undefined) {
    usage.completion_tokens_details = { reasoning_tokens: details.reasoning };
  }
  return usage;
}
