import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { TOLLGATE_CONFIG, TollgateConfig } from '@app/config';
import { TollgateError } from '@app/errors';
import { IS_PUBLIC } from './public.decorator';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Global guard of admin-api: every route needs X-Admin-Key unless marked @Public(). */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(
    private readonly reflector: Reflector,
    @Inject(TOLLGATE_CONFIG) config: TollgateConfig,
  ) {
    this.expected = digest(config.auth.masterKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const header = context.switchToHttp().getRequest<Request>().headers['x-admin-key'];
    const given = Array.isArray(header) ? header[0] : header;
    if (!given) {
      throw new TollgateError(
        'ADMIN_KEY_MISSING',
        'Missing X-Admin-Key header. Admin authentication required.',
      );
    }
    // Compare fixed-length digests so neither content nor length leaks through timing.
    if (!timingSafeEqual(digest(given), this.expected)) {
      throw new TollgateError('ADMIN_KEY_INVALID', 'Invalid admin API key');
    }
    return true;
  }
}
