import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { badRequest, TollgateError } from '@app/http';

/** How long a repeat waits for the first request's transaction before answering 409. */
const WAIT_FOR_FIRST_MS = 3000;
const LOCK_NOT_AVAILABLE = '55P03';

interface StoredKey {
  request_hash: string;
  status: 'in_progress' | 'completed';
  response_body: unknown;
}

/**
 * Runs `work` once per (scope, key). The key is claimed by an INSERT … ON CONFLICT DO NOTHING
 * in the SAME transaction as the work (`db.transaction` joins the request's transaction, if
 * any), so the claim, its effect and the stored response commit (or vanish) together.
 * A concurrent repeat's INSERT blocks on the uncommitted claim, then sees the conflict and
 * replays the stored result; if the first has not committed within WAIT_FOR_FIRST_MS → 409.
 * Failed requests leave no key behind, so a retry after an error runs again.
 */
export async function runIdempotent<T>(
  db: EntityManager,
  scope: string,
  key: string | undefined,
  fingerprint: string,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  if (key === undefined) return db.transaction(work);
  if (key.length === 0 || key.length > 255) {
    throw badRequest('Idempotency-Key: must be 1 to 255 characters');
  }
  const hash = createHash('sha256').update(fingerprint).digest('hex');
  try {
    return await db.transaction(async (manager) => {
      await manager.query(`SET LOCAL lock_timeout = ${WAIT_FOR_FIRST_MS}`);
      const claimed: unknown[] = await manager.query(
        `INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, status)
         VALUES ($1, $2, $3, 'in_progress') ON CONFLICT DO NOTHING RETURNING scope`,
        [scope, key, hash],
      );
      await manager.query('SET LOCAL lock_timeout TO DEFAULT');
      if (claimed.length === 0) return replay<T>(manager, scope, key, hash);
      const body = await work(manager);
      await manager.query(
        `UPDATE idempotency_keys SET status = 'completed', response_status = 200, response_body = $3
          WHERE scope = $1 AND idempotency_key = $2`,
        [scope, key, JSON.stringify(body)],
      );
      return body;
    });
  } catch (err) {
    if ((err as { code?: string }).code === LOCK_NOT_AVAILABLE) throw inProgress();
    throw err;
  }
}

async function replay<T>(
  manager: EntityManager,
  scope: string,
  key: string,
  hash: string,
): Promise<T> {
  const rows: StoredKey[] = await manager.query(
    `SELECT request_hash, status, response_body FROM idempotency_keys
      WHERE scope = $1 AND idempotency_key = $2`,
    [scope, key],
  );
  const stored = rows[0];
  if (!stored || stored.status !== 'completed') throw inProgress();
  if (stored.request_hash !== hash) {
    throw new TollgateError(
      'IDEMPOTENCY_MISMATCH',
      'Idempotency-Key was already used with a different request body',
    );
  }
  return stored.response_body as T;
}

const inProgress = () =>
  new TollgateError(
    'IDEMPOTENCY_IN_PROGRESS',
    'A request with this Idempotency-Key is still in progress; retry later',
  );
