import { Logger } from '@nestjs/common';
import { CacheUnavailableError } from '@app/cache';
import { renderError } from './exception.filter';
import { INVALID_UTF8 } from './input-checks';

const logger = new Logger('test');
const pgError = (code: string) => Object.assign(new Error('pg'), { code });

describe('renderError: database errors are classified, never a bare 500', () => {
  it.each([
    ['22P02', 400, 'VALIDATION_ERROR'],
    ['22021', 400, 'VALIDATION_ERROR'],
    ['22003', 400, 'VALIDATION_ERROR'],
    ['23502', 400, 'VALIDATION_ERROR'],
    ['23505', 409, 'CONFLICT'],
    ['57P01', 503, 'DATABASE_UNAVAILABLE'],
    ['08006', 503, 'DATABASE_UNAVAILABLE'],
    ['ECONNREFUSED', 503, 'DATABASE_UNAVAILABLE'],
  ])('%s → %i %s', (code, status, errorCode) => {
    const err = renderError(pgError(code), logger);
    expect({ status: err.status, code: err.code }).toEqual({ status, code: errorCode });
    if (status === 503) expect(err.headers['Retry-After']).toBeDefined();
  });

  it('Redis away where nothing falls back is a 503 CACHE_UNAVAILABLE with Retry-After', () => {
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const err = renderError(new CacheUnavailableError('Command timed out'), logger);
    expect(err).toMatchObject({ status: 503, code: 'CACHE_UNAVAILABLE' });
    expect(err.detail).not.toContain('Redis');
    expect(err.headers['Retry-After']).toBe('2');
  });

  it('anything else is a 500 without internals', () => {
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    expect(renderError(new Error('secret internals'), logger)).toMatchObject({
      status: 500,
      detail: 'Internal server error',
    });
  });
});

describe('renderError: body parser errors', () => {
  it('a body that is not UTF-8 → 400 saying so', () => {
    const err = Object.assign(new Error('x'), { status: 400, expose: true, type: INVALID_UTF8 });
    expect(renderError(err, logger)).toMatchObject({
      status: 400,
      code: 'VALIDATION_ERROR',
      detail: 'The request body is not valid UTF-8',
    });
  });
});
