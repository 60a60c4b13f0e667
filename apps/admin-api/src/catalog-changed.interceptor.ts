import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { mergeMap, Observable } from 'rxjs';
import { CatalogEvents } from '@app/cache';

/**
 * On the controllers whose mutations change what the gateway routes to (provider credentials,
 * models, model groups, a team's groups): after a successful mutation, before the response,
 * every gateway replica is told to reload its catalog.
 */
@Injectable()
export class CatalogChangedInterceptor implements NestInterceptor {
  constructor(private readonly events: CatalogEvents) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const method = context.switchToHttp().getRequest<Request>().method;
    if (method === 'GET' || method === 'HEAD') return next.handle();
    return next.handle().pipe(
      mergeMap(async (response: unknown) => {
        await this.events.changed();
        return response;
      }),
    );
  }
}
