import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/**
 * Where a newest-first list resumes: (created_at to the microsecond, id) of the last row of the
 * previous slice. Every newest-first list orders by (created_at, id) DESC and resumes strictly
 * below this position, so rows created within one millisecond are never skipped or repeated.
 */
export interface KeysetPosition {
  /** created_at as an ISO instant (microseconds as Postgres stores them). */
  createdAt: string;
  id: string;
}

/** One slice of a newest-first list and where the next one starts (null: this is the last). */
export interface Slice<T> {
  rows: T[];
  next: KeysetPosition | null;
}

/** `column` (a timestamptz) as the text a KeysetPosition carries, to the microsecond. */
export const positionAt = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** What a raw query selects for the keyset (`keyset(…).select`): the row's position. */
export interface KeysetRow {
  keyset_at: string;
  keyset_id: string;
}

/**
 * The keyset scheme for raw SQL over (createdAt, id) columns: `select` names each row's position,
 * `after(atParam, idParam)` is true below the position (or for every row when both are NULL),
 * `params` are the values of those two parameters, `slice` cuts limit+1 rows into a Slice.
 */
export function keyset(createdAt: string, id: string, idType = 'uuid') {
  return {
    select: `${positionAt(createdAt)} AS keyset_at, ${id} AS keyset_id`,
    after: (atParam: string, idParam: string) =>
      `(${atParam}::timestamptz IS NULL OR (${createdAt}, ${id}) < (${atParam}::timestamptz, ${idParam}::${idType}))`,
    order: `${createdAt} DESC, ${id} DESC`,
    params: (after: KeysetPosition | null) => [after?.createdAt ?? null, after?.id ?? null],
    slice: <R extends KeysetRow>(rows: R[], limit: number): Slice<R> =>
      sliceOf(rows, limit, (r) => ({ createdAt: r.keyset_at, id: r.keyset_id })),
  };
}

/** A slice from up to limit+1 rows fetched newest first (the extra row says there is more). */
export function sliceOf<R>(
  rows: R[],
  limit: number,
  position: (row: R, index: number) => KeysetPosition,
): Slice<R> {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  const last = slice.length - 1;
  return { rows: slice, next: more && last >= 0 ? position(slice[last], last) : null };
}

/**
 * Runs a TypeORM query newest first below `after` and returns one slice of `limit` entities. The
 * query must select one entity without to-many joins (its raw rows then line up with the entities).
 */
export async function newestFirst<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  alias: string,
  idColumn: string,
  after: KeysetPosition | null,
  limit: number,
): Promise<Slice<T>> {
  const createdAt = `${alias}.created_at`;
  const id = `${alias}.${idColumn}`;
  qb.addSelect(positionAt(createdAt), 'keyset_at')
    .addSelect(id, 'keyset_id')
    .orderBy(createdAt, 'DESC')
    .addOrderBy(id, 'DESC')
    .limit(limit + 1);
  if (after) {
    qb.andWhere(`(${createdAt}, ${id}) < (CAST(:keysetAt AS timestamptz), :keysetId)`, {
      keysetAt: after.createdAt,
      keysetId: after.id,
    });
  }
  const { entities, raw } = await qb.getRawAndEntities<{ keyset_at: string; keyset_id: string }>();
  if (entities.length !== raw.length) throw new Error('newestFirst: rows and entities differ');
  return sliceOf(entities, limit, (_row, i) => ({
    createdAt: raw[i].keyset_at,
    id: raw[i].keyset_id,
  }));
}
