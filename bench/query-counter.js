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
 * One AsyncLocalStorage entry per request: cheap enough to stay on during the throughput runs.
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
  if (event === 'request' && res) {
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

process.on('message', (message) => {
  if (message && message.type === 'queries') process.send?.({ type: 'queries', ...counts });
  // Memory after a full collection (the gateway runs with --expose-gc for this): what the
  // process retains, apart from when the collector last ran.
  if (message && message.type === 'memory') {
    // Two full collections: the pages the first one frees stay pooled, mapped, until the next
    // one unmaps them, so RSS after one gc() still counts memory the heap no longer holds.
    if (typeof global.gc === 'function') {
      global.gc();
      global.gc();
    }
    const { rss, heapUsed } = process.memoryUsage();
    process.send?.({ type: 'memory', rss, heapUsed, collected: typeof global.gc === 'function' });
  }
});
