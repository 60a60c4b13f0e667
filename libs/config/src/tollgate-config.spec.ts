import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDurationSeconds } from './duration';
import { ConfigValidationError, DEV_MASTER_KEY, loadConfig } from './tollgate-config';

const dataDir = () => mkdtempSync(join(tmpdir(), 'tollgate-config-'));
const KEY = Buffer.alloc(32, 7).toString('base64');
const STRONG = 'sk-admin-' + 'Z'.repeat(40);

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig('admin-api', env);
  } catch (err) {
    if (err instanceof ConfigValidationError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives development defaults with warnings: ports, dev master key, generated encryption key', () => {
    const dir = dataDir();
    const admin = loadConfig('admin-api', { TOLLGATE_DATA_DIR: dir });
    const gateway = loadConfig('team-gateway', { TOLLGATE_DATA_DIR: dir });
    expect(admin.http.port).toBe(8004);
    expect(gateway.http.port).toBe(8003);
    expect(gateway.metering.journalFlushMs).toBe(100);
    expect(gateway.logRequestContext).toBe(false);
    expect(admin.auth.masterKey).toBe(DEV_MASTER_KEY);
    expect(admin.warnings.join(' ')).toMatch(/MASTER_KEY is not set/);
    expect(admin.encryption.current.key).toHaveLength(32);
    // both services share the key generated once in the data folder
    expect(gateway.encryption.current.key.equals(admin.encryption.current.key)).toBe(true);
    expect(admin.db.url).toBeUndefined();
    expect(admin.http.maxBodyBytes).toBe(1024 * 1024);
    expect(gateway.http.maxBodyBytes).toBe(10 * 1024 * 1024);
    expect(admin.jobs.ttlSeconds).toBe(86400);
    expect(admin.http.host).toBe('0.0.0.0');
  });

  it('reads and converts every variable', () => {
    const cfg = loadConfig('team-gateway', {
      PORT: '9000',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      REDIS_URL: 'redis://cache:6379',
      MASTER_KEY: STRONG,
      ENCRYPTION_KEY: KEY,
      ENCRYPTION_KEY_ID: 'k7',
      JOB_TTL: '2h',
      LOG_LEVEL: 'debug',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      MAX_BODY_BYTES: '2048',
      JOURNAL_FLUSH_MS: '25',
      LOG_REQUEST_CONTEXT: 'on',
    });
    expect(cfg.http).toMatchObject({ port: 9000, host: '127.0.0.1', maxBodyBytes: 2048 });
    expect(cfg.metering.journalFlushMs).toBe(25);
    expect(cfg.logRequestContext).toBe(true);
    expect(cfg.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(cfg.encryption.current.id).toBe('k7');
    expect(cfg.jobs.ttlSeconds).toBe(7200);
    expect(cfg.warnings).toEqual([]);
    expect(
      loadConfig('admin-api', { JOB_TTL: '3600', TOLLGATE_DATA_DIR: dataDir() }).jobs.ttlSeconds,
    ).toBe(3600);
  });

  it('names every bad variable in one error', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://nope',
      ENCRYPTION_KEY: 'short',
      JOB_TTL: 'forever',
      LOG_LEVEL: 'loud',
      JOURNAL_FLUSH_MS: '-1',
      LOG_REQUEST_CONTEXT: 'yes',
      TOLLGATE_DATA_DIR: dataDir(),
    });
    const named = problems.map((p) => p.split(':')[0]);
    expect(named).toEqual(
      expect.arrayContaining([
        'PORT',
        'DATABASE_URL',
        'ENCRYPTION_KEY',
        'JOB_TTL',
        'LOG_LEVEL',
        'JOURNAL_FLUSH_MS',
        'LOG_REQUEST_CONTEXT',
      ]),
    );
  });

  it('allows link-local api_base values only when ALLOW_LINK_LOCAL_API_BASE is "true"', () => {
    const allowed = (value?: string) =>
      loadConfig('admin-api', {
        TOLLGATE_DATA_DIR: dataDir(),
        ...(value === undefined ? {} : { ALLOW_LINK_LOCAL_API_BASE: value }),
      }).upstream.allowLinkLocalApiBase;
    expect([allowed(), allowed('false'), allowed('true')]).toEqual([false, false, true]);
    expect(problemsOf({ ALLOW_LINK_LOCAL_API_BASE: 'yes', TOLLGATE_DATA_DIR: dataDir() })).toEqual([
      'ALLOW_LINK_LOCAL_API_BASE: ALLOW_LINK_LOCAL_API_BASE must be "true" or "false"',
    ]);
  });

  it('checks the OpenTelemetry endpoint is a URL (the SDK reads it and the other OTEL_* itself)', () => {
    const dir = dataDir();
    expect(
      problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318', TOLLGATE_DATA_DIR: dir }),
    ).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL',
    ]);
    expect(
      problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', TOLLGATE_DATA_DIR: dir }),
    ).toEqual([]);
    expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: '', TOLLGATE_DATA_DIR: dir })).toEqual([]);
  });

  it('refuses to start in production without strong secrets and real servers', () => {
    const problems = problemsOf({ NODE_ENV: 'production', MASTER_KEY: 'too-short-key-123' });
    expect(problems.join('\n')).toMatch(/DATABASE_URL: required in production/);
    expect(problems.join('\n')).toMatch(/REDIS_URL: required in production/);
    expect(problems.join('\n')).toMatch(/ENCRYPTION_KEY: required in production/);
    expect(problems.join('\n')).toMatch(/MASTER_KEY: required in production, at least 32/);
    expect(problemsOf({ NODE_ENV: 'production' }).join('\n')).toMatch(/MASTER_KEY/);
    expect(
      problemsOf({
        NODE_ENV: 'production',
        MASTER_KEY: DEV_MASTER_KEY,
        DATABASE_URL: 'postgres://db/x',
        REDIS_URL: 'redis://r',
        ENCRYPTION_KEY: KEY,
      }).join('\n'),
    ).toMatch(/development key is refused/);
    expect(
      problemsOf({
        NODE_ENV: 'production',
        MASTER_KEY: STRONG,
        DATABASE_URL: 'postgres://db/x',
        REDIS_URL: 'redis://r',
        ENCRYPTION_KEY: KEY,
      }),
    ).toEqual([]);
  });
});

describe('parseDurationSeconds', () => {
  it.each([
    ['30s', 30],
    ['20m', 1200],
    ['12h', 43200],
    ['30d', 2592000],
    ['1w', 604800],
    ['0s', 0],
  ])('%s → %d', (input, seconds) => expect(parseDurationSeconds(input)).toBe(seconds));

  it.each(['', '10', '5y', '-1h', '1.5h', 'h'])('rejects %p', (input) =>
    expect(parseDurationSeconds(input)).toBeNull(),
  );
});
