import { UpstreamError, UpstreamErrorKind } from './provider.types';

const EXCERPT_CHARS = 200;

/** Removes the provider key (and anything bearer-like) from text that may reach a client or a log. */
export function scrub(text: string, secret: string | null): string {
  let out = text;
  if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out.replace(/(bearer\s+)[^\s"',]+/gi, '$1[redacted]');
}

export function kindForStatus(status: number): UpstreamErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server_error';
  if (status === 401 || status === 403) return 'auth';
  return 'bad_request';
}

/** The provider's own error message from an OpenAI- or Anthropic-style error body, shortened. */
export function errorExcerpt(body: string): string {
  let message = body;
  try {
    const parsed = JSON.parse(body) as {
      error?: { message?: unknown } | string;
      message?: unknown;
      detail?: unknown;
    };
    const candidate =
      typeof parsed.error === 'string'
        ? parsed.error
        : (parsed.error?.message ?? parsed.message ?? parsed.detail);
    if (typeof candidate === 'string') message = candidate;
  } catch {
    // not JSON: keep the raw text
  }
  message = message.replace(/\s+/g, ' ').trim();
  return message.length > EXCERPT_CHARS ? `${message.slice(0, EXCERPT_CHARS)}…` : message;
}

/** Retry-After as seconds or an HTTP date, in milliseconds (undefined when absent or unreadable). */
export function retryAfterMs(header: unknown, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? (header as unknown[])[0] : header;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** An error for a non-2xx upstream answer: status plus a short excerpt of its message. */
export function statusError(
  status: number,
  body: string,
  secret: string | null,
  retryAfter?: unknown,
): UpstreamError {
  const excerpt = errorExcerpt(body);
  const message = `Upstream returned ${status}${excerpt ? `: ${excerpt}` : ''}`;
  return new UpstreamError(
    kindForStatus(status),
    scrub(message, secret),
    status,
    retryAfterMs(retryAfter),
  );
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

const TIMEOUT_TEXT: Record<string, string> = {
  UND_ERR_HEADERS_TIMEOUT: 'Upstream did not answer in time',
  UND_ERR_BODY_TIMEOUT: 'Upstream stopped sending data',
  UND_ERR_CONNECT_TIMEOUT: 'Upstream connection timed out',
};

function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** Classifies a thrown transport error (undici or Node socket) into an UpstreamError. */
export function classifyFailure(err: unknown, secret: string | null): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const codes = codesOf(err);
  const timeout = codes.find((c) => TIMEOUT_CODES.has(c));
  if (timeout) {
    return new UpstreamError('timeout', TIMEOUT_TEXT[timeout] ?? 'Upstream timed out');
  }
  const connection = codes.find((c) => CONNECTION_CODES.has(c));
  if (connection) {
    return new UpstreamError('connection', `Upstream connection failed (${connection})`);
  }
  if (codes.includes('ERR_INVALID_URL') || codes.includes('UND_ERR_INVALID_ARG')) {
    return new UpstreamError('bad_request', 'Invalid upstream URL or request');
  }
  const message = err instanceof Error ? err.message : String(err);
  return new UpstreamError(
    'connection',
    scrub(`Upstream request failed: ${message}`, secret).slice(0, 300),
  );
}
