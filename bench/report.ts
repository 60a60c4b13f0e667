/**
 * docs/performance.md and bench/results/latest.json from one run's figures, the targets of the
 * performance issue marked met / not met / not measured, and the ratios printed last.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Check } from './books';
import { SETTINGS } from './config';
import { MemoryDetail, RESULTS, ROOT } from './procs';

/** One line of the main table; null = not measured or not meaningful (the note says which). */
export interface Row {
  section: string;
  target: string;
  requests: number | null;
  rps: number | null;
  p50: number | null;
  p99: number | null;
  addedP50: number | null;
  addedP99: number | null;
  errors: number | null;
  note: string;
}

export interface Trips {
  target: string;
  requests: number;
  pgSync: number;
  pgDeferred: number;
  redisSync: number;
  redisDeferred: number;
  /** The run's sync PG statements (first words) and Redis commands, most frequent first. */
  syncByKind: Array<{ store: 'PG' | 'Redis'; kind: string; count: number }>;
}

export interface Report {
  meta: Record<string, string | number>;
  config: Record<string, number | string>;
  rows: Row[];
  trips: Trips[] | string;
  cacheMiss:
    | {
        keys: number;
        missRequests: number;
        missP50: number;
        missP99: number;
        warmP50: number;
        warmP99: number;
        errors: number;
        note: string;
      }
    | string;
  analytics:
    | {
        rows: number;
        jobs: number;
        ledgerRows: number;
        insertSeconds: number;
        vacuumSeconds: number;
        endpoints: Array<{
          endpoint: string;
          runs: number;
          firstMs: number;
          p50Ms: number;
          maxMs: number;
          note: string;
        }>;
      }
    | string;
  rss: Array<{
    process: string;
    ready: number | null;
    /** Right after the warm-up, as it runs. */
    afterWarmUp: number | null;
    /** After the warm-up and BENCH_SETTLE_SECONDS without requests, as it runs. */
    before: number | null;
    /** Right after the load, as it runs. */
    after: number | null;
    /** After BENCH_SETTLE_SECONDS without requests, as it runs. */
    settled: number | null;
    /** Highest RSS sampled during the load (every 500 ms). */
    peak: number | null;
    beforeGc: number | null;
    afterGc: number | null;
    heapBeforeGc: number | null;
    heapAfterGc: number | null;
  }>;
  /** Where the memory is (bench/query-counter.js `memory-detail`): latest.json only. */
  memoryDetail: Array<{
    process: string;
    beforeGc: MemoryDetail | null;
    justAfter: MemoryDetail | null;
    settledAfterGc: MemoryDetail | null;
  }>;
  books: Check[] | string;
  shutdown: Array<{ process: string; graceful: boolean; ms: number }>;
  /** Figures the targets are judged on (null = not measured; the reason is in `why`). */
  summary: {
    oneTeamTollgateRps: number | null;
    oneTeamErrors: number | null;
    portkeyRps: number | null;
    portkeyReason: string;
    directRps: number | null;
    eightTeamsRps: number | null;
    replicasRps: number | null;
    ttfcAddedP50: number | null;
    added: Array<{ target: string; p50: number | null; p99: number | null }>;
  };
  failures: string[];
}

const fmt = (n: number | null | undefined, digits = 2) =>
  n === null || n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits);
const rate = (n: number | null | undefined) => fmt(n, 0);
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

type Verdict = 'met' | 'not met' | 'not measured';
interface Target {
  target: string;
  measured: string;
  verdict: Verdict;
}

function judge(ok: boolean | null): Verdict {
  return ok === null ? 'not measured' : ok ? 'met' : 'not met';
}

function targets(r: Report): Target[] {
  const out: Target[] = [];
  const s = r.summary;
  if (typeof r.trips === 'string') {
    out.push({
      target: 'Synchronous PG round trips per metered call (hot path) = 0',
      measured: r.trips,
      verdict: 'not measured',
    });
  } else {
    const worst = Math.max(
      ...r.trips.filter((t) => t.target !== 'GET /v1/models/{model}').map((t) => t.pgSync),
    );
    out.push({
      target: 'Synchronous PG round trips per metered call (hot path) = 0',
      measured: r.trips
        .filter((t) => t.target !== 'GET /v1/models/{model}')
        .map((t) => `${t.target}: ${fmt(t.pgSync)}`)
        .join('; '),
      verdict: judge(Number.isFinite(worst) ? worst < 0.005 : null),
    });
  }
  for (const a of s.added) {
    out.push({
      target: `Added latency c=1 p50 ≤ 1 ms (${a.target})`,
      measured: `${fmt(a.p50)} ms`,
      verdict: judge(a.p50 === null ? null : a.p50 <= 1),
    });
    out.push({
      target: `Added latency c=1 p99 ≤ 3 ms (${a.target})`,
      measured: `${fmt(a.p99)} ms`,
      verdict: judge(a.p99 === null ? null : a.p99 <= 3),
    });
  }
  const booksExact = typeof r.books === 'string' ? null : r.books.every((c) => c.pass);
  const ratio =
    s.oneTeamTollgateRps !== null && s.portkeyRps ? s.oneTeamTollgateRps / s.portkeyRps : null;
  out.push({
    target: 'One team, 50 connections: ≥ 2 × Portkey req/s',
    measured:
      s.portkeyRps === null
        ? `Portkey unavailable (${s.portkeyReason}); Tollgate ${rate(s.oneTeamTollgateRps)} req/s`
        : `${rate(s.oneTeamTollgateRps)} vs ${rate(s.portkeyRps)} req/s (× ${fmt(ratio)})`,
    verdict: judge(ratio === null ? null : ratio >= 2),
  });
  out.push({
    target: 'One team, 50 connections: 0 errors',
    measured: `${s.oneTeamErrors ?? '–'} errors`,
    verdict: judge(s.oneTeamErrors === null ? null : s.oneTeamErrors === 0),
  });
  out.push({
    target: 'Books exact after the load',
    measured:
      typeof r.books === 'string'
        ? r.books
        : `${r.books.filter((c) => c.pass).length}/${r.books.length} checks pass`,
    verdict: judge(booksExact),
  });
  out.push({
    target: 'Streaming time to first chunk added ≤ 1 ms p50',
    measured: `${fmt(s.ttfcAddedP50)} ms`,
    verdict: judge(s.ttfcAddedP50 === null ? null : s.ttfcAddedP50 <= 1),
  });
  if (typeof r.cacheMiss === 'string') {
    out.push({
      target: 'Cache-miss p50 ≤ 2 × warm p50',
      measured: r.cacheMiss,
      verdict: 'not measured',
    });
  } else {
    const m = r.cacheMiss;
    out.push({
      target: 'Cache-miss p50 ≤ 2 × warm p50',
      measured: `${fmt(m.missP50)} vs ${fmt(m.warmP50)} ms (× ${fmt(m.missP50 / m.warmP50)})`,
      verdict: judge(m.missRequests > 0 ? m.missP50 <= 2 * m.warmP50 : null),
    });
  }
  if (typeof r.analytics === 'string') {
    out.push({ target: 'Org analytics < 500 ms', measured: r.analytics, verdict: 'not measured' });
  } else {
    for (const e of r.analytics.endpoints) {
      out.push({
        target: `Org analytics < 500 ms (${e.endpoint})`,
        measured: `p50 ${fmt(e.p50Ms, 0)} ms`,
        verdict: judge(e.runs > 0 ? e.p50Ms < 500 : null),
      });
    }
  }
  for (const m of r.rss) {
    const pct = (a: number | null, b: number | null) =>
      a && b ? `${b >= a ? '+' : ''}${fmt(((b - a) / a) * 100, 1)} %` : '–';
    const change = m.beforeGc && m.afterGc ? (m.afterGc - m.beforeGc) / m.beforeGc : null;
    out.push({
      target: `Gateway RSS flat ± 10 % (${m.process})`,
      measured:
        `after a full collection ${fmt(m.beforeGc, 1)} → ${fmt(m.afterGc, 1)} MB (${pct(m.beforeGc, m.afterGc)}); ` +
        `as it runs, settled ${fmt(m.before, 1)} → ${fmt(m.settled, 1)} MB (${pct(m.before, m.settled)}); ` +
        `right after the load ${fmt(m.after, 1)}, peak ${fmt(m.peak, 1)}`,
      verdict: judge(change === null ? null : Math.abs(change) <= 0.1),
    });
  }
  return out;
}

export function ratios(r: Report): string[] {
  const s = r.summary;
  const div = (a: number | null, b: number | null) =>
    a !== null && b ? fmt(a / b) : 'not measured';
  const lines = [
    `Tollgate/Portkey req/s one team: ${s.portkeyRps === null ? `not measured (Portkey unavailable: ${s.portkeyReason})` : div(s.oneTeamTollgateRps, s.portkeyRps)}`,
    `Tollgate/direct upstream req/s one team: ${div(s.oneTeamTollgateRps, s.directRps)}`,
    `Tollgate ${r.config.BENCH_TEAMS} teams/one team req/s: ${div(s.eightTeamsRps, s.oneTeamTollgateRps)}`,
    `Tollgate 2 replicas/1 replica req/s: ${div(s.replicasRps, s.oneTeamTollgateRps)}`,
  ];
  if (typeof r.cacheMiss !== 'string') {
    lines.push(`Cache-miss/warm p50: ${div(r.cacheMiss.missP50, r.cacheMiss.warmP50)}`);
  }
  for (const m of r.rss) {
    lines.push(
      `RSS after/before, after a full collection (${m.process}): ${div(m.afterGc, m.beforeGc)}`,
    );
  }
  return lines;
}

const HOW_TO_RUN = [
  '## How to run',
  '',
  '```sh',
  'npm run bench   # the full run: builds if needed, under 10 minutes on 2 cores',
  '# a quick smoke run:',
  'BENCH_SECONDS=2 BENCH_REQUESTS=200 BENCH_KEYS=10000 BENCH_CALL_ROWS=100000 npm run bench',
  '```',
  '',
  'Settings (environment variables; bench/config.ts):',
  '',
  '| Variable | Default | What |',
  '|---|--:|---|',
  ...Object.entries(SETTINGS).map(
    ([name, s]) => `| \`${name}\` | ${s.default ?? '–'} | ${s.about} |`,
  ),
  '',
  '`BENCH_PORTKEY=0` leaves Portkey out; `BENCH_PG_PORT` / `BENCH_REDIS_PORT` pick the private',
  "servers' ports (default: free ones); `BENCH_KEEP_DATA=1` keeps the PostgreSQL data dir;",
  '`BENCH_PG_OPTIONS` adds server settings (e.g. `-c shared_preload_libraries=pg_stat_statements`);',
  '`BENCH_CPU_PROF=1` writes CPU profiles of the gateways to bench/results/. Each process',
  'logs to bench/results/<name>.log.',
  '',
];

const METHOD = [
  '## Method',
  '',
  '- One process tree: scripts/bench.sh starts a private PostgreSQL (own data dir under .bench/,',
  '  own port, `fsync=on`, `synchronous_commit=on`) and a private Redis (no persistence), then',
  '  bench/run.ts starts the fake upstream (test/fake-upstream, answering at once), admin-api,',
  '  two team-gateway replicas A and B (the built dist, `NODE_ENV=production`) and Portkey, all on',
  '  127.0.0.1, and stops them all at the end.',
  '- The load generator is the bench/run.ts process itself (undici, one keep-alive Agent). It',
  '  shares the cores with everything it measures: the direct-upstream row is bounded by the',
  '  client as much as by the upstream.',
  '- Targets: **chat** = `POST /v1/chat/completions` without `X-Job-Id` (each request is a',
  '  one-call job); **stream** = the same with `stream: true` (model `bench-stream`, whose chunks',
  '  the fake spaces by `BENCH_STREAM_CHUNK_DELAY_MS`); **llm-call** = `POST',
  '  /api/jobs/{id}/llm-call`, `BENCH_CALLS_PER_JOB` calls per job, jobs opened before the timer',
  '  starts and completed after the load; **Portkey** = `POST /v1/chat/completions` on',
  '  `@portkey-ai/gateway` with `x-portkey-provider: openai` and `x-portkey-custom-host` the fake.',
  '- Spread over teams: worker w sends its k-th request with the key of team (w + k) mod',
  '  `BENCH_TEAMS`; two replicas: the same over gateways A and B, one team.',
  '- Time to first chunk: from sending the request to the first SSE `data:` bytes received.',
  '- Percentiles are nearest-rank over every request of the run; “added” = target − direct,',
  '  the two measured in alternation over the same rounds.',
  '',
];

function markdown(r: Report): string {
  const m = r.meta;
  const out: string[] = [];
  out.push('# Performance', '');
  out.push(
    'Written by `npm run bench` (scripts/bench.sh, bench/*.ts) — do not edit by hand; run it again.',
    'Every figure below was measured in the run described here; a cell with “–” was not measured',
    '(the note says why). On a shared machine the absolute numbers move from run to run; the',
    'comparisons are made in the same run, against the same upstream, interleaved where possible.',
    '',
  );
  out.push(...HOW_TO_RUN, ...METHOD);
  out.push('## Machine and run', '');
  for (const [k, v] of Object.entries(m)) out.push(`- ${k}: ${String(v)}`);
  out.push('', 'Settings of this run:', '');
  out.push(
    Object.entries(r.config)
      .map(([k, v]) => `\`${k}=${v}\``)
      .join(', '),
    '',
  );
  if (r.failures.length) {
    out.push('**Parts of the run that failed** (their rows are missing or say why):', '');
    for (const f of r.failures) out.push(`- ${cell(f)}`);
    out.push('');
  }

  out.push('## Latency and throughput', '');
  out.push(
    'c=1: requests one at a time, each round sending the target then the direct upstream, so',
    '“added” is target − direct over the same rounds. 50 connections: 50 workers back to back for',
    'the fixed time; req/s counts successful answers. Times in ms.',
    '',
  );
  out.push(
    '| Row | Target | Requests | req/s | p50 | p99 | added p50 | added p99 | errors | note |',
  );
  out.push('|---|---|--:|--:|--:|--:|--:|--:|--:|---|');
  for (const row of r.rows) {
    out.push(
      `| ${row.section} | ${row.target} | ${row.requests ?? '–'} | ${rate(row.rps)} | ${fmt(row.p50)} | ${fmt(row.p99)} | ${fmt(row.addedP50)} | ${fmt(row.addedP99)} | ${row.errors ?? '–'} | ${cell(row.note)} |`,
    );
  }
  out.push('');

  out.push('## Database and Redis round trips per call (c=1, gateway A)', '');
  if (typeof r.trips === 'string') out.push(r.trips, '');
  else {
    out.push(
      'Counted in the gateway process by bench/query-counter.js (every `pg` query, every ioredis',
      'command). “sync” = started while the request was open (received, response not finished):',
      'an upper bound on the round trips the request waited on. “deferred” = started when no request',
      'was open (write-behind, background sweeps and refreshes), per call. Each target is counted',
      'in a c=1 pass of its own after the latency runs: telling the two apart takes an',
      'AsyncLocalStorage entry per request, whose promise hooks would cost every measured call CPU.',
      'Each pass starts after a few uncounted calls: the floor rows before it leave the team idle',
      'for longer than `LEASE_IDLE_MS`, so its lease has gone back, and a team’s first calls on a',
      'replica without a lease take the exact path (hold and settle in SQL) until the grant lands.',
      '',
      '| Target | requests | PG sync | PG deferred | Redis sync | Redis deferred |',
      '|---|--:|--:|--:|--:|--:|',
    );
    for (const t of r.trips) {
      out.push(
        `| ${t.target} | ${t.requests} | ${fmt(t.pgSync)} | ${fmt(t.pgDeferred)} | ${fmt(t.redisSync)} | ${fmt(t.redisDeferred)} |`,
      );
    }
    out.push('');
    const withSync = r.trips.filter((t) => t.syncByKind.length > 0);
    if (withSync.length > 0) {
      out.push(
        'What the sync round trips were: PG statements by their first words, Redis commands by',
        'name (counts over the whole run, at most 8 per target).',
        '',
        '| Target | store | statement / command | count |',
        '|---|---|---|--:|',
      );
      for (const t of withSync) {
        for (const s of t.syncByKind.slice(0, 8)) {
          out.push(
            `| ${t.target} | ${s.store} | \`${s.kind.replace(/\|/g, '\\|')}\` | ${s.count} |`,
          );
        }
      }
      out.push('');
    }
  }

  out.push('## Cache-miss path', '');
  if (typeof r.cacheMiss === 'string') out.push(r.cacheMiss, '');
  else {
    const c = r.cacheMiss;
    out.push(
      `${c.keys} virtual keys in one team (inserted in SQL); ${c.missRequests} requests at c=1 on`,
      'POST /v1/chat/completions, each with a key not used before (so neither the process cache nor',
      'Redis has it), spread over the table; interleaved with requests of one warm key of the same team.',
      '',
      '| | p50 ms | p99 ms |',
      '|---|--:|--:|',
      `| miss (first use of a key) | ${fmt(c.missP50)} | ${fmt(c.missP99)} |`,
      `| warm (one key) | ${fmt(c.warmP50)} | ${fmt(c.warmP99)} |`,
      '',
      `Errors: ${c.errors}. ${c.note}`,
      '',
    );
  }

  out.push('## Organization analytics', '');
  if (typeof r.analytics === 'string') out.push(r.analytics, '');
  else {
    const a = r.analytics;
    out.push(
      `${a.rows} llm_calls rows (${a.jobs} jobs, ${a.ledgerRows} ledger rows) of one organization over`,
      `30 days, inserted with generate_series in ${fmt(a.insertSeconds, 1)} s, then VACUUM ANALYZE`,
      `(${fmt(a.vacuumSeconds, 1)} s). Timed on admin-api after the load, one untimed warm-up each.`,
      '',
      '| Endpoint | runs | first (cold) ms | p50 ms | max ms | note |',
      '|---|--:|--:|--:|--:|---|',
    );
    for (const e of a.endpoints) {
      out.push(
        `| ${e.endpoint} | ${e.runs} | ${fmt(e.firstMs, 0)} | ${fmt(e.p50Ms, 0)} | ${fmt(e.maxMs, 0)} | ${cell(e.note)} |`,
      );
    }
    out.push('');
  }

  out.push('## Gateway memory (MB)', '');
  out.push(
    'Both ends are read the same way, each after a settle period of',
    `${r.config.BENCH_SETTLE_SECONDS} s without requests: “before” after the warm-up (every target on both replicas, first`,
    'uses of keys the cache-miss run leaves alone, then a short run at full concurrency, so',
    'connection pools are open and every path has run), “after” once the load is over',
    'and the llm-call jobs are completed. A few seconds after the allocation rate drops V8’s',
    'memory reducer shrinks the young generation (up to 32 MB committed under load) and frees',
    'old-space pages, so a reading right after a burst and one after a quiet spell differ by',
    'tens of MB whichever way the comparison goes; the settle makes the two ends like for like.',
    'At each end RSS is read as the process runs, then after a forced full collection run twice',
    '(the pages the first one frees are unmapped by the second; the gateways run with',
    '--expose-gc for this reading only). The target is judged on RSS after that collection, before',
    'vs after: what the process retains between bursts (growth there is a leak, an unbounded',
    'cache, or memory the allocator keeps). The as-running figures right after the warm-up and',
    'right after the load, and the peak sampled every 500 ms during the load, are what a',
    'container limit must allow for. Where the memory is (process.memoryUsage, V8 heap spaces,',
    '/proc/<pid>/smaps by kind of mapping) is in bench/results/latest.json, `memoryDetail`.',
    '',
    '| Process | RSS at ready | right after the warm-up | before (settled) | peak during the load | right after the load | after (settled) | before, after GC | after, after GC | heap before, after GC | heap after, after GC |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const x of r.rss) {
    out.push(
      `| ${x.process} | ${fmt(x.ready, 1)} | ${fmt(x.afterWarmUp, 1)} | ${fmt(x.before, 1)} | ${fmt(x.peak, 1)} | ${fmt(x.after, 1)} | ${fmt(x.settled, 1)} | ${fmt(x.beforeGc, 1)} | ${fmt(x.afterGc, 1)} | ${fmt(x.heapBeforeGc, 1)} | ${fmt(x.heapAfterGc, 1)} |`,
    );
  }
  out.push('');
  if (r.shutdown.length) {
    out.push(
      'Graceful stop (SIGTERM, wait for exit): ' +
        r.shutdown
          .map((s) => `${s.process} ${s.graceful ? 'exited 0' : 'NOT graceful'} in ${s.ms} ms`)
          .join('; ') +
        '.',
      '',
    );
  }

  out.push('## Books after the load', '');
  out.push(
    'Budget modes: the load teams are `job_based`, where every completed job costs exactly one',
    'credit, so the client can count what it should be charged (one per one-call job it saw succeed,',
    'one per llm-call job it completed with a successful call). The cache-miss team is',
    '`consumption_usd` (1,000 credits per dollar, no markup): the client prices every answer from',
    'the usage it received, rounded up per call, and the database is repriced from the stored',
    'tokens. Checked once every gateway has exited after SIGTERM.',
    '',
  );
  if (typeof r.books === 'string') out.push(r.books, '');
  else {
    out.push('| Team | Check | Result | Detail |', '|---|---|---|---|');
    for (const c of r.books)
      out.push(
        `| ${cell(c.team)} | ${cell(c.check)} | ${c.pass ? 'PASS' : 'FAIL'} | ${cell(c.detail)} |`,
      );
    out.push('');
  }

  out.push('## Targets', '');
  out.push('| Target | Measured | Verdict |', '|---|---|---|');
  for (const t of targets(r))
    out.push(`| ${cell(t.target)} | ${cell(t.measured)} | ${t.verdict} |`);
  out.push('', '## Ratios', '');
  for (const line of ratios(r)) out.push(`- ${line}`);
  out.push('');
  return out.join('\n');
}

export function writeReport(r: Report): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(
    join(RESULTS, 'latest.json'),
    `${JSON.stringify({ ...r, targets: targets(r), ratios: ratios(r) }, null, 2)}\n`,
  );
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(join(ROOT, 'docs/performance.md'), markdown(r));
}

/** The console summary: the main table, books, targets, and the ratios last. */
export function printReport(r: Report): void {
  const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
  console.log('');
  for (const row of r.rows) {
    console.log(
      `${pad(row.section, 26)} ${pad(row.target, 30)} req/s ${pad(rate(row.rps), 6)} p50 ${pad(fmt(row.p50), 7)} p99 ${pad(fmt(row.p99), 7)} +p50 ${pad(fmt(row.addedP50), 6)} +p99 ${pad(fmt(row.addedP99), 6)} err ${row.errors ?? '–'}${row.note ? `  (${row.note})` : ''}`,
    );
  }
  if (typeof r.books !== 'string') {
    console.log('');
    for (const c of r.books)
      console.log(`${c.pass ? 'PASS' : 'FAIL'} ${c.team}: ${c.check} (${c.detail})`);
  }
  console.log('');
  for (const t of targets(r)) console.log(`${pad(t.verdict, 12)} ${t.target}: ${t.measured}`);
  if (r.failures.length) {
    console.log('');
    for (const f of r.failures) console.log(`FAILED PART: ${f}`);
  }
  console.log('');
  for (const line of ratios(r)) console.log(line);
}
