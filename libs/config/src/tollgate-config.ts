import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { parseDurationSeconds } from './duration';
import { EnvironmentVariables } from './env.schema';

export type AppName = 'admin-api' | 'team-gateway';

export const DEV_MASTER_KEY = 'sk-admin-local-dev-change-in-production';

const DEFAULT_PORTS: Record<AppName, number> = { 'admin-api': 8004, 'team-gateway': 8003 };
const DEFAULT_BODY_LIMIT: Record<AppName, number> = {
  'admin-api': 1024 * 1024,
  'team-gateway': 10 * 1024 * 1024,
};

export interface EncryptionKey {
  id: string;
  key: Buffer;
}

export interface TollgateConfig {
  app: AppName;
  env: 'development' | 'production' | 'test';
  http: {
    host: string;
    port: number;
    corsOrigins: string[];
    maxBodyBytes: number;
    shutdownTimeoutMs: number;
  };
  db: { url: string | undefined; dataDir: string; embeddedPort: number; poolSize: number };
  redis: { url: string | undefined };
  auth: { masterKey: string; usingDevMasterKey: boolean };
  encryption: { current: EncryptionKey; previous: EncryptionKey[] };
  jobs: { ttlSeconds: number; sweepIntervalMs: number };
  /**
   * timeoutMs: connect, headers and first stream chunk; streamIdleTimeoutMs: gap between chunks;
   * allowLinkLocalApiBase: whether an api_base may be a link-local or cloud metadata address.
   */
  upstream: { timeoutMs: number; streamIdleTimeoutMs: number; allowLinkLocalApiBase: boolean };
  /** Credit leases (null minCallsPerSecond = off) and the call journal; see docs/design/metering.md. */
  metering: {
    minCallsPerSecond: number | null;
    /** Calls in a row, each within leaseIdleMs of the one before, that lease a team; null = rule off. */
    steadyCalls: number | null;
    leaseTtlSeconds: number;
    leaseIdleMs: number;
    holdTtlSeconds: number;
    /** How long a journaled record waits for others to share its batch to Postgres. */
    journalFlushMs: number;
  };
  /** Webhook delivery (admin-api): poll interval, per-attempt timeout, attempts, first retry delay. */
  webhooks: { pollIntervalMs: number; timeoutMs: number; maxAttempts: number; retryBaseMs: number };
  logLevel: string;
  /** Fastify services: the request's logger as the context of Logger lines written while serving it. */
  logRequestContext: boolean;
  /** Non-fatal notices for the boot log (dev defaults in use). */
  warnings: string[];
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Reads or creates (once, shared by both services) the dev encryption key in the data folder. */
function devEncryptionKey(dataDir: string): Buffer {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'encryption.key');
  try {
    writeFileSync(file, randomBytes(32).toString('base64'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

/** Validates the environment once and returns the typed config; throws one error naming every bad variable. */
export function loadConfig(app: AppName, source: NodeJS.ProcessEnv = process.env): TollgateConfig {
  const env = plainToInstance(EnvironmentVariables, { ...source });
  const problems = validateSync(env, { skipMissingProperties: false }).flatMap((e) =>
    Object.values(e.constraints ?? {}).map((msg) => `${e.property}: ${msg}`),
  );

  const mode = env.NODE_ENV ?? 'development';
  const production = mode === 'production';
  const warnings: string[] = [];

  if (production) {
    if (!env.DATABASE_URL) problems.push('DATABASE_URL: required in production');
    if (!env.REDIS_URL) problems.push('REDIS_URL: required in production');
    if (!env.ENCRYPTION_KEY) problems.push('ENCRYPTION_KEY: required in production');
    if (!env.MASTER_KEY || env.MASTER_KEY.length < 32) {
      problems.push('MASTER_KEY: required in production, at least 32 characters');
    } else if (env.MASTER_KEY === DEV_MASTER_KEY) {
      problems.push('MASTER_KEY: the documented development key is refused in production');
    }
  }
  if (problems.length > 0) throw new ConfigValidationError(problems);

  const dataDir = resolve(env.TOLLGATE_DATA_DIR ?? '.tollgate');
  const usingDevMasterKey = !env.MASTER_KEY;
  if (usingDevMasterKey) {
    warnings.push(`MASTER_KEY is not set: using the local development key "${DEV_MASTER_KEY}"`);
  }
  let currentKey: Buffer;
  if (env.ENCRYPTION_KEY) {
    currentKey = Buffer.from(env.ENCRYPTION_KEY, 'base64');
  } else {
    currentKey = devEncryptionKey(dataDir);
    warnings.push(
      `ENCRYPTION_KEY is not set: using the development key in ${join(dataDir, 'encryption.key')}`,
    );
  }
  const previous = (env.ENCRYPTION_KEYS_PREVIOUS ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => {
      const [id, key] = pair.split(':');
      return { id, key: Buffer.from(key, 'base64') };
    });

  return {
    app,
    env: mode,
    http: {
      host: env.HOST ?? '0.0.0.0',
      port: env.PORT ?? DEFAULT_PORTS[app],
      corsOrigins: (env.CORS_ORIGINS ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      maxBodyBytes: env.MAX_BODY_BYTES ?? DEFAULT_BODY_LIMIT[app],
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS ?? 30000,
    },
    db: {
      url: env.DATABASE_URL,
      dataDir,
      embeddedPort: env.EMBEDDED_PG_PORT ?? 54329,
      poolSize: env.DB_POOL_SIZE ?? 20,
    },
    redis: { url: env.REDIS_URL },
    auth: { masterKey: env.MASTER_KEY ?? DEV_MASTER_KEY, usingDevMasterKey },
    encryption: { current: { id: env.ENCRYPTION_KEY_ID ?? 'k1', key: currentKey }, previous },
    jobs: {
      ttlSeconds: parseDurationSeconds(env.JOB_TTL ?? '24h') ?? 86400,
      sweepIntervalMs: env.JOB_SWEEP_INTERVAL_MS ?? 60000,
    },
    upstream: {
      timeoutMs: env.UPSTREAM_TIMEOUT_MS ?? 60000,
      streamIdleTimeoutMs: env.UPSTREAM_STREAM_IDLE_TIMEOUT_MS ?? 30000,
      allowLinkLocalApiBase: env.ALLOW_LINK_LOCAL_API_BASE === 'true',
    },
    metering: {
      minCallsPerSecond:
        env.LEASE_MIN_CALLS_PER_SECOND === 'off'
          ? null
          : Number(env.LEASE_MIN_CALLS_PER_SECOND ?? 20),
      steadyCalls: env.LEASE_STEADY_CALLS === 'off' ? null : Number(env.LEASE_STEADY_CALLS ?? 2),
      leaseTtlSeconds: env.LEASE_TTL_SECONDS ?? 30,
      leaseIdleMs: env.LEASE_IDLE_MS ?? 5000,
      holdTtlSeconds: env.HOLD_TTL_SECONDS ?? 120,
      journalFlushMs: env.JOURNAL_FLUSH_MS ?? 100,
    },
    webhooks: {
      pollIntervalMs: env.WEBHOOK_POLL_INTERVAL_MS ?? 1000,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS ?? 10000,
      maxAttempts: env.WEBHOOK_MAX_ATTEMPTS ?? 10,
      retryBaseMs: env.WEBHOOK_RETRY_BASE_MS ?? 10000,
    },
    logLevel: env.LOG_LEVEL ?? 'info',
    logRequestContext: env.LOG_REQUEST_CONTEXT === 'on',
    warnings,
  };
}
