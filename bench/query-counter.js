/**
 * Preloaded into the benchmarked gateway (`node -r ./bench/query-counter.js …`). Counts:
 * - every query the `pg` driver sends (one per database round trip, BEGIN/COMMIT included),
 * - every command ioredis sends (about one round trip each; pipelines count per command),
 * each split by whether an HTTP request was open (received, response not yet finished) when the
 * query started. At concurrency 1 a query started while the request is open is one the request
 * may have waited on: an upper bound on its synchronous round trips (a fire-and-forget query
 * started before the response is counted too). Queries started when no request is open are the
 * deferred or background work (write-behind, sweeps, catalog refreshes).
 * Answers the benchmark's `{ type: 'queries' }` IPC message with the running totals, and
 * `{ type: 'memory' }` with the memory left after a full garbage collection.
 * Cheap on purpose (a counter, no AsyncLocalStorage): it stays on during the throughput runs.
 */
'use strict';
const http = require('node:http');
const { Client } = require('pg');

const counts = { pgOpen: 0, pgIdle: 0, redisOpen: 0, redisIdle: 0, requests: 0 };
let open = 0;

const query = Client.prototype.query;
Client.prototype.query = function countedQuery(...args) {
  if (open > 0) counts.pgOpen += 1;
  else counts.pgIdle += 1;
  return query.apply(this, args);
};

try {
  const ioredis = require('ioredis');
  const Redis = ioredis.default ?? ioredis;
  const sendCommand = Redis.prototype.sendCommand;
  Redis.prototype.sendCommand = function countedCommand(...args) {
    if (open > 0) counts.redisOpen += 1;
    else counts.redisIdle += 1;
    return sendCommand.apply(this, args);
  };
} catch {
  // no ioredis: Redis commands stay 0
}

const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function countingEmit(event, req, res) {
  if (event === 'request' && res) {
    open += 1;
    counts.requests += 1;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      open -= 1;
    };
    res.once('finish', end);
    res.once('close', end);
  }
  // eslint-disable-next-line prefer-rest-params
  return emit.apply(this, arguments);
};

process.on('message', (message) => {
  if (message && message.type === 'queries') process.send?.({ type: 'queries', ...counts });
  // Memory after a full collection (the gateway runs with --expose-gc for this): what the
  // process retains, apart from when the collector last ran.
  if (message && message.type === 'memory') {
    if (typeof global.gc === 'function') global.gc();
    const { rss, heapUsed } = process.memoryUsage();
    process.send?.({ type: 'memory', rss, heapUsed, collected: typeof global.gc === 'function' });
  }
});
