import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import { CacheUnavailableError } from '@app/cache';
import { ERROR_STATUS, ErrorCode, TollgateError } from './errors';
import { INVALID_UTF8 } from './input-checks';
import { AnyResponse, sendJson } from './reply';

export interface RenderedError {
  status: number;
  code: ErrorCode;
  detail: string;
  headers: Record<string, string>;
  /** More fields of the `/api` body. */
  body?: Record<string, unknown>;
}

const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'VALIDATION_ERROR',
  401: 'INVALID_API_KEY',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'IDEMPOTENCY_MISMATCH',
  429: 'RATE_LIMITED',
};

/**
 * What a PostgreSQL error class says about the request: class 22 (data exception: text it cannot
 * store, a value out of its column's range) and 23502 are the caller's bad input; 23505/23503 a
 * conflict with existing rows; classes 08/57P/53300 and refused connections mean the database is
 * away (try again).
 */
function databaseError(code: string): RenderedError | null {
  if (code === '22021' || code === '22P05') {
    // NUL (\u0000) in a path, query or body value: PostgreSQL text and jsonb cannot hold it
    return rendered(
      400,
      'VALIDATION_ERROR',
      'The request contains a character that cannot be stored (NUL, \\u0000)',
    );
  }
  if (code.startsWith('22') || code === '23502') {
    return rendered(400, 'VALIDATION_ERROR', 'A value in the request is not valid for its field');
  }
  if (code === '23505' || code === '23503') {
    return rendered(409, 'CONFLICT', 'The request conflicts with existing data');
  }
  if (unavailableCode(code)) {
    return Object.assign(
      {},
      rendered(503, 'DATABASE_UNAVAILABLE', 'The database is unavailable; try again shortly'),
      { headers: { 'Retry-After': '2' } },
    );
  }
  return null;
}

const DB_SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

const unavailableCode = (code: string) =>
  /^(08|57P)/.test(code) || code === '53300' || DB_SOCKET_ERRORS.has(code);

/** The database (or the way to it) is away: worth trying again, not a bad request. */
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return unavailableCode(code);
  return err instanceof Error && /Connection terminated|connect ECONNREFUSED/.test(err.message);
}

const rendered = (status: number, code: ErrorCode, detail: string): RenderedError => ({
  status,
  code,
  detail,
  headers: {},
});

const JSON_SYNTAX = /JSON|Unexpected token|Unexpected end of/;

/** body-parser's errors (Express) and Fastify's own (`code` FST_…, `statusCode`). */
interface BodyParserError {
  type?: string;
  code?: unknown;
  message?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/** Fastify's refusals of a request before any handler: too large, bad length, unsupported type. */
const isFastifyClientError = (err: BodyParserError): boolean =>
  typeof err.code === 'string' &&
  err.code.startsWith('FST_') &&
  typeof err.statusCode === 'number' &&
  err.statusCode >= 400 &&
  err.statusCode < 500;

function messageOf(response: unknown, fallback: string): string {
  if (typeof response === 'string') return response;
  if (response && typeof response === 'object') {
    const r = response as { message?: unknown; detail?: unknown };
    if (typeof r.detail === 'string') return r.detail;
    if (Array.isArray(r.message)) return r.message.join('; ');
    if (typeof r.message === 'string') return r.message;
  }
  return fallback;
}

/** Turns any thrown value into status + {detail, code}; unknown errors become a bare 500. */
export function renderError(exception: unknown, logger: Logger, requestId?: string): RenderedError {
  if (exception instanceof TollgateError) {
    return {
      status: ERROR_STATUS[exception.code],
      code: exception.code,
      detail: exception.detail,
      headers: exception.headers,
      body: exception.body,
    };
  }
  if (exception instanceof CacheUnavailableError) {
    // Redis failed where nothing falls back: worth trying again, never a 500
    logger.warn({ err: exception, requestId }, 'Redis unavailable with no fallback');
    return Object.assign(
      {},
      rendered(503, 'CACHE_UNAVAILABLE', 'A dependency is unavailable; try again shortly'),
      { headers: { 'Retry-After': '2' } },
    );
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const detail = messageOf(exception.getResponse(), exception.message);
    if (status === 400 && JSON_SYNTAX.test(detail)) {
      return {
        status,
        code: 'INVALID_JSON',
        detail: `Malformed JSON in request body: ${detail}`,
        headers: {},
      };
    }
    const code = HTTP_CODES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR');
    return { status, code, detail, headers: {} };
  }
  const bp = exception as BodyParserError;
  if (
    bp &&
    typeof bp === 'object' &&
    (bp.type === 'entity.too.large' || bp.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
  ) {
    return {
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      detail: 'Request body too large',
      headers: {},
    };
  }
  if (bp && typeof bp === 'object' && bp.type === 'entity.parse.failed') {
    return {
      status: 400,
      code: 'INVALID_JSON',
      detail: 'Malformed JSON in request body',
      headers: {},
    };
  }
  if (bp && typeof bp === 'object' && bp.type === INVALID_UTF8) {
    return rendered(400, 'VALIDATION_ERROR', 'The request body is not valid UTF-8');
  }
  if (bp && typeof bp === 'object' && bp.expose && (bp.status ?? 500) < 500) {
    const status = bp.status ?? bp.statusCode ?? 400;
    return {
      status,
      code: HTTP_CODES[status] ?? 'VALIDATION_ERROR',
      detail: 'Invalid request',
      headers: {},
    };
  }
  if (bp && typeof bp === 'object' && isFastifyClientError(bp)) {
    const status = bp.statusCode!;
    return rendered(
      status,
      HTTP_CODES[status] ?? 'VALIDATION_ERROR',
      bp.message ?? 'Invalid request',
    );
  }
  const pgCode = (exception as { code?: unknown } | null)?.code;
  const database = typeof pgCode === 'string' ? databaseError(pgCode) : null;
  if (database) return database;
  logger.error({ err: exception, requestId }, 'Unhandled error');
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    code: 'INTERNAL_ERROR',
    detail: 'Internal server error',
    headers: {},
  };
}

export function requestIdOf(req: unknown): string | undefined {
  const id = (req as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** The one filter for /api routes: body `{detail, code}`. */
@Catch()
export class TollgateExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<AnyResponse>();
    const err = renderError(exception, this.logger, requestIdOf(ctx.getRequest()));
    sendJson(
      res,
      err.status,
      Object.assign({}, err.body, { detail: err.detail, code: err.code }),
      err.headers,
    );
  }
}
