import { anthropicErrorType, isAnthropicPath, toAnthropicError } from './anthropic-error';

describe('toAnthropicError', () => {
  it.each([
    ['VALIDATION_ERROR', 400, 'invalid_request_error'],
    ['INVALID_JSON', 400, 'invalid_request_error'],
    ['INVALID_API_KEY', 401, 'authentication_error'],
    ['MODEL_ACCESS_DENIED', 403, 'permission_error'],
    ['INSUFFICIENT_CREDITS', 403, 'permission_error'],
    ['KEY_BUDGET_EXCEEDED', 403, 'permission_error'],
    ['TEAM_SUSPENDED', 403, 'permission_error'],
    ['MODEL_NOT_FOUND', 404, 'not_found_error'],
    ['NOT_FOUND', 404, 'not_found_error'],
    ['JOB_CLOSED', 409, 'invalid_request_error'],
    ['PAYLOAD_TOO_LARGE', 413, 'request_too_large'],
    ['RATE_LIMITED', 429, 'rate_limit_error'],
    ['UPSTREAM_RATE_LIMITED', 429, 'rate_limit_error'],
    ['UPSTREAM_BAD_REQUEST', 400, 'invalid_request_error'],
    ['UPSTREAM_ERROR', 502, 'api_error'],
    ['UPSTREAM_TIMEOUT', 504, 'api_error'],
    ['SERVICE_UNAVAILABLE', 503, 'overloaded_error'],
    ['INTERNAL_ERROR', 500, 'api_error'],
  ] as const)('%s (%d) → %s', (code, status, type) => {
    expect(anthropicErrorType(code, status)).toBe(type);
    expect(toAnthropicError(code, status, 'msg', 'req-1')).toEqual({
      type: 'error',
      error: { type, message: 'msg' },
      request_id: 'req-1',
    });
  });

  it('covers /v1/messages and what is under it only', () => {
    for (const p of ['/v1/messages', '/v1/messages/count_tokens', '/v1/messages/batches']) {
      expect(isAnthropicPath(p)).toBe(true);
    }
    for (const p of ['/v1/messagesx', '/v1/chat/completions', '/messages', '/api/jobs']) {
      expect(isAnthropicPath(p)).toBe(false);
    }
  });
});
