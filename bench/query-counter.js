/**
 * Preloaded into the benchmarked gateway (`node -r ./bench/query-counter.js …`): counts every
 * query the `pg` driver sends (one per database round trip, BEGIN/COMMIT included) and answers
 * the benchmark's `{ type: 'queries' }` IPC message with the running total.
 */
'use strict';
const { Client } = require('pg');

let queries = 0;
const query = Client.prototype.query;
Client.prototype.query = function countedQuery(...args) {
  queries += 1;
  return query.apply(this, args);
};

process.on('message', (message) => {
  if (message && message.type === 'queries') process.send?.({ type: 'queries', queries });
});
