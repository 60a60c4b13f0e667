/**
 * The benchmark's settings: BENCH_* environment variables over the full run's defaults. The
 * table below is also what docs/performance.md lists, so the two cannot drift apart.
 */

export const SETTINGS = {
  BENCH_REQUESTS: { default: 1000, about: 'requests per target at concurrency 1' },
  BENCH_SECONDS: { default: 10, about: 'measured seconds of each fixed-time run' },
  BENCH_WARMUP_SECONDS: { default: 1, about: 'unmeasured seconds before each fixed-time run' },
  BENCH_CONNECTIONS: { default: 50, about: 'connections of the fixed-time runs' },
  BENCH_TEAMS: { default: 8, about: 'teams the spread runs go over, keys round robin' },
  BENCH_CALLS_PER_JOB: { default: 100, about: 'llm-call: calls per job' },
  BENCH_KEYS: { default: 100_000, about: 'virtual keys inserted for the cache-miss run' },
  BENCH_MISS_KEYS: {
    default: null,
    about: 'keys the cache-miss run uses, one request each (default: a tenth of BENCH_KEYS)',
  },
  BENCH_CALL_ROWS: { default: 1_000_000, about: 'llm_calls rows inserted for the analytics' },
  BENCH_ANALYTICS_RUNS: { default: 3, about: 'timed requests per analytics endpoint' },
  BENCH_C1_MAX_SECONDS: { default: 40, about: 'time limit of each concurrency-1 run' },
  BENCH_MISS_MAX_SECONDS: { default: 75, about: 'time limit of the cache-miss run' },
  BENCH_WARMUP_REQUESTS: { default: 50, about: 'warm-up requests per target and gateway' },
  BENCH_STREAM_CHUNK_DELAY_MS: {
    default: 1,
    about: "delay between the fake upstream's stream chunks",
  },
  BENCH_SETTLE_SECONDS: {
    default: 15,
    about: "idle seconds after the load before the gateways' memory is read again",
  },
  BENCH_LOG_LEVEL: { default: 'warn', about: 'LOG_LEVEL of admin-api and the gateways' },
} as const;

type Name = keyof typeof SETTINGS;

function setting(name: Name, fallback?: number): number {
  const raw = process.env[name];
  const value = fallback ?? Number(SETTINGS[name].default);
  if (raw === undefined || raw.trim() === '') return value;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`${name} must be a non-negative number, got ${raw}`);
  }
  return n;
}

const KEYS = setting('BENCH_KEYS');

export const CFG = {
  BENCH_REQUESTS: setting('BENCH_REQUESTS'),
  BENCH_SECONDS: setting('BENCH_SECONDS'),
  BENCH_WARMUP_SECONDS: setting('BENCH_WARMUP_SECONDS'),
  BENCH_CONNECTIONS: Math.max(1, setting('BENCH_CONNECTIONS')),
  BENCH_TEAMS: Math.max(1, setting('BENCH_TEAMS')),
  BENCH_CALLS_PER_JOB: Math.max(1, setting('BENCH_CALLS_PER_JOB')),
  BENCH_KEYS: KEYS,
  BENCH_MISS_KEYS: Math.min(KEYS, setting('BENCH_MISS_KEYS', Math.round(KEYS / 10))),
  BENCH_CALL_ROWS: setting('BENCH_CALL_ROWS'),
  BENCH_ANALYTICS_RUNS: Math.max(1, setting('BENCH_ANALYTICS_RUNS')),
  BENCH_C1_MAX_SECONDS: setting('BENCH_C1_MAX_SECONDS'),
  BENCH_MISS_MAX_SECONDS: setting('BENCH_MISS_MAX_SECONDS'),
  BENCH_WARMUP_REQUESTS: setting('BENCH_WARMUP_REQUESTS'),
  BENCH_STREAM_CHUNK_DELAY_MS: setting('BENCH_STREAM_CHUNK_DELAY_MS'),
  BENCH_SETTLE_SECONDS: setting('BENCH_SETTLE_SECONDS'),
  BENCH_LOG_LEVEL: process.env.BENCH_LOG_LEVEL || SETTINGS.BENCH_LOG_LEVEL.default,
};

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export const log = (text: string) =>
  console.log(`bench ${new Date().toISOString().slice(11, 19)} ${text}`);
