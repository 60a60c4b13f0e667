/**
 * `npm run bench:profile`: a V8 CPU profile of one gateway replica under the hot path alone —
 * one funded team, `POST /v1/chat/completions` (non-stream) at BENCH_CONNECTIONS connections for
 * BENCH_SECONDS — on the same set-up as `npm run bench` (private PostgreSQL with fsync=on, Redis,
 * fake upstream). Prints the functions with the most self time (bench/profile-top.js) and leaves
 * the .cpuprofile in bench/results/ (open it in Chrome DevTools for the call tree) with its load
 * window and calls in a `.load.json` beside it (`node bench/profile-compare.js A B …`: CPU per
 * call by category, for before/after runs on a shared machine).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CFG } from './config';
import { fixedTime } from './load';
import { RESULTS, spawnTime } from './procs';
import { runBench, setUp, tearDown } from './setup';
import * as T from './targets';

async function main(): Promise<void> {
  process.env.BENCH_CPU_PROF = '1';
  const startedAt = Date.now();
  const b = await setUp();
  const chat = T.chat(b.A, b.one);
  for (let i = 0; i < CFG.BENCH_WARMUP_REQUESTS; i++) await chat();
  // the profile's window: the load alone (start-up, warm-up and shutdown left out)
  const loadFrom = Date.now() - spawnTime(b.gwA);
  const load = await fixedTime(
    { send: () => chat() },
    CFG.BENCH_CONNECTIONS,
    CFG.BENCH_SECONDS,
    CFG.BENCH_WARMUP_SECONDS,
  );
  const loadTo = Date.now() - spawnTime(b.gwA);
  console.log(
    `profile: ${load.ok} calls, ${load.errors} errors, ${(load.ok / CFG.BENCH_SECONDS).toFixed(0)} req/s`,
  );
  console.log(`metering on A since it started: ${T.formatMetered(await T.meteredCalls(b.A))}`);
  await tearDown(b); // replica A writes its profile on exit
  const written = readdirSync(RESULTS)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(RESULTS, f))
    .filter((f) => statSync(f).mtimeMs >= startedAt)
    // the loaded replica's profile: named by its process id (V8's CPU.<date>.<time>.<pid>.…)
    .filter((f) => f.includes(`.${b.gwA.pid}.`));
  if (written.length === 0) throw new Error('no CPU profile was written by replica A');
  // its load beside it, for bench/profile-compare.js
  writeFileSync(
    written[0].replace(/\.cpuprofile$/, '.load.json'),
    JSON.stringify({ fromMs: loadFrom, toMs: loadTo, calls: load.ok, seconds: CFG.BENCH_SECONDS }),
  );
  console.log(
    execFileSync(process.execPath, [
      'bench/profile-top.js',
      written[0],
      '30',
      `--window=${loadFrom},${loadTo}`,
    ]).toString(),
  );
}

runBench('profile', main);
