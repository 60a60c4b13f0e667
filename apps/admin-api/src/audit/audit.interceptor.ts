import {
  CallHandler,
  ExecutionContext,
  HttpException,
  Injectable,
  Logger,
  NestInterceptor,
} from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { EntityManager } from 'typeorm';
import { defer, lastValueFrom, Observable } from 'rxjs';
import { ERROR_STATUS, requestIdOf, TollgateError } from '@app/http';
import { AdminDb } from '../admin-db/admin-db';
import { auditTarget, RESULT_ID_FIELDS } from './audit-target';
import { AuditRecord, AuditService } from './audit.service';
import { redact } from './redact';

const MUTATIONS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function statusOf(err: unknown): number {
  if (err instanceof TollgateError) return ERROR_STATUS[err.code];
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
 * Records every admin mutation (success or failure after authentication) in audit_log. A
 * mutation runs in one transaction (AdminDb) that its audit row joins before the commit: a
 * change is never applied without its row, and a failed audit write rolls the change back
 * (500). A failed request has nothing to roll back: its row is written on its own. The
 * response goes out only after the commit. Route pattern and path, target, request id, status
 * and a redacted summary of the request; headers (X-Admin-Key included) are never stored.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger(AuditInterceptor.name);

  constructor(
    private readonly audit: AuditService,
    private readonly db: AdminDb,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    if (!MUTATIONS.has(req.method)) return next.handle();
    const success =
      this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ??
      (req.method === 'POST' ? 201 : 200);
    return defer(() => this.audited(req, success, next));
  }

  private async audited(req: Request, success: number, next: CallHandler): Promise<unknown> {
    try {
      return await this.db.inTransaction(
        () => lastValueFrom(next.handle()),
        (manager, response) => this.recordWith(manager, entryOf(req, success, response, null)),
      );
    } catch (err) {
      // Nothing was applied: the failed request's row is written on its own.
      await this.audit.record(entryOf(req, statusOf(err), undefined, err));
      throw err;
    }
  }

  private async recordWith(manager: EntityManager, entry: AuditRecord): Promise<void> {
    try {
      await this.audit.insert(manager, entry);
    } catch (err) {
      this.logger.error(`Audit write failed, change rolled back: ${(err as Error).message}`);
      throw new TollgateError(
        'INTERNAL_ERROR',
        'The change was not applied: its audit record could not be written',
      );
    }
  }
}

function entryOf(req: Request, statusCode: number, response: unknown, err: unknown): AuditRecord {
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
  return {
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
  };
}
