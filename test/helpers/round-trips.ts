import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import { Client } from 'pg';

/**
 * Counts the PostgreSQL queries (one round trip each) started in the async context of an HTTP
 * request served by this process, from its receipt until its response finished: the synchronous
 * round trips of in-process apps, as bench/query-counter.js counts them for the bench. Work an app
 * runs in its own background scope (the call journal's batches, lease grants) is not counted.
 */
const inRequest = new AsyncLocalStorage<{ open: boolean }>();
let installed = false;
let queries = 0;

function install(): void {
  if (installed) return;
  installed = true;
  type Method = (this: unknown, ...args: unknown[]) => unknown;
  const client = Client.prototype as unknown as { query: Method };
  const server = http.Server.prototype as unknown as { emit: Method };
  const query = client.query;
  client.query = function counted(this: unknown, ...args: unknown[]) {
    if (inRequest.getStore()?.open === true) queries += 1;
    return query.apply(this, args);
  };
  const emit = server.emit;
  server.emit = function countingEmit(this: unknown, event: unknown, ...args: unknown[]) {
    const res = args[1] as http.ServerResponse | undefined;
    if (event === 'request' && res) {
      const state = { open: true };
      const end = () => (state.open = false);
      res.once('finish', end);
      res.once('close', end);
      return inRequest.run(state, () => emit.call(this, event, ...args));
    }
    return emit.call(this, event, ...args);
  };
}

/** Synchronous PostgreSQL round trips made by requests from now on. */
export function requestRoundTrips(): { count(): number } {
  install();
  const start = queries;
  return { count: () => queries - start };
}
