import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { ERROR_STATUS, ErrorCode, TollgateError } from './errors';

export interface RenderedError {
  status: number;
  code: ErrorCode;
  detail: string;
  headers: Record<string, string>;
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

/** PostgreSQL's refusals of a NUL byte: in text (invalid byte sequence), in jsonb (\u0000). */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

const JSON_SYNTAX = /JSON|Unexpected token|Unexpected end of/;

interface BodyParserError {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

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
      status: exception.status,
      code: exception.code,
      detail: exception.detail,
      headers: exception.headers,
    };
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
  if (bp && typeof bp === 'object' && bp.type === 'entity.too.large') {
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
  if (bp && typeof bp === 'object' && bp.expose && (bp.status ?? 500) < 500) {
    const status = bp.status ?? bp.statusCode ?? 400;
    return {
      status,
      code: HTTP_CODES[status] ?? 'VALIDATION_ERROR',
      detail: 'Invalid request',
      headers: {},
    };
  }
  const pgCode = (exception as { code?: unknown } | null)?.code;
  if (typeof pgCode === 'string' && UNSTORABLE_TEXT.has(pgCode)) {
    // NUL (\u0000) in a path, query or body value: PostgreSQL text and jsonb cannot hold it
    return {
      status: 400,
      code: 'VALIDATION_ERROR',
      detail: 'The request contains a character that cannot be stored (NUL, \\u0000)',
      headers: {},
    };
  }
  logger.error({ err: exception, requestId }, 'Unhandled error');
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    code: 'INTERNAL_ERROR',
    detail: 'Internal server error',
    headers: {},
  };
}

export function requestIdOf(req: Request): string | undefined {
  const id = (req as Request & { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** The one filter for /api routes: body `{detail, code}`. */
@Catch()
export class TollgateExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const err = renderError(exception, this.logger, requestIdOf(req));
    if (res.headersSent) {
      res.end();
      return;
    }
    res.set(err.headers).status(err.status).json({ detail: err.detail, code: err.code });
  }
}

export { ERROR_STATUS };
