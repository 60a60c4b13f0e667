import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { Observable } from 'rxjs';
import { CatalogEvents } from '@app/cache';
import { AdminDb } from './admin-db/admin-db';

/**
 * On the controllers whose mutations change what the gateway routes to (provider credentials,
 * models, model groups, a team's groups): once a mutation has committed, before the response,
 * every gateway replica is told to reload its catalog (told earlier, it could reload the old one).
 */
@Injectable()
export class CatalogChangedInterceptor implements NestInterceptor {
  constructor(
    private readonly events: CatalogEvents,
    private readonly db: AdminDb,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const method = context.switchToHttp().getRequest<Request>().method;
    if (method === 'GET' || method === 'HEAD') return next.handle();
    // Mutations run in the request's transaction (AuditInterceptor): the hook runs only if it commits.
    void this.db.afterCommit(() => this.events.changed());
    return next.handle();
  }
}
