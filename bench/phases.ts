/** The cache-miss run and the organization analytics timings. */
import { performance } from 'node:perf_hooks';
import type { BenchTeam } from './books';
import { expectJson, http, sequential, stats } from './load';
import type { Report } from './report';
import { pricedChat } from './targets';

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** A step near 0.618 × n with no common factor with n: j ↦ j × step mod n visits all of 0…n−1. */
function coprimeStep(n: number): number {
  let step = Math.max(1, Math.round(n * 0.618));
  while (n > 1 && gcd(step, n) !== 1) step += 1;
  return step;
}

export interface CacheMissOptions {
  gateway: string;
  /** A consumption team holding `keys` bench keys; its own key is the warm one. */
  team: BenchTeam;
  keyOf: (i: number) => string;
  keys: number;
  missKeys: number;
  maxSeconds: number;
  warmup: number;
}

/** The cache-miss run takes every `stride`-th key row (so its keys spread over the whole table). */
const missStride = (o: CacheMissOptions) => Math.max(1, Math.floor(o.keys / o.missKeys));

/**
 * For the warm-up: first uses of keys the cache-miss run never takes (rows off its stride), so
 * the code of that path (key read from PostgreSQL, last_used_at batch) is compiled before the
 * gateway's memory is first read, as every other target's is. None when the run takes every key.
 */
export function spareFirstUses(o: CacheMissOptions, count: number): Array<() => Promise<void>> {
  const stride = missStride(o);
  if (stride < 2) return [];
  return Array.from({ length: Math.min(count, o.missKeys) }, (_, i) => async () => {
    await pricedChat(o.gateway, o.team, o.keyOf(i * stride + 1));
  });
}

/**
 * c=1, POST /v1/chat/completions: each round one request with a key never used before (taken
 * every keys/missKeys rows, so spread over the whole table) and one with the warm key.
 */
export async function cacheMissPhase(o: CacheMissOptions): Promise<Report['cacheMiss']> {
  const warm = () => pricedChat(o.gateway, o.team, o.team.key).then(() => undefined);
  for (let i = 0; i < o.warmup; i++) await warm();
  // Key j of the run is row ((j × step) mod missKeys) × stride: every key once, and whatever
  // prefix the time limit allows is still spread over the whole table.
  const stride = missStride(o);
  const step = coprimeStep(o.missKeys);
  let next = 0;
  const miss = async () => {
    const key = o.keyOf(((next++ * step) % o.missKeys) * stride);
    await pricedChat(o.gateway, o.team, key);
  };
  const run = await sequential(
    [
      { name: 'miss', send: miss },
      { name: 'warm', send: warm },
    ],
    o.missKeys,
    o.maxSeconds,
  );
  const [m, w] = run.sides;
  const ms = stats(m.latencies);
  const ws = stats(w.latencies);
  if (!ms || !ws) {
    return `not measured: no successful request (${m.errorSamples[0] ?? w.errorSamples[0] ?? ''})`;
  }
  return {
    keys: o.keys,
    missRequests: m.latencies.length + m.errors,
    missP50: ms.p50,
    missP99: ms.p99,
    warmP50: ws.p50,
    warmP99: ws.p99,
    errors: m.errors + w.errors,
    note: [
      run.cutShort
        ? `Stopped at the ${o.maxSeconds} s limit after ${run.rounds} of ${o.missKeys} keys.`
        : `${run.rounds} distinct keys used, one request each.`,
      m.errorSamples[0] ?? w.errorSamples[0] ?? '',
    ]
      .filter(Boolean)
      .join(' '),
  };
}

type Endpoints = Extract<Report['analytics'], object>['endpoints'];

/**
 * Each endpoint: one untimed warm-up (its time is reported as “first”, the cold figure), then
 * `runs` timed requests; stops early past 3 minutes per endpoint.
 */
export async function analyticsPhase(
  adminUrl: string,
  headers: Record<string, string>,
  org: string,
  expectedCalls: number,
  runs: number,
): Promise<Endpoints> {
  const out: Endpoints = [];
  for (const path of [
    `/api/organizations/${org}/usage`,
    `/api/jobs/organizations/${org}/analytics`,
  ]) {
    const endpoint = `GET ${path.replace(org, '{org}')}`;
    const deadline = performance.now() + 180_000;
    const times: number[] = [];
    let first = NaN;
    let note = '';
    for (let r = 0; r <= runs && performance.now() < deadline; r++) {
      const t0 = performance.now();
      const reply = await http(`${adminUrl}${path}`, 'GET', undefined, headers, 150_000);
      const ms = performance.now() - t0;
      const body = expectJson<any>(reply, 200, endpoint);
      if (r === 0) {
        first = ms;
        const calls = path.endsWith('/usage')
          ? body.totals?.calls
          : (body.by_team as Array<{ calls: number }>).reduce((s, t) => s + t.calls, 0);
        note =
          calls === expectedCalls
            ? `counts all ${calls} calls`
            : `counted ${calls} calls, expected ${expectedCalls}`;
      } else times.push(ms);
    }
    const s = stats(times);
    if (times.length < runs) note += `; ${times.length} of ${runs} runs within the time limit`;
    out.push({
      endpoint,
      runs: times.length,
      firstMs: first,
      p50Ms: s?.p50 ?? NaN,
      maxMs: s?.max ?? NaN,
      note,
    });
  }
  return out;
}
