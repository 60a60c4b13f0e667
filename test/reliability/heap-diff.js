/**
 * What grew between two V8 heap snapshots (the soak's SOAK_HEAP_SNAPSHOTS=1 writes one per
 * gateway at the end of the warm-up and one at the end):
 *   node test/reliability/heap-diff.js before.heapsnapshot after.heapsnapshot [top]
 * Prints the node groups (type + constructor or string name) whose count or self size grew
 * most. A group that grows with the number of requests served is what a leak retains.
 */
'use strict';
const { readFileSync } = require('node:fs');

function summarize(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const meta = snap.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map();
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    let name = snap.strings[nodes[i + nameAt]];
    // strings and code are grouped by type (their names are their contents)
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string')
      name = '(strings)';
    else if (type === 'code' || type === 'number' || type === 'hidden') name = `(${type})`;
    else if (name.length > 80) name = `${name.slice(0, 77)}...`;
    const key = `${type} ${name}`;
    const g = groups.get(key) ?? { count: 0, size: 0 };
    g.count += 1;
    g.size += nodes[i + sizeAt];
    groups.set(key, g);
  }
  return groups;
}

const [before, after, top = '25'] = process.argv.slice(2);
if (!before || !after) {
  console.error(
    'usage: node test/reliability/heap-diff.js before.heapsnapshot after.heapsnapshot [top]',
  );
  process.exit(2);
}
const a = summarize(before);
const b = summarize(after);
const rows = [];
for (const [key, g] of b) {
  const old = a.get(key) ?? { count: 0, size: 0 };
  rows.push({ key, count: g.count - old.count, size: g.size - old.size, total: g.count });
}
const total = (m) => [...m.values()].reduce((s, g) => s + g.size, 0);
console.log(`self size: ${(total(a) / 1e6).toFixed(2)} MB → ${(total(b) / 1e6).toFixed(2)} MB`);
console.log('grew most by count:');
for (const r of [...rows].sort((x, y) => y.count - x.count).slice(0, Number(top)))
  console.log(
    `  ${String(r.count).padStart(8)} (${String(r.total).padStart(8)} now) ${(r.size / 1024).toFixed(1).padStart(9)} KB  ${r.key}`,
  );
console.log('grew most by size:');
for (const r of [...rows].sort((x, y) => y.size - x.size).slice(0, Number(top)))
  console.log(
    `  ${(r.size / 1024).toFixed(1).padStart(9)} KB ${String(r.count).padStart(8)}  ${r.key}`,
  );
