import { TollgateError } from './errors';

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Keyset position: (created_at, id) of the last row of the previous page. */
export interface CursorPosition {
  createdAt: string;
  id: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url');
}

/** What the id half of a cursor is: a server-generated UUID, or a caller-chosen name (team, org). */
export type CursorIdKind = 'uuid' | 'name';

/** The two shapes the encoders write: `Date#toISOString()` (ms) and Postgres `to_char(…US)` (µs). */
const CURSOR_TIME = /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.(\d{3}|\d{6})Z$/;
const CURSOR_ID: Record<CursorIdKind, RegExp> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  name: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
};

/** A real instant in the encoder's shape (no 2026-02-30, no 24:00), so Postgres accepts it. */
function isCursorTime(value: string): boolean {
  if (!CURSOR_TIME.test(value)) return false;
  const time = new Date(value);
  return !Number.isNaN(time.getTime()) && time.toISOString().slice(0, 19) === value.slice(0, 19);
}

/** Parses a cursor strictly: anything but what encodeCursor wrote is a 400, never a query error. */
export function decodeCursor(
  cursor: string | undefined,
  idKind: CursorIdKind = 'uuid',
): CursorPosition | null {
  if (!cursor) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  if (Array.isArray(parsed) && parsed.length === 2) {
    const [createdAt, id] = parsed as unknown[];
    if (
      typeof createdAt === 'string' &&
      typeof id === 'string' &&
      isCursorTime(createdAt) &&
      CURSOR_ID[idKind].test(id)
    ) {
      return { createdAt, id };
    }
  }
  throw new TollgateError('VALIDATION_ERROR', 'cursor: invalid cursor');
}

/** Builds a page from limit+1 rows fetched newest first. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  position: (row: R) => CursorPosition,
  map: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    data: pageRows.map(map),
    next_cursor: more && last ? encodeCursor(position(last)) : null,
  };
}
