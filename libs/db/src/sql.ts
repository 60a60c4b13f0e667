import type { DataSource, EntityManager, ObjectLiteral, SelectQueryBuilder } from 'typeorm';

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

/**
 * Newest first, keyset-paginated on (created_at to the millisecond, id). The millisecond is what
 * a cursor carries (it is written from a JS Date, while created_at holds microseconds), so rows
 * created within one millisecond are never skipped between pages. `after` is the decoded cursor:
 * the last row of the previous page, or null for the first page.
 */
export function newestFirst<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  idColumn: string,
  after: { createdAt: string; id: string } | null,
): SelectQueryBuilder<T> {
  const createdAt = `date_trunc('milliseconds', ${alias}.created_at)`;
  const id = `${alias}.${idColumn}`;
  qb.orderBy(createdAt, 'DESC').addOrderBy(id, 'DESC');
  if (after) qb.andWhere(`(${createdAt}, ${id}) < (:createdAt, :id)`, after);
  return qb;
}
