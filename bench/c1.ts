/**
 * `npm run bench:c1`: concurrency 1 only, for iterating on added latency — on the same set-up as
 * `npm run bench`, the targets interleaved in each round with the direct upstream (chat,
 * llm-call, stream, Portkey when installed), BENCH_REQUESTS rounds. Prints the added p50/p99 of
 * each target (target − direct of the same rounds) and the stream's time to first chunk. Writes
 * nothing to docs/: the full run (`npm run bench`) is what docs/performance.md reports.
 */
import { CFG } from './config';
import { sequential, stats } from './load';
import { runBench, setUp, tearDown } from './setup';
import * as T from './targets';

async function main(): Promise<void> {
  const b = await setUp();
  const jobs = new T.JobPool(CFG.BENCH_CALLS_PER_JOB);
  const direct = T.direct(b.upstreamUrl);
  const llmCall = async () => {
    await jobs.ensure('c1', b.A, b.one);
    await jobs.call('c1', b.A);
  };
  const sides = [
    { name: 'direct', send: direct },
    { name: 'chat', send: T.chat(b.A, b.one) },
    { name: 'llm-call', send: llmCall },
    { name: 'stream', send: T.chatStream(b.A, b.one) },
    { name: 'direct stream', send: T.directStream(b.upstreamUrl) },
    ...(b.pk.available ? [{ name: 'portkey', send: T.portkey(b.pk.url, b.pk.headers) }] : []),
  ];
  await sequential(sides, CFG.BENCH_WARMUP_REQUESTS, CFG.BENCH_C1_MAX_SECONDS);
  await jobs.precreate('c1', b.A, b.one, CFG.BENCH_REQUESTS);
  const meteredBefore = await T.meteredCalls(b.A);
  const run = await sequential(sides, CFG.BENCH_REQUESTS, CFG.BENCH_C1_MAX_SECONDS * 3);
  const metered = T.formatMetered(await T.meteredCalls(b.A), meteredBefore);
  const by = Object.fromEntries(run.sides.map((s) => [s.name, s]));
  const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(2));
  const added = (target: string, base: string, ttfc = false) => {
    const t = stats(ttfc ? by[target].ttfc : by[target].latencies);
    const d = stats(ttfc ? by[base].ttfc : by[base].latencies);
    if (!t || !d) return `${target}: not measured`;
    const what = ttfc ? `${target} first chunk` : target;
    return (
      `${what.padEnd(22)} p50 ${fmt(t.p50)} p99 ${fmt(t.p99)}  added p50 ${fmt(t.p50 - d.p50)} ` +
      `p99 ${fmt(t.p99 - d.p99)}  errors ${by[target].errors}`
    );
  };
  const d = stats(by.direct.latencies);
  console.log(
    `c=1, ${run.rounds} rounds in ${run.seconds.toFixed(1)} s; direct p50 ${fmt(d?.p50)} p99 ${fmt(d?.p99)}`,
  );
  console.log(added('chat', 'direct'));
  console.log(added('llm-call', 'direct'));
  console.log(added('stream', 'direct stream'));
  console.log(added('stream', 'direct stream', true));
  if (b.pk.available) console.log(added('portkey', 'direct'));
  // a call that took the exact path waited on PostgreSQL: it shows in the p50 when it is common
  console.log(`metering on A during the rounds: ${metered}`);
  await tearDown(b);
}

runBench('c1', main);
