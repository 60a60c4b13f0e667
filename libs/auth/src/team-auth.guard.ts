import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request } from 'express';
import { IS_PUBLIC, TollgateError } from '@app/http';
import { ACCEPTS_X_API_KEY } from './decorators';
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
    if (err instanceof Error) throw err;
    if (err) throw new Error('Authentication failed');
    if (!user) throw new TollgateError('INVALID_API_KEY', 'Invalid or missing API key');
    return user;
  }
}
