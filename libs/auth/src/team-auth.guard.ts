import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { TollgateError } from '@app/errors';
import { ACCEPTS_X_API_KEY } from './decorators';
import { IS_PUBLIC } from './public.decorator';
import { allowXApiKey } from './virtual-key.strategy';

/** Global guard of team-gateway: a valid virtual key on every route unless @Public(). */
@Injectable()
export class TeamAuthGuard extends AuthGuard('bearer') {
  constructor(private readonly reflector: Reflector) {
    super({ session: false });
  }

  override canActivate(context: ExecutionContext) {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const acceptsXApiKey = this.reflector.getAllAndOverride<boolean>(ACCEPTS_X_API_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (acceptsXApiKey) allowXApiKey(context.switchToHttp().getRequest<Request>());
    return super.canActivate(context);
  }

  override handleRequest<T>(err: unknown, user: T | false): T {
    // the key lookup's own error (e.g. the database is away: 503), whatever realm made it
    if (err) throw err as Error;
    if (!user) throw new TollgateError('INVALID_API_KEY', 'Invalid or missing API key');
    return user;
  }
}
