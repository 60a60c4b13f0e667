const REDACTED = '[redacted]';
/** Field names that carry secrets: any *key* (api_key, virtual_key, master_key…), secrets, passwords, AWS session tokens. */
const SECRET_FIELD = /key|secret|password|authorization|session_token/i;
/** …except identifiers and labels of keys. */
const SAFE_FIELD = /(^|_)key_(id|alias)$|^key_ids?$/i;
/**
 * A key pasted into a free-form field (metadata, reason…): virtual keys and OpenAI-style keys
 * (`sk-…`, `sk-proj-…`, Anthropic `sk-ant-…`), Google `AIza…`, Groq `gsk_…`, xAI `xai-…`, and
 * Tollgate webhook secrets (`whsec_…`), and anything sent as a bearer token.
 */
const SECRET_VALUE =
  /\bsk-[A-Za-z0-9_-]{16,}|\bwhsec_[A-Za-z0-9_-]{16,}|\bAIza[0-9A-Za-z_-]{30,}|\bgsk_[A-Za-z0-9]{20,}|\bxai-[A-Za-z0-9]{20,}|(?<=bearer\s+)[^\s"',]{8,}/gi;
const MAX_DEPTH = 6;
const MAX_ITEMS = 100;
const MAX_STRING = 1000;

export const isSecretField = (name: string) => SECRET_FIELD.test(name) && !SAFE_FIELD.test(name);

/** A copy of `value` fit for the audit log: secret fields and key-like strings replaced. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    const clean = value.replace(SECRET_VALUE, REDACTED);
    return clean.length > MAX_STRING ? `${clean.slice(0, MAX_STRING)}…` : clean;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[truncated]';
  if (Array.isArray(value)) {
    return value.slice(0, MAX_ITEMS).map((item) => redact(item, depth + 1));
  }
  const out: Record<string, unknown> = {};
  for (const [field, item] of Object.entries(value as Record<string, unknown>).slice(
    0,
    MAX_ITEMS,
  )) {
    out[field] = isSecretField(field) ? REDACTED : redact(item, depth + 1);
  }
  return out;
}
