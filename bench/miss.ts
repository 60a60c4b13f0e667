/**
 * `npm run bench:miss`: the cache-miss run only, for iterating on the first use of a key — on
 * the same set-up as `npm run bench`: BENCH_KEYS keys inserted in one team, then BENCH_MISS_KEYS
 * rounds at c=1 of one request with a key never used before and one with the warm key. Prints
 * the p50/p99 of both and their ratio. Writes nothing to docs/.
 */
import { randomBytes } from 'node:crypto';
import { CFG } from './config';
import { cacheMissPhase } from './phases';
import { benchKey, insertKeys } from './seed';
import { runBench, setUp, tearDown } from './setup';

async function main(): Promise<void> {
  const b = await setUp();
  const seed = randomBytes(8).toString('hex');
  const seconds = await insertKeys(b.db, b.keysTeam.id, seed, CFG.BENCH_KEYS);
  console.log(`${CFG.BENCH_KEYS} keys inserted in ${seconds.toFixed(1)} s`);
  const r = await cacheMissPhase({
    gateway: b.A,
    team: b.keysTeam,
    keyOf: (i) => benchKey(seed, i),
    keys: CFG.BENCH_KEYS,
    missKeys: CFG.BENCH_MISS_KEYS,
    maxSeconds: CFG.BENCH_MISS_MAX_SECONDS,
    warmup: CFG.BENCH_WARMUP_REQUESTS,
  });
  if (typeof r === 'string') console.log(`cache-miss: ${r}`);
  else {
    const f = (v: number) => v.toFixed(2);
    console.log(
      `miss p50 ${f(r.missP50)} p99 ${f(r.missP99)}  warm p50 ${f(r.warmP50)} p99 ${f(r.warmP99)}  ` +
        `× ${f(r.missP50 / r.warmP50)}  errors ${r.errors}  ${r.note}`,
    );
  }
  await tearDown(b);
}

runBench('miss', main);
