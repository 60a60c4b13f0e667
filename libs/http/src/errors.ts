import { HttpStatus } from '@nestjs/common';

/** Stable machine codes; the filter maps each to its HTTP status. */
export const ERROR_STATUS = {
  VALIDATION_ERROR: HttpStatus.BAD_REQUEST,
  INVALID_JSON: HttpStatus.BAD_REQUEST,
  ADMIN_KEY_MISSING: HttpStatus.UNAUTHORIZED,
  ADMIN_KEY_INVALID: HttpStatus.UNAUTHORIZED,
  INVALID_API_KEY: HttpStatus.UNAUTHORIZED,
  TEAM_SUSPENDED: HttpStatus.FORBIDDEN,
  TEAM_PAUSED: HttpStatus.FORBIDDEN,
  FORBIDDEN: HttpStatus.FORBIDDEN,
  MODEL_ACCESS_DENIED: HttpStatus.FORBIDDEN,
  INSUFFICIENT_CREDITS: HttpStatus.FORBIDDEN,
  KEY_BUDGET_EXCEEDED: HttpStatus.FORBIDDEN,
  NOT_FOUND: HttpStatus.NOT_FOUND,
  MODEL_NOT_FOUND: HttpStatus.NOT_FOUND,
  CONFLICT: HttpStatus.CONFLICT,
  JOB_CLOSED: HttpStatus.CONFLICT,
  IDEMPOTENCY_IN_PROGRESS: HttpStatus.CONFLICT,
  IDEMPOTENCY_MISMATCH: HttpStatus.UNPROCESSABLE_ENTITY,
  PAYLOAD_TOO_LARGE: HttpStatus.PAYLOAD_TOO_LARGE,
  RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  /** The provider refused the request itself (e.g. context too long): the caller can fix it. */
  UPSTREAM_BAD_REQUEST: HttpStatus.BAD_REQUEST,
  /** Every deployment tried was rate limited by its provider. */
  UPSTREAM_RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  UPSTREAM_ERROR: HttpStatus.BAD_GATEWAY,
  UPSTREAM_TIMEOUT: HttpStatus.GATEWAY_TIMEOUT,
  SERVICE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  DATABASE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  CACHE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  INTERNAL_ERROR: HttpStatus.INTERNAL_SERVER_ERROR,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

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

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (noun: string, id: string) =>
  new TollgateError('NOT_FOUND', `${noun} '${id}' not found`);
export const conflict = (detail: string) => new TollgateError('CONFLICT', detail);
export const badRequest = (detail: string) => new TollgateError('VALIDATION_ERROR', detail);
