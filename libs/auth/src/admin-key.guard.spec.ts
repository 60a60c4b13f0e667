import crypto from 'node:crypto';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { TollgateConfig } from '@app/config';
import { TollgateError } from '@app/errors';
import { AdminKeyGuard } from './admin-key.guard';

const MASTER_KEY = 'sk-admin-' + 'k'.repeat(40);
const guard = new AdminKeyGuard(new Reflector(), {
  auth: { masterKey: MASTER_KEY },
} as TollgateConfig);

function check(header?: string | string[]): boolean | TollgateError {
  const context = {
    getHandler: () => function handler() {},
    getClass: () => class Controller {},
    switchToHttp: () => ({
      getRequest: () => ({ headers: header === undefined ? {} : { 'x-admin-key': header } }),
    }),
  } as unknown as ExecutionContext;
  try {
    return guard.canActivate(context);
  } catch (err) {
    if (err instanceof TollgateError) return err;
    throw err; // e.g. the RangeError of timingSafeEqual over buffers of different lengths
  }
}

/** SPEC §1: the master key is compared in constant time, so no timing reveals how much matched. */
describe('AdminKeyGuard', () => {
  let compare: jest.SpyInstance;
  beforeEach(() => {
    compare = jest.spyOn(crypto, 'timingSafeEqual');
  });
  afterEach(() => compare.mockRestore());

  /** Every comparison went through timingSafeEqual over two SHA-256 digests. */
  function comparedDigests(times: number) {
    expect(compare).toHaveBeenCalledTimes(times);
    for (const [given, expected] of compare.mock.calls as Array<[Buffer, Buffer]>) {
      expect([given.length, expected.length]).toEqual([32, 32]);
    }
  }

  it('accepts the master key, compared with timingSafeEqual over SHA-256 digests', () => {
    expect(check(MASTER_KEY)).toBe(true);
    comparedDigests(1);
    const [given] = compare.mock.calls[0] as [Buffer, Buffer];
    expect(given).toEqual(crypto.createHash('sha256').update(MASTER_KEY).digest());
  });

  it('refuses a wrong key of the same length the same way', () => {
    const wrong = MASTER_KEY.slice(0, -1) + 'x';
    expect(check(wrong)).toMatchObject({ code: 'ADMIN_KEY_INVALID' });
    comparedDigests(1);
  });

  it('refuses keys of other lengths without throwing (equal-length digests)', () => {
    const others = ['x', MASTER_KEY.slice(0, 10), MASTER_KEY + 'x', 'k'.repeat(10_000), 'é😀'];
    for (const key of others) {
      expect({ key, result: check(key) }).toEqual({
        key,
        result: expect.objectContaining({ code: 'ADMIN_KEY_INVALID' }),
      });
    }
    comparedDigests(others.length);
  });

  it('refuses a virtual key, and says when the header is missing', () => {
    expect(check('sk-' + 'A'.repeat(43))).toMatchObject({ code: 'ADMIN_KEY_INVALID' });
    expect(check()).toMatchObject({ code: 'ADMIN_KEY_MISSING' });
    expect(check('')).toMatchObject({ code: 'ADMIN_KEY_MISSING' });
    expect(check([MASTER_KEY, 'other'])).toBe(true);
  });
});
