/**
 * Preloaded into the benchmarked gateway (`node -r ./bench/query-counter.js …`). Counts:
 * - every query the `pg` driver sends (one per database round trip, BEGIN/COMMIT included),
 * - every command ioredis sends (about one round trip each; pipelines count per command),
 * each split by whether it was started in the async context of an HTTP request (from its receipt
 * until its response finished): an upper bound on the request's synchronous round trips (a
 * fire-and-forget query started by the request is counted too). Work the gateway runs in its own
 * background scope (the call journal's batches, lease grants), timers, sweeps and catalog
 * refreshes carry no request context: they are counted as deferred.
 * Answers the benchmark's `{ type: 'queries' }` IPC message with the running totals, and
 * `{ type: 'memory' }` with the memory left after a full garbage collection.
 * The split needs an AsyncLocalStorage entry per request, and on Node 20 an enabled
 * AsyncLocalStorage runs promise hooks on every promise of the process (~60 µs of CPU per proxied
 * call, measured: docs/performance-profile.md) — a cost the gateway itself no longer pays
 * (LOG_REQUEST_CONTEXT=off). So requests are tracked only between `{ type: 'count', on: true }`
 * and `{ type: 'count', on: false }` (the bench's counting passes); latency and throughput are
 * measured with the hooks off.
 */
'use strict';
const http = require('node:http');
const { AsyncLocalStorage } = require('node:async_hooks');
const { Client } = require('pg');

const counts = {
  pgOpen: 0,
  pgIdle: 0,
  redisOpen: 0,
  redisIdle: 0,
  requests: 0,
  pgOpenByStatement: {},
  redisOpenByCommand: {},
};

/** A statement's kind for the breakdown: its first words, literals and spacing dropped. */
function kindOf(args) {
  const first = args[0];
  const text =
    typeof first === 'string' ? first : first && typeof first.text === 'string' ? first.text : '';
  const words = text.replace(/\s+/g, ' ').trim().split(' ').slice(0, 6).join(' ');
  return words.length > 60 ? words.slice(0, 60) : words || '(not text)';
}
/** Set in a request's async context while its response is not finished. */
const inRequest = new AsyncLocalStorage();
const open = () => inRequest.getStore()?.open === true;
/** Requests are tracked (and the split made) only while counting. */
let counting = false;

const query = Client.prototype.query;
Client.prototype.query = function countedQuery(...args) {
  if (open()) {
    counts.pgOpen += 1;
    const kind = kindOf(args);
    counts.pgOpenByStatement[kind] = (counts.pgOpenByStatement[kind] ?? 0) + 1;
  } else counts.pgIdle += 1;
  return query.apply(this, args);
};

try {
  const ioredis = require('ioredis');
  const Redis = ioredis.default ?? ioredis;
  const sendCommand = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function countedCommand(...args) {
    if (open()) {
      counts.redisOpen += 1;
      const name = String(args[0]?.name ?? '?');
      counts.redisOpenByCommand[name] = (counts.redisOpenByCommand[name] ?? 0) + 1;
    } else counts.redisIdle += 1;
    return sendCommand.apply(this, args);
  };
} catch {
  // no ioredis: Redis commands stay 0
}

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function countingEmit(event, req, res) {
  if (event === 'request' && res && counting) {
    counts.requests += 1;
    const state = { open: true };
    const end = () => (state.open = false);
    res.once('finish', end);
    res.once('close', end);
    // eslint-disable-next-line prefer-rest-params
    return inRequest.run(state, () => emit.apply(this, arguments));
  }
  // eslint-disable-next-line prefer-rest-params
  return emit.apply(this, arguments);
};

/** Kilobytes by kind of mapping, from /proc/self/smaps (Linux; null elsewhere). */
function smapsByKind() {
  let text;
  try {
    text = require('node:fs').readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return null;
  }
  const HEAP_MAX = 64 * 1024 * 1024; // glibc's non-main arenas: 64 MB-aligned reservations
  const kinds = {};
  let kind = null;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const start = BigInt('0x' + head[1]);
      const name = head[4].trim();
      if (name === '[heap]') kind = 'malloc main arena ([heap])';
      else if (name.startsWith('[stack')) kind = 'stacks';
      else if (name.startsWith('[')) kind = 'other ' + name;
      else if (name && /\/node$|\/node\b/.test(name)) kind = 'node binary';
      else if (name) kind = 'other files (libraries, .node addons)';
      else if (start % BigInt(HEAP_MAX) === 0n && head[3].startsWith('rw')) kind = 'malloc thread arenas (anon, 64 MB-aligned)';
      else kind = 'anonymous (V8 heap pages, large malloc blocks, code)';
      kinds[kind] ??= { rssKb: 0, privateDirtyKb: 0, mappings: 0 };
      kinds[kind].mappings += 1;
      continue;
    }
    const field = /^(Rss|Private_Dirty):\s+(\d+) kB/.exec(line);
    if (field && kind) kinds[kind][field[1] === 'Rss' ? 'rssKb' : 'privateDirtyKb'] += Number(field[2]);
  }
  return kinds;
}

/** process.memoryUsage(), V8's heap spaces and the smaps split, MB (bench-only diagnostics). */
function memoryDetail() {
  const mb = (bytes) => Math.round(bytes / 104857.6) / 10;
  const usage = process.memoryUsage();
  const spaces = {};
  for (const s of require('node:v8').getHeapSpaceStatistics()) {
    spaces[s.space_name] = { size: mb(s.space_size), used: mb(s.space_used_size), physical: mb(s.physical_space_size) };
  }
  const heap = require('node:v8').getHeapStatistics();
  const smaps = smapsByKind();
  const smapsMb = smaps
    ? Object.fromEntries(Object.entries(smaps).map(([k, v]) => [k, { rss: Math.round(v.rssKb / 102.4) / 10, mappings: v.mappings }]))
    : null;
  return {
    usage: Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, mb(v)])),
    heap: { totalPhysical: mb(heap.total_physical_size), totalHeap: mb(heap.total_heap_size), malloced: mb(heap.malloced_memory), peakMalloced: mb(heap.peak_malloced_memory), external: mb(heap.external_memory) },
    spaces,
    smaps: smapsMb,
  };
}

process.on('message', (message) => {
  // The memory split (bench/procs.ts memoryDetailOf), optionally after full collections; with
  // `snapshot`, a heap snapshot written to that path first (BENCH_HEAP_SNAPSHOT=1); with
  // `smapsTo`, a copy of /proc/self/smaps (BENCH_SMAPS=1).
  if (message && message.type === 'memory-detail') {
    if (message.collect && typeof global.gc === 'function') {
      global.gc();
      global.gc();
    }
    if (typeof message.smapsTo === 'string') {
      const fs = require('node:fs');
      fs.writeFileSync(message.smapsTo, fs.readFileSync('/proc/self/smaps'));
    }
    let snapshot = null;
    if (typeof message.snapshot === 'string') snapshot = require('node:v8').writeHeapSnapshot(message.snapshot);
    process.send?.({ type: 'memory-detail', ...memoryDetail(), snapshot });
  }
  if (message && message.type === 'queries') process.send?.({ type: 'queries', ...counts });
  if (message && message.type === 'count') {
    counting = message.on === true;
    // the last enabled storage disabled: Node turns its promise hooks off again
    if (!counting) inRequest.disable();
    process.send?.({ type: 'count', on: counting });
  }
  // Memory after a full collection (the gateway runs with --expose-gc for this): what the
  // process retains, apart from when the collector last ran.
  if (message && message.type === 'memory') {
    // Two full collections: the pages the first one frees stay pooled, mapped, until the next
    // one unmaps them, so RSS after one gc() still counts memory the heap no longer holds.
    // V8 unmaps the freed pages on background threads after gc() returns: RSS read at once
    // counted up to 60 MB still being released (seen in /proc smaps taken a few ms apart), so
    // the reading waits until RSS has stopped falling.
    if (typeof global.gc === 'function') {
      global.gc();
      global.gc();
    }
    void rssSettled().then((waitedMs) => {
      const { rss, heapUsed } = process.memoryUsage();
      process.send?.({ type: 'memory', rss, heapUsed, waitedMs, collected: typeof global.gc === 'function' });
    });
  }
});

/** Resolves once RSS moved less than 256 kB over 3 readings 100 ms apart (at most 5 s). */
function rssSettled() {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let last = process.memoryUsage.rss();
    let stable = 0;
    const tick = () => {
      const now = process.memoryUsage.rss();
      stable = Math.abs(now - last) < 256 * 1024 ? stable + 1 : 0;
      last = now;
      if (stable >= 3 || Date.now() - t0 > 5000) resolve(Date.now() - t0);
      else setTimeout(tick, 100);
    };
    setTimeout(tick, 100);
  });
}
