/**
 * Stable machine codes of every error Tollgate answers with. The domain knows no HTTP: each app's
 * exception filter maps a code to its status (libs/http ERROR_STATUS).
 */
export const ERROR_CODES = [
  'VALIDATION_ERROR',
  'INVALID_JSON',
  'ADMIN_KEY_MISSING',
  'ADMIN_KEY_INVALID',
  'INVALID_API_KEY',
  'TEAM_SUSPENDED',
  'TEAM_PAUSED',
  'FORBIDDEN',
  'MODEL_ACCESS_DENIED',
  'INSUFFICIENT_CREDITS',
  'KEY_BUDGET_EXCEEDED',
  'NOT_FOUND',
  'MODEL_NOT_FOUND',
  'CONFLICT',
  'JOB_CLOSED',
  'IDEMPOTENCY_IN_PROGRESS',
  'IDEMPOTENCY_MISMATCH',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  /** The provider refused the request itself (e.g. context too long): the caller can fix it. */
  'UPSTREAM_BAD_REQUEST',
  /** Every deployment tried was rate limited by its provider. */
  'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_ERROR',
  'UPSTREAM_TIMEOUT',
  'SERVICE_UNAVAILABLE',
  'DATABASE_UNAVAILABLE',
  'CACHE_UNAVAILABLE',
  'INTERNAL_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A domain error: services throw these; the app's filter renders them. */
export class TollgateError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    /** Extra headers for the response, e.g. Retry-After. */
    readonly headers: Record<string, string> = {},
    /** Fields the `/api` error body carries besides detail and code (e.g. readiness checks). */
    readonly body: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'TollgateError';
  }
}

export const notFound = (noun: string, id: string) =>
  new TollgateError('NOT_FOUND', `${noun} '${id}' not found`);
export const conflict = (detail: string) => new TollgateError('CONFLICT', detail);
export const badRequest = (detail: string) => new TollgateError('VALIDATION_ERROR', detail);
