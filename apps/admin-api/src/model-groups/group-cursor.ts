import { badRequest } from '@app/http';
import { GROUP_NAME_PATTERN } from './dto/create-model-group.dto';

/** Groups are listed by name: the cursor is the last name of the previous page. */
export const encodeGroupCursor = (groupName: string) =>
  Buffer.from(JSON.stringify({ g: groupName })).toString('base64url');

export function decodeGroupCursor(cursor: string | undefined): string | null {
  if (!cursor) return null;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    const name = (parsed as { g?: unknown } | null)?.g;
    if (typeof name === 'string' && GROUP_NAME_PATTERN.test(name)) return name;
  } catch {
    // fall through
  }
  throw badRequest('cursor: invalid cursor');
}
