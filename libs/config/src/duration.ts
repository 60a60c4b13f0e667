const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

export const DURATION_PATTERN = /^(\d+)(s|m|h|d|w)$/;

/** Parses LiteLLM-style durations ("30s", "20m", "12h", "30d", "1w") into seconds; null when malformed. */
export function parseDurationSeconds(value: string): number | null {
  const match = DURATION_PATTERN.exec(value.trim());
  if (!match) return null;
  return Number(match[1]) * UNIT_SECONDS[match[2]];
}
