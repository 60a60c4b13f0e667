import { ERROR_STATUS, ErrorCode, TollgateError } from '@app/http';

/** OpenAI's error body: what the openai SDK, Open WebUI and Continue.dev parse. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A 400 naming the request parameter at fault (OpenAI's `param`). */
export class InvalidParamError extends TollgateError {
  constructor(
    detail: string,
    readonly param: string | null,
  ) {
    super('VALIDATION_ERROR', detail);
  }
}

/** OpenAI's `type` and `code` for each of our codes; types follow api.openai.com's answers. */
const OPENAI_ERRORS: Partial<Record<ErrorCode, { type: string; code: string }>> = {
  VALIDATION_ERROR: { type: 'invalid_request_error', code: 'invalid_request' },
  INVALID_JSON: { type: 'invalid_request_error', code: 'invalid_json' },
  INVALID_API_KEY: { type: 'invalid_request_error', code: 'invalid_api_key' },
  TEAM_SUSPENDED: { type: 'permission_error', code: 'team_suspended' },
  TEAM_PAUSED: { type: 'permission_error', code: 'team_paused' },
  FORBIDDEN: { type: 'permission_error', code: 'forbidden' },
  MODEL_ACCESS_DENIED: { type: 'permission_error', code: 'model_access_denied' },
  INSUFFICIENT_CREDITS: { type: 'insufficient_quota', code: 'insufficient_quota' },
  KEY_BUDGET_EXCEEDED: { type: 'insufficient_quota', code: 'budget_exceeded' },
  NOT_FOUND: { type: 'invalid_request_error', code: 'not_found' },
  MODEL_NOT_FOUND: { type: 'invalid_request_error', code: 'model_not_found' },
  CONFLICT: { type: 'invalid_request_error', code: 'conflict' },
  JOB_CLOSED: { type: 'invalid_request_error', code: 'job_closed' },
  IDEMPOTENCY_IN_PROGRESS: { type: 'invalid_request_error', code: 'idempotency_in_progress' },
  IDEMPOTENCY_MISMATCH: { type: 'invalid_request_error', code: 'idempotency_mismatch' },
  PAYLOAD_TOO_LARGE: { type: 'invalid_request_error', code: 'payload_too_large' },
  RATE_LIMITED: { type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  UPSTREAM_BAD_REQUEST: { type: 'invalid_request_error', code: 'upstream_bad_request' },
  UPSTREAM_RATE_LIMITED: { type: 'rate_limit_error', code: 'upstream_rate_limited' },
  UPSTREAM_ERROR: { type: 'api_error', code: 'upstream_error' },
  UPSTREAM_TIMEOUT: { type: 'api_error', code: 'upstream_timeout' },
  SERVICE_UNAVAILABLE: { type: 'api_error', code: 'service_unavailable' },
  INTERNAL_ERROR: { type: 'api_error', code: 'internal_error' },
};

export function toOpenAiError(
  code: ErrorCode,
  message: string,
  param: string | null = null,
): OpenAiErrorBody {
  const fallback = Number(ERROR_STATUS[code]) >= 500 ? 'api_error' : 'invalid_request_error';
  const mapped = OPENAI_ERRORS[code] ?? { type: fallback, code: code.toLowerCase() };
  return { error: { message, type: mapped.type, param, code: mapped.code } };
}

/** The request parameter an error is about, when there is one. */
export function paramOf(exception: unknown, code: ErrorCode): string | null {
  if (exception instanceof InvalidParamError) return exception.param;
  return code === 'MODEL_NOT_FOUND' || code === 'MODEL_ACCESS_DENIED' ? 'model' : null;
}

/** Routes that speak OpenAI's dialect, errors included (some clients omit the /v1 prefix). */
export function isOpenAiPath(path: string): boolean {
  return (
    path === '/v1' ||
    path.startsWith('/v1/') ||
    path.startsWith('/chat/completions') ||
    path === '/models' ||
    path.startsWith('/models/')
  );
}
