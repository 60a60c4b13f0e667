import type { ErrorCode } from '@app/http';

/** OpenAI's error body: what the openai SDK, Open WebUI and Continue.dev parse. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

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
  PAYLOAD_TOO_LARGE: { type: 'invalid_request_error', code: 'payload_too_large' },
  RATE_LIMITED: { type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  UPSTREAM_ERROR: { type: 'api_error', code: 'upstream_error' },
  UPSTREAM_TIMEOUT: { type: 'api_error', code: 'upstream_timeout' },
};

export function toOpenAiError(code: ErrorCode, message: string): OpenAiErrorBody {
  const mapped = OPENAI_ERRORS[code] ?? { type: 'api_error', code: code.toLowerCase() };
  return { error: { message, type: mapped.type, param: null, code: mapped.code } };
}

/** Routes that speak OpenAI's dialect, errors included. */
export function isOpenAiPath(path: string): boolean {
  return path.startsWith('/v1/') || path === '/v1' || path.startsWith('/chat/completions');
}
