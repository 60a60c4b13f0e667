import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { catchError, mergeMap, Observable } from 'rxjs';
import { requestIdOf, TollgateError } from '@app/http';
import { auditTarget, RESULT_ID_FIELDS } from './audit-target';
import { AuditService } from './audit.service';
import { redact } from './redact';

const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function statusOf(err: unknown): number {
  if (err instanceof TollgateError) return err.status;
  if (err instanceof HttpException) return err.getStatus();
  return 500;
}

/** Ids the response carries at its top level or one object down (e.g. `transaction.transaction_id`). */
function resultIds(response: unknown): Record<string, unknown> | undefined {
  if (!response || typeof response !== 'object' || Array.isArray(response)) return undefined;
  const picked: Record<string, unknown> = {};
  const nested = Object.values(response).filter(
    (v): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v),
  );
  for (const source of [response as Record<string, unknown>, ...nested]) {
    for (const f of RESULT_ID_FIELDS) {
      const v = source[f];
      if (!(f in picked) && (typeof v === 'string' || typeof v === 'number')) picked[f] = v;
    }
  }
  return Object.keys(picked).length > 0 ? picked : undefined;
}

/**
 * Records every admin mutation (success or failure after authentication) in audit_log, before
 * the response is sent (a failed audit write is logged as an error and the response still goes
 * out: the mutation has already committed). Route
 * pattern and path, target, request id, status and a redacted summary of the request. Headers
 * (X-Admin-Key included) are never stored.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly audit: AuditService,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    if (!MUTATIONS.has(req.method)) return next.handle();
    const success =
      this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ??
      (req.method === 'POST' ? 201 : 200);
    // The entry is written before the client hears back, so a mutation it saw has its audit row.
    return next.handle().pipe(
      mergeMap(async (response: unknown) => {
        await this.write(req, success, response, null);
        return response;
      }),
      catchError(async (err: unknown) => {
        await this.write(req, statusOf(err), undefined, err);
        throw err;
      }),
    );
  }

  private async write(
    req: Request,
    statusCode: number,
    response: unknown,
    err: unknown,
  ): Promise<void> {
    try {
      const route = (req.route as { path?: string } | undefined)?.path ?? req.path;
      const body: unknown = req.body;
      const query = req.query && Object.keys(req.query).length > 0 ? redact(req.query) : undefined;
      const error =
        err instanceof TollgateError
          ? { code: err.code, detail: err.detail }
          : err instanceof HttpException
            ? { detail: err.message }
            : err
              ? { detail: 'Internal server error' }
              : undefined;
      const result = resultIds(response);
      await this.audit.record({
        method: req.method,
        route,
        target: auditTarget(route, req.params as Record<string, string>, body, response),
        requestId: requestIdOf(req) ?? null,
        statusCode,
        summary: {
          path: req.path,
          ...(query ? { query } : {}),
          ...(body !== undefined && body !== null ? { body: redact(body) } : {}),
          ...(result ? { result } : {}),
          ...(error ? { error: redact(error) } : {}),
        },
      });
    } catch {
      // auditing never breaks the request
    }
  }
}
