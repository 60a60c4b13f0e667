/**
 * `node bench/profile-compare.js [LABEL=]A.cpuprofile [LABEL=]B.cpuprofile …`: the CPU a gateway spent per call,
 * by category, in profiles written by `npm run bench:profile` (each beside its `.load.json`: the
 * load's window and its calls). On a shared machine req/s and shares move with the neighbours'
 * load (idle time, contention); CPU microseconds per call move much less, so runs made one after
 * the other compare. Self time only (bench/profile-top.js lists the functions).
 */
'use strict';
const { readFileSync } = require('node:fs');
const { basename } = require('node:path');

/** [label, test(functionName, url)] by self time; the first match wins. */
const CATEGORIES = [
  ['garbage collector', (fn) => fn === '(garbage collector)'],
  [
    'AsyncResource.bind + deprecate',
    (fn, url) => fn === 'deprecate' || (fn === 'bind' && url === 'node:async_hooks'),
  ],
  ['@fastify/middie', (fn, url) => url.includes('node_modules/@fastify/middie/')],
  [
    'pino-http + pino',
    (fn, url) => /node_modules\/(pino-http|pino|pino-std-serializers|fast-redact)\//.test(url),
  ],
  [
    'fastify + find-my-way',
    (fn, url) => /node_modules\/(fastify|find-my-way|@fastify\/[^/]+)\//.test(url),
  ],
  ['@nestjs/*', (fn, url) => url.includes('node_modules/@nestjs/')],
  [
    'abort signals (node:internal/abort_controller)',
    (fn, url) => url === 'node:internal/abort_controller',
  ],
  [
    'async context hooks (promise hooks, ALS)',
    (fn, url) => url === 'node:internal/async_hooks' || url === 'node:async_hooks',
  ],
  ['undici', (fn, url) => url.includes('node_modules/undici/')],
  ['socket writes (writev + writeUtf8String)', (fn) => fn === 'writev' || fn === 'writeUtf8String'],
  ['Tollgate (dist)', (fn, url) => url.includes('/dist/')],
];

function measure(arg) {
  // `label=FILE` names the column (default: the file's name)
  const [label, file] = arg.includes('=') ? arg.split('=', 2) : [basename(arg), arg];
  const load = JSON.parse(readFileSync(file.replace(/\.cpuprofile$/, '.load.json'), 'utf8'));
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const us = new Map(CATEGORIES.map(([label]) => [label, 0]));
  let busy = 0;
  let idle = 0;
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const gap = profile.timeDeltas[i] ?? 0;
    elapsed += gap;
    if (elapsed / 1000 < load.fromMs || elapsed / 1000 > load.toMs) return;
    const { functionName, url } = byId.get(id).callFrame;
    if (functionName === '(idle)') return void (idle += gap);
    busy += gap;
    const hit = CATEGORIES.find(([, test]) => test(functionName, url));
    if (hit) us.set(hit[0], us.get(hit[0]) + gap);
  });
  return { label, file, load, us, busy, idle };
}

const runs = process.argv.slice(2).map(measure);
if (runs.length === 0) {
  console.error('usage: node bench/profile-compare.js A.cpuprofile [B.cpuprofile …]');
  process.exit(2);
}
const cell = (run, value) =>
  `${(value / run.load.calls).toFixed(0)} µs · ${((100 * value) / run.busy).toFixed(1)} %`;
const rows = [
  [
    'req/s (noisy: the machine is shared)',
    runs.map((r) => (r.load.calls / r.load.seconds).toFixed(0)),
  ],
  [
    'idle share of the window',
    runs.map((r) => `${((100 * r.idle) / (r.idle + r.busy)).toFixed(1)} %`),
  ],
  ['CPU per call (all but idle)', runs.map((r) => `${(r.busy / r.load.calls).toFixed(0)} µs`)],
  ...CATEGORIES.map(([label]) => [label, runs.map((r) => cell(r, r.us.get(label)))]),
];
console.log(`| µs per call · share of busy time | ${runs.map((r) => r.label).join(' | ')} |`);
console.log(`| --- | ${runs.map(() => '---:').join(' | ')} |`);
for (const [label, cells] of rows) console.log(`| ${label} | ${cells.join(' | ')} |`);
