import { badRequest } from '@app/http';

/** Groups are listed by name: the cursor is the last name of the previous page. */
export const encodeGroupCursor = (groupName: string) =>
  Buffer.from(JSON.stringify({ g: groupName })).toString('base64url');

export function decodeGroupCursor(cursor: string | undefined): string | null {
  if (!cursor) return null;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    const name = (parsed as { g?: unknown } | null)?.g;
    if (typeof name === 'string' && name.length > 0) return name;
  } catch {
    // fall through
  }
  throw badRequest('cursor: invalid cursor');
}
