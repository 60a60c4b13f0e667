import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

type Hook = () => Promise<void>;

interface RequestTransaction {
  manager: EntityManager;
  afterCommit: Hook[];
}

/**
 * The admin-api's way to the database. Inside a request's transaction (every mutation runs in
 * one, opened by the AuditInterceptor) it is that transaction, on its one connection; elsewhere
 * it is the data source. So a change, what it reads back and its audit row commit together.
 */
@Injectable()
export class AdminDb {
  private readonly logger = new Logger(AdminDb.name);
  private readonly current = new AsyncLocalStorage<RequestTransaction>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The request's transaction, or the data source's manager outside one. */
  get manager(): EntityManager {
    return this.current.getStore()?.manager ?? this.dataSource.manager;
  }

  query<T = unknown>(sql: string, params?: unknown[]): Promise<T> {
    return this.manager.query<T>(sql, params);
  }

  /** A transaction of its own outside a request; inside one, a savepoint of the request's. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.manager.transaction(work);
  }

  /**
   * Runs `hook` once the request's transaction has committed, never if it rolls back (a cache
   * invalidation published before the commit would let a gateway re-load the old state).
   * Outside a request's transaction, runs it now.
   */
  async afterCommit(hook: Hook): Promise<void> {
    const tx = this.current.getStore();
    if (tx) tx.afterCommit.push(hook);
    else await hook();
  }

  /**
   * Runs `work` in a new transaction that every AdminDb call inside it joins; `finish` runs
   * last in the same transaction, then it commits, then the after-commit hooks run.
   */
  async inTransaction<T>(
    work: () => Promise<T>,
    finish: (manager: EntityManager, result: T) => Promise<void>,
  ): Promise<T> {
    const hooks: Hook[] = [];
    const result = await this.dataSource.transaction(async (manager) => {
      const value = await this.current.run({ manager, afterCommit: hooks }, work);
      await finish(manager, value);
      return value;
    });
    for (const hook of hooks) {
      // The change has committed: a failed hook (e.g. Redis down) is logged, caches still expire.
      await hook().catch((err: Error) => this.logger.error(`After commit: ${err.message}`));
    }
    return result;
  }
}
