import { AsyncResource } from 'node:async_hooks';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import passport from 'passport';
import { Strategy } from 'passport-http-bearer';
import { DataSource } from 'typeorm';
import { BatchedWrites, ExpiringMap, KeyCacheService } from '@app/cache';
import { preparedQuery, TeamStatus } from '@app/db';
import { TollgateError } from '@app/errors';
import { TeamPrincipal } from './team-principal';
import { hashVirtualKey, looksLikeVirtualKey } from './virtual-key';

const lastUsedWrites = new AsyncResource('TollgateKeyLastUsed');

interface PrincipalRow {
  key_id: string;
  key_alias: string | null;
  team_id: string;
  organization_id: string;
  team_status: TeamStatus;
  models: string[];
  expires_at: Date | null;
  grace_expires_at: Date | null;
  key_rpm: number | null;
  key_tpm: number | null;
  team_rpm: number | null;
  team_tpm: number | null;
  max_budget: string | null;
  budget_key_id: string;
}

const LAST_USED_EVERY_MS = 30_000;
/** Keys first used within this window share one UPDATE. */
const LAST_USED_BATCH_MS = 1_000;
/** At most this many keys per UPDATE. */
const LAST_USED_BATCH_MAX = 5_000;

const PRINCIPAL_SQL = `
  SELECT k.key_id, k.key_alias, k.team_id, t.organization_id, t.status AS team_status, k.models,
         k.expires_at, k.grace_expires_at, k.rpm_limit AS key_rpm, k.tpm_limit AS key_tpm,
         t.rpm_limit AS team_rpm, t.tpm_limit AS team_tpm,
         CASE WHEN b.key_id IS NULL THEN k.max_budget ELSE b.max_budget END AS max_budget,
         COALESCE(b.key_id, k.key_id) AS budget_key_id
    FROM virtual_keys k JOIN teams t ON t.team_id = k.team_id
    LEFT JOIN virtual_keys b ON b.key_id = k.rotated_to
   WHERE k.key_hash = $1 AND k.status = 'active'`;

/** Requests whose route takes the key as `x-api-key` too (marked by TeamAuthGuard). */
const xApiKeyRequests = new WeakSet<object>();

/** Lets this request's key come from `x-api-key` (routes marked @AcceptsApiKeyHeader()). */
export function allowXApiKey(req: Request): void {
  xApiKeyRequests.add(req);
}

/**
 * The Authorization header; on routes that accept it, `x-api-key` read as a bearer token when
 * there is no Authorization header. Nowhere else is `x-api-key` looked at.
 */
function authorizationOf(req: Request): string | undefined {
  if (req.headers.authorization || !xApiKeyRequests.has(req)) return req.headers.authorization;
  const key = req.headers['x-api-key'];
  const value = Array.isArray(key) ? key[0] : key;
  return value ? `Bearer ${value.trim()}` : undefined;
}

/**
 * passport-http-bearer: virtual key → team, through the key cache. TeamAuthGuard authenticates
 * with this instance, its app's own: passport's default registry is one per process, where a
 * second app (a replica in the same process, as in the e2e specs) would replace it and leave the
 * first authenticating through the second's database and cache, even after the second closed.
 */
@Injectable()
export class VirtualKeyStrategy
  extends PassportStrategy(Strategy, 'bearer')
  implements BeforeApplicationShutdown
{
  private readonly logger = new Logger(VirtualKeyStrategy.name);
  /** Keys whose last_used_at was written in the last 30 s (older entries are dropped as it goes). */
  private readonly lastUsedWritten = new ExpiringMap<string, true>(LAST_USED_EVERY_MS, 100_000);
  /** Keys whose last_used_at is due: the keys first used within a second share one UPDATE. */
  private readonly lastUsedDue = new BatchedWrites<string>({
    delayMs: LAST_USED_BATCH_MS,
    maxItems: LAST_USED_BATCH_MAX,
    // in a scope of its own: the write belongs to no request (none waits for it)
    scope: lastUsedWrites,
    write: (keyIds) =>
      this.db
        .query('UPDATE virtual_keys SET last_used_at = now() WHERE key_id = ANY($1::uuid[])', [
          keyIds,
        ])
        .catch((err: Error) =>
          this.logger.warn(`last_used_at of ${keyIds.length} key(s) not recorded: ${err.message}`),
        ),
  });

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly keyCache: KeyCacheService<TeamPrincipal>,
  ) {
    super();
  }

  /** Where @nestjs/passport registers the strategy: a registry of its own, not the process-wide one. */
  getPassportInstance(): passport.Authenticator {
    return new passport.Authenticator();
  }

  /**
   * Keys only from the Authorization header: passport-http-bearer would also take
   * `?access_token=` and a body `access_token`, which end up in access logs and proxies.
   */
  override authenticate(req: Request, options?: object): void {
    super.authenticate({ headers: { authorization: authorizationOf(req) } } as Request, options);
  }

  async validate(token: string): Promise<TeamPrincipal | false> {
    if (!looksLikeVirtualKey(token)) return false;
    const hash = hashVirtualKey(token);
    const principal = await this.keyCache.getOrLoad(hash, () => this.load(hash));
    if (!principal || principal.teamStatus === 'deleted') return false;
    const now = Date.now();
    if (principal.expiresAt && Date.parse(principal.expiresAt) <= now) return false;
    if (principal.graceExpiresAt && Date.parse(principal.graceExpiresAt) <= now) return false;
    if (principal.teamStatus === 'suspended') {
      throw new TollgateError(
        'TEAM_SUSPENDED',
        'Team access is suspended. Please contact support.',
      );
    }
    if (principal.teamStatus === 'paused') {
      throw new TollgateError('TEAM_PAUSED', 'Team access is paused. Please contact support.');
    }
    this.touch(principal.keyId, now);
    return principal;
  }

  /** The last_used_at still due is written before the pools close. */
  async beforeApplicationShutdown(): Promise<void> {
    this.lastUsedDue.now();
    await this.lastUsedDue.settled();
  }

  /** A key cache miss: the one read a request waits on here, prepared once per connection. */
  private async load(hash: string): Promise<TeamPrincipal | null> {
    const rows = await preparedQuery<PrincipalRow>(this.db, 'tollgate_principal', PRINCIPAL_SQL, [
      hash,
    ]);
    const row = rows[0];
    if (!row) return null;
    return {
      keyId: row.key_id,
      keyAlias: row.key_alias,
      teamId: row.team_id,
      organizationId: row.organization_id,
      teamStatus: row.team_status,
      keyModels: row.models,
      expiresAt: row.expires_at?.toISOString() ?? null,
      graceExpiresAt: row.grace_expires_at?.toISOString() ?? null,
      keyRpmLimit: row.key_rpm,
      keyTpmLimit: row.key_tpm,
      teamRpmLimit: row.team_rpm,
      teamTpmLimit: row.team_tpm,
      maxBudget: row.max_budget === null ? null : Number(row.max_budget),
      budgetKeyId: row.budget_key_id,
    };
  }

  /**
   * last_used_at is written at most every 30 s per key, off the request path, and the keys first
   * used within a second share one UPDATE: a burst of new keys is not a commit each.
   */
  private touch(keyId: string, now: number): void {
    if (this.lastUsedWritten.get(keyId, now)) return;
    this.lastUsedWritten.set(keyId, true, now + LAST_USED_EVERY_MS, now);
    this.lastUsedDue.add(keyId);
  }
}
