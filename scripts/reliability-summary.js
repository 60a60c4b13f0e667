// The summary table of `npm run test:reliability` (scripts/test-reliability.sh): one row per step
// with its result, tests, time and figures, read from the report directory the steps wrote
// (steps.tsv, <step>.jest.json, and the figures of test/helpers/report.ts and the soak).
// Ends with the closing line `N passed, N failed` (steps; skipped ones counted apart).
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.argv[2];
const read = (name) => {
  const file = join(dir, name);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
};

const pct = (x) => `${(x * 100).toFixed(2)} %`;
const ms = (list) => (Array.isArray(list) ? `${Math.max(...list)} ms` : 'n/a');

/** The figures worth a column, per step, from what the step wrote. */
const figures = {
  'redis-outage': () => {
    const r = read('redis-outage.json')?.figures;
    if (!r?.during) return '';
    const revokes = ['hungRevoke', 'deadRotate', 'deadSuspend', 'lateRevoke']
      .filter((k) => r[k])
      .map((k) => `${k} ${ms(r[k])}`)
      .join(', ');
    return (
      `outage ${(r.outageMs / 1000).toFixed(1)} s: served ${r.during.ok}/${r.during.total} ` +
      `(${pct(r.during.share)}); first refusal after the admin change answered (worst replica): ${revokes}; ` +
      `recovery ${r.recoveryMs} ms; after: ${pct(r.after.share)}`
    );
  },
  'dead-replica': () => {
    const r = read('dead-replica.json')?.figures;
    if (!r) return '';
    return (
      `${r.streamsInFlight} streams held ${r.heldAtKill} credits at kill -9; back after ` +
      `${r.creditsBackMs} ms (HOLD_TTL_SECONDS=${r.holdTtlSeconds})`
    );
  },
  'postgres-outage': () => {
    const r = read('postgres-outage.json')?.figures;
    return r ? JSON.stringify(r).slice(0, 300) : '';
  },
  fuzz: () => {
    const r = read('fuzz.json')?.figures;
    return r ? JSON.stringify(r).slice(0, 300) : '';
  },
  soak: () => {
    const r = read('soak.json')?.figures;
    if (!r) return '';
    const growth = Object.entries(r.growth)
      .map(([name, g]) => `${name} heap ${g.heapMb[0]}→${g.heapMb[1]} MB (${pct(g.heap)})`)
      .join(', ');
    const books = r.books.every((b) => b.pass) ? 'books exact' : 'BOOKS OFF';
    return `${r.totalRequests} requests in ${r.loadSeconds} s; ${growth}; ${books}`;
  },
};

const tsv = existsSync(join(dir, 'steps.tsv')) ? readFileSync(join(dir, 'steps.tsv'), 'utf8') : '';
const rows = tsv
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const [name, status, seconds, about] = line.split('\t');
    const jest = read(`${name}.jest.json`);
    const tests = jest
      ? `${jest.numPassedTests}/${jest.numTotalTests}` +
        (jest.numRuntimeErrorTestSuites
          ? ` (${jest.numRuntimeErrorTestSuites} suites failed to run)`
          : '')
      : '';
    const result = status === 'skipped' ? 'SKIPPED' : status === '0' ? 'pass' : 'FAIL';
    let extra = '';
    try {
      extra = figures[name]?.() ?? '';
    } catch (err) {
      extra = `(figures unreadable: ${err.message})`;
    }
    return { name, result, tests, seconds, about, extra };
  });

console.log('\nReliability run summary');
console.log(`| step | result | tests | time | what | figures |`);
console.log(`|---|---|---|---|---|---|`);
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.result} | ${r.tests} | ${r.seconds} s | ${r.about} | ${r.extra} |`,
  );
const passed = rows.filter((r) => r.result === 'pass').length;
const failed = rows.filter((r) => r.result === 'FAIL').length;
const skipped = rows.filter((r) => r.result === 'SKIPPED').length;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed ? 1 : 0;
