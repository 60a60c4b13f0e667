/** The benchmark's settings: BENCH_* environment variables, with the full run's defaults. */

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    throw new Error(`${name} must be a non-negative number, got ${raw}`);
  }
  return n;
}

const KEYS = setting('BENCH_KEYS', 100_000);

export const CFG = {
  /** Requests per target at concurrency 1. */
  BENCH_REQUESTS: setting('BENCH_REQUESTS', 1000),
  /** Measured seconds of each fixed-time run at BENCH_CONNECTIONS. */
  BENCH_SECONDS: setting('BENCH_SECONDS', 10),
  /** Unmeasured seconds before each fixed-time run. */
  BENCH_WARMUP_SECONDS: setting('BENCH_WARMUP_SECONDS', 1),
  BENCH_CONNECTIONS: Math.max(1, setting('BENCH_CONNECTIONS', 50)),
  /** Teams the spread runs go over (keys round robin). */
  BENCH_TEAMS: Math.max(1, setting('BENCH_TEAMS', 8)),
  /** llm-call: calls per job before the next job is opened. */
  BENCH_CALLS_PER_JOB: Math.max(1, setting('BENCH_CALLS_PER_JOB', 100)),
  /** Virtual keys inserted for the cache-miss run. */
  BENCH_KEYS: KEYS,
  /** Keys the cache-miss run uses, one request each (default a tenth of BENCH_KEYS). */
  BENCH_MISS_KEYS: Math.min(KEYS, setting('BENCH_MISS_KEYS', Math.round(KEYS / 10))),
  /** llm_calls rows inserted for the organization analytics. */
  BENCH_CALL_ROWS: setting('BENCH_CALL_ROWS', 1_000_000),
  /** Timed requests per analytics endpoint (after one untimed). */
  BENCH_ANALYTICS_RUNS: Math.max(1, setting('BENCH_ANALYTICS_RUNS', 3)),
  /** Time limit of each concurrency-1 run. */
  BENCH_C1_MAX_SECONDS: setting('BENCH_C1_MAX_SECONDS', 40),
  /** Time limit of the cache-miss run. */
  BENCH_MISS_MAX_SECONDS: setting('BENCH_MISS_MAX_SECONDS', 75),
  /** Warm-up requests per target and gateway before anything is measured. */
  BENCH_WARMUP_REQUESTS: setting('BENCH_WARMUP_REQUESTS', 50),
  /** Delay between the fake upstream's stream chunks (model bench-stream). */
  BENCH_STREAM_CHUNK_DELAY_MS: setting('BENCH_STREAM_CHUNK_DELAY_MS', 1),
  /** LOG_LEVEL of admin-api and the gateways. */
  BENCH_LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'warn',
};

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export const log = (text: string) =>
  console.log(`bench ${new Date().toISOString().slice(11, 19)} ${text}`);
