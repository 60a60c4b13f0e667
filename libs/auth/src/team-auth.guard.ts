import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import passport from 'passport';
import { TollgateError } from '@app/errors';
import { ACCEPTS_X_API_KEY } from './decorators';
import { IS_PUBLIC } from './public.decorator';
import type { TeamPrincipal } from './team-principal';
import { allowXApiKey, VirtualKeyStrategy } from './virtual-key.strategy';

/** Global guard of team-gateway: a valid virtual key on every route unless @Public(). */
@Injectable()
export class TeamAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly strategy: VirtualKeyStrategy,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<Request & { user?: TeamPrincipal }>();
    const acceptsXApiKey = this.reflector.getAllAndOverride<boolean>(ACCEPTS_X_API_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (acceptsXApiKey) allowXApiKey(req);
    req.user = await this.authenticate(req, http.getResponse<Response>());
    return true;
  }

  /**
   * passport with this app's own strategy (not a name looked up in passport's process-wide
   * registry), on an object of its own per request as passport does for a named one: it binds the
   * request's success and failure to the object it is given.
   */
  private authenticate(req: Request, res: Response): Promise<TeamPrincipal> {
    return new Promise((resolve, reject) => {
      const strategy = Object.create(this.strategy) as VirtualKeyStrategy;
      const middleware = passport.authenticate(
        strategy,
        { session: false },
        (err: Error | null, user: TeamPrincipal | false) => {
          // the key lookup's own error (e.g. the database is away: 503), whatever realm made it
          if (err) return reject(err);
          if (!user)
            return reject(new TollgateError('INVALID_API_KEY', 'Invalid or missing API key'));
          resolve(user);
        },
      ) as (req: Request, res: Response, next: (err?: Error) => void) => void;
      middleware(req, res, (err) => reject(err ?? new Error('passport ended without a result')));
    });
  }
}
