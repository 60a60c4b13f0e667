/**
 * `npm run bench` (started by scripts/bench.sh, which builds, installs Portkey for the
 * comparison and starts a private PostgreSQL with fsync=on and a private Redis): boots the built
 * admin-api and two team-gateway replicas as real processes, the fake upstream and Portkey beside
 * them, and measures in one run what the performance issue asks for — latency added at
 * concurrency 1, throughput at 50 connections (one team, 8 teams, two replicas), time to first
 * stream chunk, database round trips per call, the cache-miss path over 100,000 keys,
 * organization analytics over 1,000,000 calls and the gateways' memory — then stops the gateways
 * gracefully, checks the books, and writes docs/performance.md and bench/results/latest.json.
 * Every figure is measured in this run; what could not be measured says so.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkBooks } from './books';
import { CFG, log } from './config';
import { agent } from './load';
import { concurrencyOne, connections, warmUp } from './measure';
import { analyticsPhase, cacheMissPhase, spareFirstUses } from './phases';
import { PORTKEY_VERSION } from './portkey';
import {
  killAllNow,
  markStopping,
  memoryDetailOf,
  memoryOf,
  RESULTS,
  rssMb,
  samplePeakRss,
  stopAll,
  stopGracefully,
} from './procs';
import { printReport, Report, writeReport } from './report';
import { benchKey, CallHistory, insertCallHistory, insertKeys } from './seed';
import { setUp } from './setup';
import { JobPool } from './targets';

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    return 'unknown';
  }
}

function newReport(): Report {
  return {
    meta: {
      date: new Date().toISOString(),
      'nproc (cores)': cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
      node: process.version,
      redis: /v=(\S+)/.exec(sh('redis-server', ['--version']))?.[1] ?? 'unknown',
      'load average at start (1/5/15 min)': loadavg()
        .map((l) => l.toFixed(2))
        .join(' / '),
      commit: `${sh('git', ['rev-parse', '--short', 'HEAD'])}${sh('git', ['status', '--porcelain', '--', 'apps', 'libs', 'bench']) ? ' (with uncommitted changes)' : ''}`,
      command: `${process.env.BENCH_USER_ENV ? `${process.env.BENCH_USER_ENV} ` : ''}npm run bench`,
      portkey: `@portkey-ai/gateway ${PORTKEY_VERSION} (NODE_ENV=production, --headless)`,
    },
    config: CFG,
    rows: [],
    trips: 'not measured',
    cacheMiss: 'not measured',
    analytics: 'not measured',
    rss: [],
    memoryDetail: [],
    books: 'not checked',
    shutdown: [],
    summary: {
      oneTeamTollgateRps: null,
      oneTeamErrors: null,
      portkeyRps: null,
      portkeyReason: 'not started',
      directRps: null,
      eightTeamsRps: null,
      replicasRps: null,
      ttfcAddedP50: null,
      added: [],
    },
    failures: [],
  };
}

async function main(): Promise<void> {
  const report = newReport();
  const started = Date.now();
  /** A part that fails is reported (its rows say why) and the run goes on. */
  const phase = async (name: string, work: () => Promise<void>) => {
    log(name);
    try {
      await work();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      report.failures.push(`${name}: ${message}`);
      console.error(`bench: ${name} failed: ${message}`);
    }
  };

  let b: Awaited<ReturnType<typeof setUp>>;
  try {
    b = await setUp();
  } catch (err) {
    // Nothing can be measured: say so in the report rather than leave the last one standing.
    report.failures.push(`set-up: ${err instanceof Error ? err.message : String(err)}`);
    killAllNow();
    writeReport(report);
    printReport(report);
    process.exit(1);
  }
  report.meta.postgresql = b.postgresql;
  report.summary.portkeyReason = b.pk.available ? '' : b.pk.reason;

  const keySeed = randomBytes(8).toString('hex');
  let keys = 0;
  const skipped = (name: string) => log(`${name} is 0: skipped`);
  await phase(`insert ${CFG.BENCH_KEYS} virtual keys`, async () => {
    if (CFG.BENCH_KEYS === 0) return skipped('BENCH_KEYS');
    const seconds = await insertKeys(b.db, b.keysTeam.id, keySeed, CFG.BENCH_KEYS);
    keys = CFG.BENCH_KEYS;
    log(`  ${keys} keys in ${seconds.toFixed(1)} s`);
  });
  const seeded: { history?: CallHistory } = {};
  await phase(`insert ${CFG.BENCH_CALL_ROWS} llm_calls rows`, async () => {
    if (CFG.BENCH_CALL_ROWS === 0) return skipped('BENCH_CALL_ROWS');
    const h = await insertCallHistory(b.db, b.analyticsOrg, 20, CFG.BENCH_CALL_ROWS);
    log(
      `  inserted in ${h.insertSeconds.toFixed(1)} s, VACUUM ANALYZE ${h.vacuumSeconds.toFixed(1)} s`,
    );
    seeded.history = h;
  });

  const jobs = new JobPool(CFG.BENCH_CALLS_PER_JOB);
  const missOptions = {
    gateway: b.A,
    team: b.keysTeam,
    keyOf: (i: number) => benchKey(keySeed, i),
    keys,
    missKeys: CFG.BENCH_MISS_KEYS,
    maxSeconds: CFG.BENCH_MISS_MAX_SECONDS,
    warmup: CFG.BENCH_WARMUP_REQUESTS,
  };
  const firstUses = keys > 0 ? spareFirstUses(missOptions, CFG.BENCH_WARMUP_REQUESTS) : [];
  await phase('warm-up', () => warmUp(b, jobs, firstUses));
  // Memory is compared between like states: each end read after the same idle settle period
  // (V8's memory reducer shrinks the young generation and frees old-space pages a few seconds
  // after the allocation rate drops; a reading right after a burst counts them, one after a
  // quiet spell does not, which made "before" and "after" differ by 30+ MB either way).
  const settle = (when: string) =>
    phase(`settle ${CFG.BENCH_SETTLE_SECONDS} s ${when} (no requests)`, () =>
      sleep(CFG.BENCH_SETTLE_SECONDS * 1000),
    );
  const justBefore = [rssMb(b.gwA.pid), rssMb(b.gwB.pid)];
  await settle('before the load');
  const before = await Promise.all([memoryOf(b.gwA), memoryOf(b.gwB)]);
  // BENCH_HEAP_SNAPSHOT=1: a heap snapshot of gateway A here and after the load (bench/results).
  const snapshot = (when: string) =>
    process.env.BENCH_HEAP_SNAPSHOT
      ? join(RESULTS, `team-gateway-a-${when}.heapsnapshot`)
      : undefined;
  // BENCH_SMAPS=1: a copy of /proc/<pid>/smaps of each gateway at each reading (bench/results).
  const smapsTo = (name: string, when: string) =>
    process.env.BENCH_SMAPS ? join(RESULTS, `team-gateway-${name}-${when}.smaps`) : undefined;
  const detailBefore = await Promise.all([
    memoryDetailOf(b.gwA, { snapshot: snapshot('before'), smapsTo: smapsTo('a', 'before') }),
    memoryDetailOf(b.gwB, { smapsTo: smapsTo('b', 'before') }),
  ]);
  const peak = samplePeakRss([b.gwA, b.gwB]);
  await phase('concurrency 1', () => concurrencyOne(b, jobs, report));
  await phase(`${CFG.BENCH_CONNECTIONS} connections`, () => connections(b, jobs, report));

  if (keys > 0) {
    await phase('cache-miss path', async () => {
      report.cacheMiss = await cacheMissPhase(missOptions);
    });
  } else {
    report.cacheMiss = `not measured: ${CFG.BENCH_KEYS ? 'the keys could not be inserted' : 'BENCH_KEYS=0'}`;
  }

  // Close the jobs (a job_based job holds its credit until then), then memory, then stop.
  await phase('complete the llm-call jobs', async () => {
    const failed = await jobs.completeAll(b.A);
    if (failed) throw new Error(`${failed} of ${jobs.all.length} job completions failed`);
  });
  const peaks = peak.stop();
  // Right after the load, as it runs; then again after a settle period with no requests (what a
  // replica holds between bursts), then after forced full collections.
  const justAfter = [rssMb(b.gwA.pid), rssMb(b.gwB.pid)];
  const detailJustAfter = await Promise.all([
    memoryDetailOf(b.gwA, { smapsTo: smapsTo('a', 'just-after') }),
    memoryDetailOf(b.gwB, { smapsTo: smapsTo('b', 'just-after') }),
  ]);
  await settle('after the load');
  const after = await Promise.all([memoryOf(b.gwA), memoryOf(b.gwB)]);
  const detailAfter = await Promise.all([
    memoryDetailOf(b.gwA, { snapshot: snapshot('after'), smapsTo: smapsTo('a', 'after') }),
    memoryDetailOf(b.gwB, { smapsTo: smapsTo('b', 'after') }),
  ]);
  report.memoryDetail = ['A', 'B'].map((name, i) => ({
    process: `team-gateway ${name}`,
    beforeGc: detailBefore[i],
    justAfter: detailJustAfter[i],
    settledAfterGc: detailAfter[i],
  }));
  report.rss = ['A', 'B'].map((name, i) => ({
    process: `team-gateway ${name}`,
    ready: i ? b.rssReady.b : b.rssReady.a,
    afterWarmUp: justBefore[i],
    before: before[i].rss,
    after: justAfter[i],
    settled: after[i].rss,
    peak: peaks[i],
    beforeGc: before[i].rssAfterGc,
    afterGc: after[i].rssAfterGc,
    heapBeforeGc: before[i].heapAfterGc,
    heapAfterGc: after[i].heapAfterGc,
  }));
  markStopping();
  await phase('stop the gateways (SIGTERM, wait for exit)', async () => {
    const exits = await Promise.all([stopGracefully(b.gwA, 45_000), stopGracefully(b.gwB, 45_000)]);
    report.shutdown = exits.map((e, i) => ({
      process: `team-gateway ${i ? 'B' : 'A'}`,
      graceful: e.graceful,
      ms: e.ms,
    }));
  });
  await phase('books', async () => {
    report.books = await checkBooks(
      b.db,
      [b.one, ...b.many, b.keysTeam],
      seeded.history ? b.analyticsOrg : null,
    );
  });

  const h = seeded.history;
  if (h) {
    await phase('organization analytics', async () => {
      report.analytics = {
        rows: h.calls,
        jobs: h.jobs,
        ledgerRows: h.ledgerRows,
        insertSeconds: h.insertSeconds,
        vacuumSeconds: h.vacuumSeconds,
        endpoints: await analyticsPhase(
          b.adminUrl,
          b.adminHeaders,
          b.analyticsOrg,
          h.calls,
          CFG.BENCH_ANALYTICS_RUNS,
        ),
      };
    });
  } else {
    report.analytics = `not measured: ${CFG.BENCH_CALL_ROWS ? 'the call rows could not be inserted' : 'BENCH_CALL_ROWS=0'}`;
  }

  report.meta['load average at end (1/5/15 min)'] = loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
  const sinceStart = process.env.BENCH_T0
    ? `, ${Math.round(Date.now() / 1000 - Number(process.env.BENCH_T0))} s since npm run bench started`
    : '';
  report.meta['wall time'] =
    `${Math.round((Date.now() - started) / 1000)} s in bench/run.ts${sinceStart}`;
  if (process.env.BENCH_BUILD_SECONDS) report.meta.build = `${process.env.BENCH_BUILD_SECONDS} s`;

  await b.db.end();
  await stopAll();
  await agent.close();
  await b.server.query(`DROP DATABASE IF EXISTS ${b.dbName} WITH (FORCE)`);
  await b.server.end();
  writeReport(report);
  printReport(report);
  if (report.failures.length) process.exitCode = 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  console.error(err);
  killAllNow();
  process.exit(1);
});
