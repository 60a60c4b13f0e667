import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpStatus,
  Injectable,
  Logger,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AnyResponse, ErrorCode, renderError, requestIdOf, sendJson } from '@app/http';

/** The error types of Anthropic's API, which its SDKs and Claude Code read. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'overloaded_error';

/** Anthropic's error body: `{"type":"error","error":{"type","message"}}`. */
export interface AnthropicErrorBody {
  type: 'error';
  error: { type: AnthropicErrorType; message: string };
  request_id?: string;
}

/** Anthropic's error type for each of our codes (the HTTP status stays the gateway's). */
const ANTHROPIC_TYPES: Partial<Record<ErrorCode, AnthropicErrorType>> = {
  INVALID_API_KEY: 'authentication_error',
  TEAM_SUSPENDED: 'permission_error',
  TEAM_PAUSED: 'permission_error',
  FORBIDDEN: 'permission_error',
  MODEL_ACCESS_DENIED: 'permission_error',
  INSUFFICIENT_CREDITS: 'permission_error',
  KEY_BUDGET_EXCEEDED: 'permission_error',
  NOT_FOUND: 'not_found_error',
  MODEL_NOT_FOUND: 'not_found_error',
  PAYLOAD_TOO_LARGE: 'request_too_large',
  RATE_LIMITED: 'rate_limit_error',
  UPSTREAM_RATE_LIMITED: 'rate_limit_error',
  SERVICE_UNAVAILABLE: 'overloaded_error',
  DATABASE_UNAVAILABLE: 'overloaded_error',
  CACHE_UNAVAILABLE: 'overloaded_error',
};

export function anthropicErrorType(code: ErrorCode, status: number): AnthropicErrorType {
  const mapped = ANTHROPIC_TYPES[code];
  if (mapped) return mapped;
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

export function toAnthropicError(
  code: ErrorCode,
  status: number,
  message: string,
  requestId?: string,
): AnthropicErrorBody {
  return {
    type: 'error',
    error: { type: anthropicErrorType(code, status), message },
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/** Anthropic's surface: /v1/messages and everything under it. */
export function isAnthropicPath(path: string): boolean {
  return path === '/v1/messages' || path.startsWith('/v1/messages/');
}

/** Writes any thrown value as Anthropic's error body, with the gateway's status and headers. */
export function writeAnthropicError(
  exception: unknown,
  req: Pick<IncomingMessage, 'url'>,
  res: AnyResponse,
  logger: Logger,
): void {
  const requestId = requestIdOf(req);
  const err = renderError(exception, logger, requestId);
  const status = err.status || HttpStatus.INTERNAL_SERVER_ERROR;
  sendJson(res, status, toAnthropicError(err.code, status, err.detail, requestId), err.headers);
}

/**
 * The exception filter of the /v1/messages routes: auth, validation, access, credits, rate
 * limits and upstream failures answered in Anthropic's shape, so its SDKs raise the right errors.
 */
@Injectable()
@Catch()
export class AnthropicExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    writeAnthropicError(
      exception,
      ctx.getRequest<IncomingMessage>(),
      ctx.getResponse<AnyResponse>(),
      this.logger,
    );
  }
}
