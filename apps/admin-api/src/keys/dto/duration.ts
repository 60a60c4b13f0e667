import { Matches } from 'class-validator';

/** Seconds, minutes, hours, days or weeks ("30s", "20m", "12h", "30d", "1w"); no months: use "30d". */
export const KEY_DURATION_PATTERN = /^\d{1,6}[smhdw]$/;

/** `@IsDuration('duration')`: a LiteLLM-style duration string, named in the 400 when malformed. */
export const IsDuration = (field: string) =>
  Matches(KEY_DURATION_PATTERN, {
    message: `${field} must be a duration like "30s", "20m", "12h", "30d" or "1w"`,
  });
