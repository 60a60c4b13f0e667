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
