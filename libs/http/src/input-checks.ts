import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { TollgateError } from './errors';

/** SPEC §8: JSON nested deeper than this is refused before validation (which recurses). */
export const MAX_JSON_DEPTH = 64;

/**
 * Object keys class-transformer cannot carry: it drops them silently, and an own `constructor`
 * that is not a function crashes plainToInstance (a 500 on any body holding one in metadata).
 */
const RESERVED_KEYS = new Set(['constructor', '__proto__']);

/** NUL and lone UTF-16 surrogates: PostgreSQL text and jsonb cannot hold them. */
export function isStorableText(text: string): boolean {
  return text.isWellFormed() && !text.includes('\u0000');
}

/**
 * The first reason `value` cannot be accepted, naming the field (`messages[0].content`), or null.
 * Iterative, so a hostile depth cannot overflow the stack here either.
 */
export function unacceptableInput(value: unknown, maxDepth = MAX_JSON_DEPTH): string | null {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [
    { value, path: '', depth: 0 },
  ];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item.value === 'string') {
      if (!isStorableText(item.value)) return unstorable(item.path);
      continue;
    }
    if (item.value === null || typeof item.value !== 'object') continue;
    if (item.depth >= maxDepth) {
      return `${item.path || 'body'}: JSON nested deeper than ${maxDepth} levels`;
    }
    const isArray = Array.isArray(item.value);
    for (const [key, child] of Object.entries(item.value)) {
      const path = isArray ? `${item.path}[${key}]` : item.path ? `${item.path}.${key}` : key;
      if (!isArray && !isStorableText(key)) return unstorable(`${item.path || 'body'} key`);
      if (!isArray && RESERVED_KEYS.has(key)) {
        return `${item.path || 'body'}: the key '${key}' is not accepted`;
      }
      stack.push({ value: child, path, depth: item.depth + 1 });
    }
  }
  return null;
}

const unstorable = (path: string) =>
  `${path || 'body'}: contains a character that cannot be stored (NUL \\u0000 or a lone UTF-16 surrogate)`;

/**
 * Refuses, before guards, validation or any state change, a query or JSON body holding text
 * PostgreSQL cannot store or JSON too deep to validate safely: 400 naming the field. An Express
 * middleware and a Fastify `preValidation` hook alike (both call it with request, response, next).
 */
export function refuseUnacceptableInput(
  req: { query?: unknown; body?: unknown },
  _res: unknown,
  next: (err?: Error) => void,
): void {
  const problem = unacceptableInput(req.query) ?? unacceptableInput(req.body);
  next(problem ? new TollgateError('VALIDATION_ERROR', problem) : undefined);
}

/** The type of the error `verifyUtf8` throws; the exception filter renders it as a 400. */
export const INVALID_UTF8 = 'encoding.invalid';

const invalidUtf8 = () =>
  Object.assign(new Error('The request body is not valid UTF-8'), {
    status: 400,
    type: INVALID_UTF8,
  });

/**
 * The JSON body parser's `verify`: a body read as UTF-8 must be UTF-8. Decoding would otherwise
 * turn the bad bytes into U+FFFD silently and store a value the client never sent.
 */
export function verifyUtf8(_req: IncomingMessage, _res: unknown, body: Buffer, encoding: string) {
  if (encoding === 'utf-8' && !isUtf8(body)) throw invalidUtf8();
}

/** The type of the error `parseJsonBody` throws for a body that is not JSON (body-parser's type). */
export const INVALID_JSON = 'entity.parse.failed';

/**
 * Fastify's 'application/json' parser, as Express's body-parser reads JSON: UTF-8 checked before
 * decoding (400), strict `JSON.parse` (an own `__proto__`/`constructor` key is kept, for
 * `refuseUnacceptableInput` to refuse with its own message), an empty body is no body.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (!isUtf8(body)) throw invalidUtf8();
  const text = body.toString('utf8');
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return undefined;
  try {
    // strict, as body-parser's default: an object or an array, never a bare value
    if (first !== '{' && first !== '[') throw new SyntaxError(`Unexpected token '${first}' in JSON`);
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw Object.assign(new Error((err as Error).message), { status: 400, type: INVALID_JSON });
  }
}
