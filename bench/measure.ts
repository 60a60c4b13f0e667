/**
 * The latency and throughput rows: warm-up, concurrency 1 (each target interleaved with the
 * direct upstream, database round trips counted on gateway A), and fixed-time runs at
 * BENCH_CONNECTIONS for one team, spread over teams, and over two replicas.
 */
import type { BenchTeam } from './books';
import { CFG, round } from './config';
import {
  expectJson,
  fixedTime,
  http,
  LoadResult,
  sequential,
  SequentialResult,
  Side,
  stats,
  Worker,
} from './load';
import { countersOf, setCounting } from './procs';
import type { Report, Row, Trips } from './report';
import type { Bench } from './setup';
import * as T from './targets';

const blank = {
  requests: null,
  rps: null,
  p50: null,
  p99: null,
  addedP50: null,
  addedP99: null,
  errors: null,
};

export const unavailableRow = (section: string, target: string, note: string): Row => ({
  section,
  target,
  ...blank,
  note,
});

/** Side 0 is the target; side 1 (if any) the direct upstream it is compared with. */
function c1Row(section: string, target: string, run: SequentialResult, ttfc = false): Row {
  const [side, base] = run.sides;
  const own = stats(ttfc ? side.ttfc : side.latencies);
  const ref = base ? stats(ttfc ? base.ttfc : base.latencies) : null;
  const notes = [
    run.cutShort
      ? `stopped at the ${CFG.BENCH_C1_MAX_SECONDS} s limit after ${run.rounds} rounds`
      : '',
    side.errorSamples[0] ?? '',
    base?.errors ? `direct errors ${base.errors}` : '',
  ];
  return {
    section,
    target,
    requests: side.latencies.length + side.errors,
    rps: null,
    p50: own?.p50 ?? null,
    p99: own?.p99 ?? null,
    addedP50: own && ref ? own.p50 - ref.p50 : null,
    addedP99: own && ref ? own.p99 - ref.p99 : null,
    errors: side.errors,
    note: notes.filter(Boolean).join('; '),
  };
}

function loadRow(section: string, target: string, r: LoadResult): Row {
  return {
    section,
    target,
    requests: r.ok + r.errors,
    rps: r.rps,
    p50: r.latency?.p50 ?? null,
    p99: r.latency?.p99 ?? null,
    addedP50: null,
    addedP99: null,
    errors: r.errors,
    note: r.errorSamples[0] ?? '',
  };
}

const health = (gw: string) => async () =>
  void expectJson(await http(`${gw}/health`, 'GET'), 200, '/health');
const models = (gw: string, team: BenchTeam) => async () =>
  void expectJson(
    await http(`${gw}/v1/models/bench-model`, 'GET', undefined, T.bearer(team.key)),
    200,
    '/v1/models/bench-model',
  );

type Kind = 'chat' | 'stream' | 'llm-call';
const LABEL: Record<Kind, string> = {
  chat: 'Tollgate chat (non-stream)',
  stream: 'Tollgate chat stream',
  'llm-call': 'Tollgate job llm-call',
};

/**
 * BENCH_CONNECTIONS workers; worker w's k-th request goes to team (w + k) mod teams on gateway
 * (w + k) mod gateways. llm-call slots (worker, team) open their jobs untimed, in `prepare`.
 */
function workerFor(
  kind: Kind,
  slotPrefix: string,
  gws: string[],
  pool: BenchTeam[],
  jobs: T.JobPool,
): Worker {
  const k = new Array<number>(CFG.BENCH_CONNECTIONS).fill(0);
  const pick = (w: number) => ({
    gw: gws[(w + k[w]) % gws.length],
    team: pool[(w + k[w]) % pool.length],
  });
  if (kind === 'llm-call') {
    return {
      prepare: (w) => {
        const { gw, team } = pick(w);
        return jobs.ensure(`${slotPrefix}:${w}:${team.id}`, gw, team);
      },
      send: async (w) => {
        const { gw, team } = pick(w);
        k[w] += 1;
        await jobs.call(`${slotPrefix}:${w}:${team.id}`, gw);
      },
    };
  }
  return {
    send: async (w) => {
      const { gw, team } = pick(w);
      k[w] += 1;
      await (kind === 'chat' ? T.chat(gw, team) : T.chatStream(gw, team))();
    },
  };
}

/**
 * JIT, pools, caches: every target on both replicas at c=1, then a short mixed run at
 * BENCH_CONNECTIONS, so the "before" memory figure already has the connection pools filled.
 */
export async function warmUp(
  b: Bench,
  jobs: T.JobPool,
  firstUses: Array<() => Promise<void>> = [],
): Promise<void> {
  const direct = T.direct(b.upstreamUrl);
  const directStream = T.directStream(b.upstreamUrl);
  for (let i = 0; i < CFG.BENCH_WARMUP_REQUESTS; i++) {
    await firstUses[i]?.();
    for (const gw of [b.A, b.B]) {
      await T.chat(gw, b.one)();
      await T.chatStream(gw, b.one)();
      await jobs.ensure('warm', gw, b.one);
      await jobs.call('warm', gw);
      await models(gw, b.one)();
    }
    await direct();
    await directStream();
    // Portkey's failures show in its own rows; they must not stop the warm-up
    if (b.pk.available) await T.portkey(b.pk.url, b.pk.headers)().catch(() => undefined);
  }
  for (const kind of ['chat', 'stream', 'llm-call'] as const) {
    await fixedTime(
      workerFor(kind, 'warm', [b.A, b.B], [b.one, ...b.many], jobs),
      CFG.BENCH_CONNECTIONS,
      Math.max(0.5, CFG.BENCH_WARMUP_SECONDS),
      0,
    );
  }
}

export async function concurrencyOne(b: Bench, jobs: T.JobPool, report: Report): Promise<void> {
  const n = CFG.BENCH_REQUESTS;
  const limit = CFG.BENCH_C1_MAX_SECONDS;
  const direct = T.direct(b.upstreamUrl);
  const trips: Trips[] = [];
  /** Uncounted calls before each counting pass. */
  const countWarmup = Math.min(10, CFG.BENCH_WARMUP_REQUESTS);
  /**
   * The round trips of `send` on gateway A: a pass of its own after the latency run, with the
   * query counter's request tracking on only for it (its hooks would cost every call CPU).
   */
  const countTrips = async (target: string, send: Side['send']): Promise<void> => {
    // the hot path: the team's lease back first (given back while the floor rows ran)
    for (let i = 0; i < countWarmup; i++) await send();
    if (!(await setCounting(b.gwA, true))) return;
    const before = await countersOf(b.gwA);
    const run = await sequential([{ name: target, send }], n, limit);
    const after = await countersOf(b.gwA);
    await setCounting(b.gwA, false);
    if (before && after) {
      const per = (c: 'pgOpen' | 'pgIdle' | 'redisOpen' | 'redisIdle') =>
        round((after[c] - before[c]) / Math.max(1, run.rounds), 3);
      const byKind = (store: 'PG' | 'Redis', c: 'pgOpenByStatement' | 'redisOpenByCommand') =>
        Object.entries(after[c]).map(([kind, n]) => ({
          store,
          kind,
          count: n - (before[c][kind] ?? 0),
        }));
      const statements = [
        ...byKind('PG', 'pgOpenByStatement'),
        ...byKind('Redis', 'redisOpenByCommand'),
      ]
        .filter((s) => s.count > 0)
        .sort((a, b) => b.count - a.count);
      trips.push({
        target,
        requests: run.rounds,
        pgSync: per('pgOpen'),
        pgDeferred: per('pgIdle'),
        redisSync: per('redisOpen'),
        redisDeferred: per('redisIdle'),
        syncByKind: statements,
      });
    }
  };
  const S = 'c=1';
  const rows = report.rows;
  rows.push(
    c1Row(S, 'Direct upstream', await sequential([{ name: 'direct', send: direct }], n, limit)),
  );

  const chatRun = await sequential(
    [
      { name: 'chat', send: T.chat(b.A, b.one) },
      { name: 'direct', send: direct },
    ],
    n,
    limit,
  );
  const chat = c1Row(S, LABEL.chat, chatRun);
  rows.push(chat);

  const streamRun = await sequential(
    [
      { name: 'stream', send: T.chatStream(b.A, b.one) },
      { name: 'direct', send: T.directStream(b.upstreamUrl) },
    ],
    n,
    limit,
  );
  rows.push(c1Row(S, 'Tollgate chat stream (whole stream)', streamRun));
  const ttfc = c1Row(S, 'Tollgate stream: time to first chunk', streamRun, true);
  rows.push(ttfc);

  // the counting pass's jobs too, so that it counts calls only
  await jobs.precreate('c1', b.A, b.one, 2 * n + countWarmup);
  const llmCall = async () => {
    await jobs.ensure('c1', b.A, b.one);
    await jobs.call('c1', b.A);
  };
  const llmRun = await sequential(
    [
      { name: 'llm-call', send: llmCall },
      { name: 'direct', send: direct },
    ],
    n,
    limit,
  );
  const llm = c1Row(S, LABEL['llm-call'], llmRun);
  rows.push(llm);

  if (b.pk.available) {
    const pkRun = await sequential(
      [
        { name: 'portkey', send: T.portkey(b.pk.url, b.pk.headers) },
        { name: 'direct', send: direct },
      ],
      n,
      limit,
    );
    rows.push(c1Row(S, 'Portkey (non-stream)', pkRun));
  } else rows.push(unavailableRow(S, 'Portkey (non-stream)', `unavailable (${b.pk.reason})`));
  rows.push(
    unavailableRow(
      S,
      'Portkey stream',
      'left out: Portkey 1.15.2 streaming fails (TypeError: immutable, upstream issue 1550)',
    ),
  );

  const F = 'c=1 floor (added n/a)';
  rows.push(
    c1Row(
      F,
      'GET /health (no auth)',
      await sequential([{ name: 'health', send: health(b.A) }], n, limit),
    ),
  );
  const modelsRun = await sequential([{ name: 'models', send: models(b.A, b.one) }], n, limit);
  rows.push(c1Row(F, 'GET /v1/models/{model} (auth + routing, no upstream)', modelsRun));

  await countTrips('POST /v1/chat/completions', T.chat(b.A, b.one));
  await countTrips('POST /v1/chat/completions (stream)', T.chatStream(b.A, b.one));
  await countTrips(`POST /api/jobs/{id}/llm-call (${CFG.BENCH_CALLS_PER_JOB} calls/job)`, llmCall);
  await countTrips('GET /v1/models/{model}', models(b.A, b.one));

  report.trips = trips.length
    ? trips
    : 'not measured: the gateway did not answer the query-counter IPC';
  report.summary.ttfcAddedP50 = ttfc.addedP50;
  report.summary.added = [
    { target: 'chat non-stream', p50: chat.addedP50, p99: chat.addedP99 },
    { target: 'job llm-call', p50: llm.addedP50, p99: llm.addedP99 },
  ];
}

export async function connections(b: Bench, jobs: T.JobPool, report: Report): Promise<void> {
  const C = CFG.BENCH_CONNECTIONS;
  const timed = (w: Worker) => fixedTime(w, C, CFG.BENCH_SECONDS, CFG.BENCH_WARMUP_SECONDS);
  const one = `${C} conns, one team`;
  const spread = `${C} conns, ${b.many.length} teams`;
  const replicas = `${C} conns, 2 replicas`;
  const rows = report.rows;

  const direct = await timed({ send: T.direct(b.upstreamUrl) });
  rows.push(loadRow(one, 'Direct upstream', direct));
  report.summary.directRps = direct.ok > 0 ? direct.rps : null;
  if (b.pk.available) {
    const p = await timed({ send: T.portkey(b.pk.url, b.pk.headers) });
    rows.push(loadRow(one, 'Portkey (non-stream)', p));
    report.summary.portkeyRps = p.ok > 0 ? p.rps : null;
    if (p.ok === 0)
      report.summary.portkeyReason = `no successful request (${p.errorSamples[0] ?? ''})`;
  } else rows.push(unavailableRow(one, 'Portkey (non-stream)', `unavailable (${b.pk.reason})`));

  const scenarios: Array<[string, string[], BenchTeam[]]> = [
    [one, [b.A], [b.one]],
    [spread, [b.A], b.many],
    [replicas, [b.A, b.B], [b.one]],
  ];
  for (const [name, gws, pool] of scenarios) {
    for (const kind of ['chat', 'stream', 'llm-call'] as const) {
      const r = await timed(workerFor(kind, name, gws, pool, jobs));
      rows.push(loadRow(name, LABEL[kind], r));
      if (kind !== 'chat') continue;
      if (name === one) {
        report.summary.oneTeamTollgateRps = r.rps;
        report.summary.oneTeamErrors = r.errors;
      } else if (name === spread) report.summary.eightTeamsRps = r.rps;
      else report.summary.replicasRps = r.rps;
    }
  }
  const F = `${C} conns floor`;
  rows.push(loadRow(F, 'GET /health (no auth)', await timed({ send: health(b.A) })));
  rows.push(
    loadRow(
      F,
      'GET /v1/models/{model} (auth + routing, no upstream)',
      await timed({ send: models(b.A, b.one) }),
    ),
  );
}
