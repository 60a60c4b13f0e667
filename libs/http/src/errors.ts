import { HttpStatus } from '@nestjs/common';
import type { ErrorCode } from '@app/errors';

/** The HTTP status of each domain error code; only the filters (and the audit of a failure) read it. */
export const ERROR_STATUS: Record<ErrorCode, HttpStatus> = {
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
  UPSTREAM_BAD_REQUEST: HttpStatus.BAD_REQUEST,
  UPSTREAM_RATE_LIMITED: HttpStatus.TOO_MANY_REQUESTS,
  UPSTREAM_ERROR: HttpStatus.BAD_GATEWAY,
  UPSTREAM_TIMEOUT: HttpStatus.GATEWAY_TIMEOUT,
  SERVICE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  DATABASE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  CACHE_UNAVAILABLE: HttpStatus.SERVICE_UNAVAILABLE,
  INTERNAL_ERROR: HttpStatus.INTERNAL_SERVER_ERROR,
};

// The domain errors, for the apps' convenience: they are defined in @app/errors.
export { TollgateError, notFound, conflict, badRequest } from '@app/errors';
export type { ErrorCode } from '@app/errors';
