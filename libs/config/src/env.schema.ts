import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { DURATION_PATTERN } from './duration';

const trim = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;
const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

/** Every environment variable Tollgate reads. `.env.example` documents the same list. */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV?: 'development' | 'production' | 'test';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsOptional()
  @IsString()
  HOST?: string;

  @IsOptional()
  @Transform(trim)
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @IsOptional()
  @Transform(trim)
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @Transform(trim)
  @IsString()
  @MinLength(16, { message: 'MASTER_KEY must be at least 16 characters' })
  MASTER_KEY?: string;

  @IsOptional()
  @Transform(trim)
  @Matches(/^[A-Za-z0-9+/]{43}=$/, {
    message: 'ENCRYPTION_KEY must be 32 random bytes, base64-encoded (44 characters)',
  })
  ENCRYPTION_KEY?: string;

  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,32}$/, {
    message: 'ENCRYPTION_KEY_ID must be 1-32 characters of [A-Za-z0-9_-]',
  })
  ENCRYPTION_KEY_ID?: string;

  /** Older keys still able to decrypt: "id1:base64key,id2:base64key". */
  @IsOptional()
  @Transform(trim)
  @Matches(/^([A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]{43}=)(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]{43}=)*$/, {
    message: 'ENCRYPTION_KEYS_PREVIOUS must be a comma-separated list of id:base64key',
  })
  ENCRYPTION_KEYS_PREVIOUS?: string;

  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^\d+$/.test(value) ? `${value}s` : value,
  )
  @Matches(DURATION_PATTERN, { message: 'JOB_TTL must be seconds or a duration like "24h"' })
  JOB_TTL?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  /**
   * team-gateway (Fastify): "on" gives the Nest Logger lines written while serving a request that
   * request's logger (its id) through AsyncLocalStorage, whose promise hooks cost every call
   * CPU; "off" (default) leaves the request id on the request line and on error lines only.
   */
  @IsOptional()
  @IsIn(['on', 'off'])
  LOG_REQUEST_CONTEXT?: string;

  @IsOptional()
  @IsString()
  CORS_ORIGINS?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1024)
  MAX_BODY_BYTES?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600000)
  SHUTDOWN_TIMEOUT_MS?: number;

  @IsOptional()
  @IsString()
  TOLLGATE_DATA_DIR?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  EMBEDDED_PG_PORT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(600000)
  UPSTREAM_TIMEOUT_MS?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600000)
  UPSTREAM_STREAM_IDLE_TIMEOUT_MS?: number;

  /** Lets an api_base point at link-local addresses and cloud metadata services (refused by default). */
  @IsOptional()
  @IsIn(['true', 'false'], { message: 'ALLOW_LINK_LOCAL_API_BASE must be "true" or "false"' })
  ALLOW_LINK_LOCAL_API_BASE?: 'true' | 'false';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(200)
  DB_POOL_SIZE?: number;

  /** How often the gateway closes jobs past JOB_TTL and releases expired credit holds. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3600000)
  JOB_SWEEP_INTERVAL_MS?: number;

  /**
   * Credit leases: a team that makes at least this many calls a second on one gateway replica
   * is served from an in-memory lease at once (no database round trip per call); 0 = every team
   * from its first call, and "off" disables leases (every call holds and settles in PostgreSQL).
   */
  @IsOptional()
  @Matches(/^(off|\d+)$/, { message: 'LEASE_MIN_CALLS_PER_SECOND must be a whole number or "off"' })
  LEASE_MIN_CALLS_PER_SECOND?: string;

  /**
   * Credit leases for steady teams: a team that made this many calls on one gateway replica,
   * each within LEASE_IDLE_MS of the one before, is leased there too (whatever its rate); "off"
   * leaves only LEASE_MIN_CALLS_PER_SECOND. At least 2: a team calling once in a while keeps
   * the exact path (a lease per call would cost it a grant and a return on top).
   */
  @IsOptional()
  @Matches(/^(off|[2-9]|[1-9]\d+)$/, {
    message: 'LEASE_STEADY_CALLS must be a whole number of at least 2, or "off"',
  })
  LEASE_STEADY_CALLS?: string;

  /** How long a lease lives without being renewed: a dead replica's leases come back after it. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(3)
  @Max(3600)
  LEASE_TTL_SECONDS?: number;

  /**
   * A lease not used for this long is given back to the team's balance; also the longest gap
   * between the calls of a steady team (LEASE_STEADY_CALLS).
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(600000)
  LEASE_IDLE_MS?: number;

  /**
   * How long a call's credit hold outlives its replica: live replicas renew the holds of their
   * calls in flight (streams included), so a dead replica's holds come back after this.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(3)
  @Max(86400)
  HOLD_TTL_SECONDS?: number;

  /**
   * How long, at most, a call's journal record (already durable in Redis) waits for others to
   * share its batch to Postgres while requests are in flight: fewer, larger statements under
   * load. With no request in flight the queue is written at once. 0 = always at once.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10000)
  JOURNAL_FLUSH_MS?: number;

  /** How often admin-api looks for webhook deliveries that are due. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(60000)
  WEBHOOK_POLL_INTERVAL_MS?: number;

  /** How long one webhook delivery may take (connect, answer) before it counts as failed. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120000)
  WEBHOOK_TIMEOUT_MS?: number;

  /** Attempts per webhook delivery before it is marked failed. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(50)
  WEBHOOK_MAX_ATTEMPTS?: number;

  /** The first retry's delay; each next one doubles (with jitter), up to one hour. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3600000)
  WEBHOOK_RETRY_BASE_MS?: number;

  /**
   * OpenTelemetry: where traces go (OTLP/HTTP); unset = no tracing. The SDK reads it, and the
   * other OTEL_* variables, itself (see README); checked here so a typo is named at boot.
   */
  @IsOptional()
  @Transform(trim)
  @Matches(/^https?:\/\/[^\s]+$/, {
    message: 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL',
  })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
}
