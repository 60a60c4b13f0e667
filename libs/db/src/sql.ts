import type { DataSource, EntityManager } from 'typeorm';

/**
 * Runs a statement with RETURNING and gives back its rows. TypeORM's postgres driver answers
 * UPDATE/DELETE with `[rows, affected]` but SELECT/INSERT with `rows`; this hides the difference.
 */
export async function returning<T>(
  db: DataSource | EntityManager,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const result: unknown = await db.query(sql, params);
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return result as T[];
}

/** Lock conflicts PostgreSQL breaks by aborting one side: deadlock, serialization failure. */
const LOCK_CONFLICTS = new Set(['40P01', '40001']);

/**
 * Runs `work` (one statement, or one whole transaction) again when PostgreSQL aborted it to break
 * a lock cycle: it was rolled back whole, so running it again is safe. Money statements lock a
 * team row and insert rows that reference it; many of them at once on one team can form such
 * cycles (the foreign-key checks queue on the team row behind the waiting lockers).
 */
export async function retryingLockConflicts<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (attempt >= attempts || typeof code !== 'string' || !LOCK_CONFLICTS.has(code)) throw err;
      await new Promise((resolve) => setTimeout(resolve, attempt * 5 + Math.random() * 20));
    }
  }
}

interface PgPool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs a statement as a named prepared statement on TypeORM's own pool: each connection parses
 * and plans it once, then only binds and executes it. For the statements that run all the time
 * or that a request waits on: TypeORM's `query` sends an unnamed statement, parsed and planned
 * every time (a key cache miss: ~0.35 ms of a 0.8 ms lookup, `npm run bench:miss`; the journal's
 * batch statement: ~2 ms of planning per batch). `text` must be the same every time for a
 * `name` (the driver refuses another text under a name it prepared). Inside a transaction (an
 * EntityManager) it runs as a plain query on that transaction's connection. Needs a
 * session-level connection to PostgreSQL (direct, or PgBouncer ≥ 1.21 with prepared statements).
 */
export async function preparedQuery<T>(
  db: DataSource | EntityManager,
  name: string,
  text: string,
  params: unknown[],
): Promise<T[]> {
  const pool = 'driver' in db ? (db.driver as unknown as { master?: PgPool }).master : undefined;
  if (!pool) return db.query<T[]>(text, params);
  const result = await pool.query({ name, text, values: params });
  return result.rows as T[];
}
