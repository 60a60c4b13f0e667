/**
 * Load generation and statistics: undici over one keep-alive Agent, loopback only. Every loop is
 * bounded in count and in time, and every request has a timeout.
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';

const REQUEST_TIMEOUT_MS = 30_000;

export const agent = new Agent({
  connections: 128,
  keepAliveTimeout: 10_000,
  headersTimeout: REQUEST_TIMEOUT_MS,
  bodyTimeout: REQUEST_TIMEOUT_MS,
});

export interface Reply {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

export async function http(
  url: string,
  method: 'GET' | 'POST',
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<Reply> {
  const res = await request(url, {
    method,
    dispatcher: agent,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
}

/** The reply's JSON; throws (with the status and the start of the body) unless the status is `status`. */
export function expectJson<T = any>(reply: Reply, status: number, what: string): T {
  if (reply.status !== status) {
    throw new Error(`${what}: HTTP ${reply.status} ${reply.text.slice(0, 300)}`);
  }
  return (reply.text ? JSON.parse(reply.text) : null) as T;
}

/**
 * A streamed POST read to the end. Returns the milliseconds to the first SSE `data:` event (the
 * first chunk); throws on a non-200 status or a stream that ends without `data: [DONE]`.
 */
export async function streamCall(
  url: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<number> {
  const t0 = performance.now();
  const res = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (res.statusCode !== 200) {
    const text = await res.body.text();
    throw new Error(`HTTP ${res.statusCode} ${text.slice(0, 200)}`);
  }
  let first = -1;
  let seen = '';
  for await (const chunk of res.body) {
    const text = seen + String(chunk);
    if (first < 0 && text.includes('data:')) first = performance.now() - t0;
    seen = text.slice(-64);
  }
  if (!seen.includes('[DONE]')) throw new Error('stream ended without data: [DONE]');
  return first;
}

// ---- statistics ----

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
function rank(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function stats(values: number[]): Stats | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    p50: rank(sorted, 50),
    p99: rank(sorted, 99),
    mean: sum / sorted.length,
    max: sorted[sorted.length - 1],
  };
}

// ---- concurrency 1 ----

/** One side of a sequential run; `send` returns the ms to the first chunk for a stream. */
export interface Side {
  name: string;
  send: () => Promise<number | void>;
}

export interface SideResult {
  name: string;
  latencies: number[];
  ttfc: number[];
  errors: number;
  errorSamples: string[];
}

export interface SequentialResult {
  rounds: number;
  seconds: number;
  /** The run stopped at its time limit before `n` rounds. */
  cutShort: boolean;
  sides: SideResult[];
}

/**
 * Concurrency 1: `n` rounds, each sending one request per side in turn (so the sides, e.g. a
 * target and the direct upstream, see the same machine noise), stopping at `maxSeconds` if the
 * count is not reached by then.
 */
export async function sequential(
  sides: Side[],
  n: number,
  maxSeconds: number,
): Promise<SequentialResult> {
  const results: SideResult[] = sides.map((s) => ({
    name: s.name,
    latencies: [],
    ttfc: [],
    errors: 0,
    errorSamples: [],
  }));
  const t0 = performance.now();
  const deadline = t0 + maxSeconds * 1000;
  let rounds = 0;
  while (rounds < n && performance.now() < deadline) {
    for (const [i, side] of sides.entries()) {
      const r = results[i];
      const start = performance.now();
      try {
        const first = await side.send();
        r.latencies.push(performance.now() - start);
        if (typeof first === 'number' && first >= 0) r.ttfc.push(first);
      } catch (err) {
        r.errors += 1;
        if (r.errorSamples.length < 3) r.errorSamples.push(String((err as Error).message ?? err));
      }
    }
    rounds += 1;
  }
  return { rounds, seconds: (performance.now() - t0) / 1000, cutShort: rounds < n, sides: results };
}

// ---- fixed time, N connections ----

export interface LoadResult {
  connections: number;
  seconds: number;
  ok: number;
  errors: number;
  rps: number;
  latency: Stats | null;
  errorSamples: string[];
}

export interface Worker {
  /** Untimed set-up before a request (e.g. opening the job the next calls go into). */
  prepare?: (worker: number) => Promise<void>;
  send: (worker: number, i: number) => Promise<unknown>;
}

/**
 * `connections` workers send back to back for `seconds` (after `warmupSeconds` not counted);
 * requests per second counts the successful ones over the measured window (requests started in
 * it; the window closes when the last of them ends). At most `maxRequests` in all.
 */
export async function fixedTime(
  worker: Worker,
  connections: number,
  seconds: number,
  warmupSeconds: number,
  maxRequests = 10_000_000,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let ok = 0;
  let errors = 0;
  let issued = 0;
  let next = 0;
  const begin = performance.now();
  const measureFrom = begin + warmupSeconds * 1000;
  const until = measureFrom + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, w) => {
      while (performance.now() < until && issued < maxRequests) {
        try {
          if (worker.prepare) await worker.prepare(w);
        } catch (err) {
          if (performance.now() >= measureFrom) errors += 1;
          if (errorSamples.length < 3) errorSamples.push(`prepare: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const start = performance.now();
        if (start >= until) break;
        const counted = start >= measureFrom;
        if (counted) issued += 1;
        try {
          await worker.send(w, next++);
          if (counted) {
            ok += 1;
            latencies.push(performance.now() - start);
          }
        } catch (err) {
          if (counted) errors += 1;
          if (errorSamples.length < 3) errorSamples.push(String((err as Error).message ?? err));
        }
      }
    }),
  );
  const window = Math.max(performance.now(), until) - measureFrom;
  return {
    connections,
    seconds: window / 1000,
    ok,
    errors,
    rps: ok / (window / 1000),
    latency: stats(latencies),
    errorSamples,
  };
}
