import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { keyset } from '@app/db';
import { decodeCursor, toPage } from '@app/http';
import { AuditRow, toAuditEntry } from './audit.mapper';
import { AuditTarget } from './audit-target';

export interface AuditRecord {
  method: string;
  route: string;
  target: AuditTarget;
  requestId: string | null;
  statusCode: number;
  summary: Record<string, unknown>;
}

export interface AuditFilter {
  limit?: number;
  cursor?: string;
  target_type?: string;
  target_id?: string;
}

const AUDIT = keyset('created_at', 'audit_id');

@Injectable()
export class AuditService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(AuditService.name);
  private readonly pending = new Set<Promise<void>>();

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Writes the entry of a failed request on its own; resolves either way (a failed write is
   * logged, never thrown: there is no change to roll back).
   */
  record(entry: AuditRecord): Promise<void> {
    const write = this.insert(this.db.manager, entry)
      .catch((err: Error) => this.logger.error(`Audit write failed: ${err.message}`))
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
    return write;
  }

  /** Lets in-flight audit writes land before the connection pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Newest first, keyset-paginated on (created_at, audit_id). */
  async list(filter: AuditFilter) {
    const position = decodeCursor(filter.cursor);
    const limit = filter.limit ?? 50;
    const rows: AuditRow[] = await this.db.query(
      `SELECT audit_id, method, route, target_type, target_id, request_id, status_code, summary,
              created_at,
              ${AUDIT.select}
         FROM audit_log
        WHERE ($1::varchar IS NULL OR target_type = $1)
          AND ($2::varchar IS NULL OR target_id = $2)
          AND ${AUDIT.after('$3', '$4')}
        ORDER BY ${AUDIT.order}
        LIMIT $5`,
      [filter.target_type ?? null, filter.target_id ?? null, ...AUDIT.params(position), limit + 1],
    );
    return toPage(AUDIT.slice(rows, limit), toAuditEntry);
  }

  /** Writes the entry with `manager`: inside the change's transaction, it commits with it. */
  async insert(manager: EntityManager, entry: AuditRecord): Promise<void> {
    await manager.query(
      `INSERT INTO audit_log (method, route, target_type, target_id, request_id, status_code, summary)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        entry.method,
        entry.route.slice(0, 512),
        entry.target.type,
        entry.target.id?.slice(0, 255) ?? null,
        entry.requestId?.slice(0, 128) ?? null,
        entry.statusCode,
        JSON.stringify(entry.summary),
      ],
    );
  }
}
