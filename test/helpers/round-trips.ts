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
/** The texts of the request-path queries, for the requestRoundTrips that want them. */
const requestWatchers = new Set<(text: string) => void>();
const watchers = new Set<(text: string, values: unknown[], name?: string) => void>();

function install(): void {
  if (installed) return;
  installed = true;
  type Method = (this: unknown, ...args: unknown[]) => unknown;
  const client = Client.prototype as unknown as { query: Method };
  const server = http.Server.prototype as unknown as { emit: Method };
  const query = client.query;
  client.query = function counted(this: unknown, ...args: unknown[]) {
    const inRequestPath = inRequest.getStore()?.open === true;
    if (inRequestPath) queries += 1;
    if (watchers.size > 0 || (inRequestPath && requestWatchers.size > 0)) {
      const [first, second] = args as [unknown, unknown];
      const config = typeof first === 'object' && first !== null ? (first as QueryConfig) : null;
      const text = typeof first === 'string' ? first : (config?.text ?? '');
      const values = Array.isArray(second) ? (second as unknown[]) : (config?.values ?? []);
      for (const watch of watchers) watch(text, values, config?.name);
      if (inRequestPath) for (const watch of requestWatchers) watch(text);
    }
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

interface QueryConfig {
  /** Set for a named (prepared) statement. */
  name?: string;
  text?: string;
  values?: unknown[];
}

/**
 * PostgreSQL statements of this process from now on, on or off the request path (lease grants,
 * journal batches), that `matches` picks by their text, parameters and name (of a prepared
 * statement); `stop` to stop counting.
 */
export function statements(matches: (text: string, values: unknown[], name?: string) => boolean): {
  count(): number;
  stop(): void;
} {
  install();
  let n = 0;
  const watch = (text: string, values: unknown[], name?: string) => {
    if (matches(text, values, name)) n += 1;
  };
  watchers.add(watch);
  return { count: () => n, stop: () => watchers.delete(watch) };
}

/**
 * The texts of the synchronous PostgreSQL statements made by requests from now on (whitespace
 * folded); `stop` to stop collecting.
 */
export function requestStatements(): { texts(): string[]; stop(): void } {
  install();
  const texts: string[] = [];
  const watch = (text: string) => texts.push(text.replace(/\s+/g, ' ').trim());
  requestWatchers.add(watch);
  return { texts: () => texts, stop: () => requestWatchers.delete(watch) };
}
