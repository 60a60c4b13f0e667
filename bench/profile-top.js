/**
 * `node bench/profile-top.js FILE.cpuprofile [N]`: the N functions (default 25) with the most
 * self time in a V8 CPU profile (`BENCH_CPU_PROF=1 npm run bench` writes one per gateway into
 * bench/results/), with their share of the samples and where they live (node_modules package,
 * or the file of the project). `--window=FROM,TO` keeps the samples taken between FROM and TO ms
 * after the process started (bench:profile passes the load's window, so start-up and shutdown are
 * left out; the profile starts a few ms after the spawn, so the window is good to a few ms).
 */
'use strict';
const { readFileSync } = require('node:fs');

const windowArg = process.argv.find((a) => a.startsWith('--window='));
const [file, count = '25'] = process.argv.slice(2).filter((a) => !a.startsWith('--window='));
const [fromMs, toMs] = windowArg ? windowArg.slice(9).split(',').map(Number) : [0, Infinity];
if (!file) {
  console.error('usage: node bench/profile-top.js FILE.cpuprofile [N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
/** Self time by where the code lives: a package, the app bundle, Node itself, GC, idle. */
const byPackage = new Map();
const gaps = profile.timeDeltas;
let elapsedUs = 0;
profile.samples.forEach((id, i) => {
  elapsedUs += gaps[i] ?? 0;
  if (elapsedUs / 1000 < fromMs || elapsedUs / 1000 > toMs) return;
  const node = byId.get(id);
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.includes('node_modules/')
    ? url
        .slice(url.lastIndexOf('node_modules/') + 13)
        .split('/')
        .slice(0, 2)
        .join('/')
    : url.replace(/^.*\/(apps|libs|dist)\//, '$1/') || '(native)';
  const key = `${functionName || '(anonymous)'}  ${where}${url ? `:${lineNumber + 1}` : ''}`;
  self.set(key, (self.get(key) ?? 0) + (gaps[i] ?? 0));
  const pkg = url.includes('node_modules/')
    ? where
    : url.includes('/dist/')
      ? 'tollgate (dist)'
      : url.startsWith('node:')
        ? 'node internals'
        : functionName.startsWith('(')
          ? functionName
          : 'native';
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + (gaps[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(count));
console.log(`${(total / 1000).toFixed(0)} ms sampled in ${file}`);
for (const [key, us] of rows) {
  console.log(
    `${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`,
  );
}
console.log('\nself time by package:');
for (const [pkg, us] of [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
  console.log(
    `${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${pkg}`,
  );
}
