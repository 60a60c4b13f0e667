import type { KeysetPosition, Slice } from '@app/db';
import { TollgateError } from '@app/errors';

/** A page of a list as clients see it: the rows and the opaque cursor of the next page. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** The public cursor: base64url of `[created_at, id]`, the keyset position of the last row. */
export function encodeCursor(position: KeysetPosition): string {
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
): KeysetPosition | null {
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

/** The page clients see of one slice of a newest-first list. */
export function toPage<R, T>(slice: Slice<R>, map: (row: R) => T): Page<T> {
  return {
    data: slice.rows.map(map),
    next_cursor: slice.next ? encodeCursor(slice.next) : null,
  };
}
