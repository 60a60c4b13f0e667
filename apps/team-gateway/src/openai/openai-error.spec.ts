import { TollgateError } from '@app/http';
import { InvalidParamError, isOpenAiPath, paramOf, toOpenAiError } from './openai-error';

describe('toOpenAiError', () => {
  it.each([
    ['VALIDATION_ERROR', 'invalid_request_error', 'invalid_request'],
    ['INVALID_API_KEY', 'invalid_request_error', 'invalid_api_key'],
    ['MODEL_ACCESS_DENIED', 'permission_error', 'model_access_denied'],
    ['INSUFFICIENT_CREDITS', 'insufficient_quota', 'insufficient_quota'],
    ['MODEL_NOT_FOUND', 'invalid_request_error', 'model_not_found'],
    ['RATE_LIMITED', 'rate_limit_error', 'rate_limit_exceeded'],
    ['UPSTREAM_ERROR', 'api_error', 'upstream_error'],
    ['UPSTREAM_TIMEOUT', 'api_error', 'upstream_timeout'],
    ['UPSTREAM_BAD_REQUEST', 'invalid_request_error', 'upstream_bad_request'],
    ['UPSTREAM_RATE_LIMITED', 'rate_limit_error', 'upstream_rate_limited'],
    ['IDEMPOTENCY_MISMATCH', 'invalid_request_error', 'idempotency_mismatch'],
    ['INTERNAL_ERROR', 'api_error', 'internal_error'],
  ] as const)('%s → type %s, code %s', (code, type, openAiCode) => {
    expect(toOpenAiError(code, 'msg')).toEqual({
      error: { message: 'msg', type, param: null, code: openAiCode },
    });
  });

  it('names the param of validation and model errors', () => {
    expect(paramOf(new InvalidParamError('bad', 'messages[0].role'), 'VALIDATION_ERROR')).toBe(
      'messages[0].role',
    );
    expect(paramOf(new TollgateError('MODEL_NOT_FOUND', 'x'), 'MODEL_NOT_FOUND')).toBe('model');
    expect(paramOf(new TollgateError('RATE_LIMITED', 'x'), 'RATE_LIMITED')).toBeNull();
  });
});

describe('isOpenAiPath', () => {
  it('covers /v1 and the prefix-less paths clients use', () => {
    for (const path of [
      '/v1',
      '/v1/models',
      '/v1/chat/completions',
      '/chat/completions',
      '/models',
      '/models/x',
    ]) {
      expect(isOpenAiPath(path)).toBe(true);
    }
    for (const path of ['/api/jobs/create', '/health', '/v10', '/modelsx']) {
      expect(isOpenAiPath(path)).toBe(false);
    }
  });
});
