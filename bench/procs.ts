/** The benchmark's child processes: start, wait until ready, stop gracefully, memory. */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';

export const ROOT = join(__dirname, '..');
export const RESULTS = join(ROOT, 'bench/results');

const children = new Set<ChildProcess>();
let stopping = false;

const logPath = (name: string) => join(RESULTS, `${name.replace(/\W+/g, '-')}.log`);

const spawnedAt = new WeakMap<ChildProcess, number>();
/** When a child was spawned (Date.now()), e.g. to find a window in its CPU profile. */
export function spawnTime(child: ChildProcess): number {
  return spawnedAt.get(child) ?? Date.now();
}

/** Spawns `node args…` (or `command`); its output goes to bench/results/<name>.log. */
export function start(
  name: string,
  args: string[],
  env: Record<string, string>,
  options: { ipc?: boolean; command?: string } = {},
): ChildProcess {
  mkdirSync(RESULTS, { recursive: true });
  const log = openSync(logPath(name), 'w');
  const child = spawn(options.command ?? process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: options.ipc ? ['ignore', log, log, 'ipc'] : ['ignore', log, log],
  });
  children.add(child);
  spawnedAt.set(child, Date.now());
  child.once('exit', (code, signal) => {
    children.delete(child);
    if (!stopping && code !== 0) {
      console.error(`bench: ${name} exited (${code ?? signal}); see ${logPath(name)}`);
    }
  });
  return child;
}

/** The last lines of a child's log (for "unavailable (reason)"). */
export function logTail(name: string, lines = 5): string {
  const path = logPath(name);
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8')
    .replace(/\x1b\[[0-9;]*m/g, '') // eslint-disable-line no-control-regex
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(' | ');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200 (any status when `anyStatus`), the child exits, or time runs out. */
export async function waitReady(
  url: string,
  child: ChildProcess,
  what: string,
  { anyStatus = false, timeoutMs = 60_000 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    }
    try {
      const res = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 });
      await res.body.dump();
      if (res.statusCode === 200 || anyStatus) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not become ready at ${url} within ${timeoutMs / 1000} s`);
}

export interface Exit {
  graceful: boolean;
  code: number | null;
  signal: string | null;
  ms: number;
}

/** SIGTERM, then waits for the exit; SIGKILL after `timeoutMs` (graceful = exited 0 on its own). */
export async function stopGracefully(child: ChildProcess, timeoutMs: number): Promise<Exit> {
  const t0 = Date.now();
  if (child.exitCode !== null || child.signalCode !== null) {
    return { graceful: false, code: child.exitCode, signal: child.signalCode, ms: 0 };
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
  return {
    graceful: !timedOut && child.exitCode === 0,
    code: child.exitCode,
    signal: child.signalCode,
    ms: Date.now() - t0,
  };
}

/** Ends every child still running (SIGTERM, SIGKILL after 10 s). */
export async function stopAll(): Promise<void> {
  stopping = true;
  await Promise.all([...children].map((c) => stopGracefully(c, 10_000)));
}

/** On a crash or Ctrl-C: no child may outlive the benchmark. */
export function killAllNow(): void {
  stopping = true;
  for (const child of children) child.kill('SIGKILL');
}

export function markStopping(): void {
  stopping = true;
}

/** Resident memory of a process in MB, from /proc (null once it has exited). */
export function rssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return Number.isFinite(kb) ? Math.round(kb / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

export interface Counters {
  pgOpen: number;
  pgIdle: number;
  redisOpen: number;
  redisIdle: number;
  requests: number;
  /** Sync PG statements by their first words (bench/query-counter.js). */
  pgOpenByStatement: Record<string, number>;
  /** Sync Redis commands by name. */
  redisOpenByCommand: Record<string, number>;
}

/** Sends `{ type, …extra }` to a child started with IPC and resolves its answer; null after `timeoutMs`. */
function ask<T>(
  child: ChildProcess,
  type: string,
  extra: object = {},
  timeoutMs = 5000,
): Promise<(T & { type: string }) | null> {
  return new Promise((resolve) => {
    if (!child.connected) return resolve(null);
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(null);
    }, timeoutMs);
    const onMessage = (message: T & { type?: string }) => {
      if (message?.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message as T & { type: string });
    };
    child.on('message', onMessage);
    child.send({ ...extra, type });
  });
}

/**
 * Turns the query counter's request tracking on or off (its AsyncLocalStorage costs the gateway
 * CPU on every call, so it is on only while round trips are counted); false if it does not answer.
 */
export async function setCounting(child: ChildProcess, on: boolean): Promise<boolean> {
  return (await ask<{ on: boolean }>(child, 'count', { on }))?.on === on;
}

/** The gateway's query counters (bench/query-counter.js); null if it does not answer. */
export async function countersOf(child: ChildProcess): Promise<Counters | null> {
  const m = await ask<Partial<Counters>>(child, 'queries');
  if (!m) return null;
  return {
    pgOpen: m.pgOpen ?? 0,
    pgIdle: m.pgIdle ?? 0,
    redisOpen: m.redisOpen ?? 0,
    redisIdle: m.redisIdle ?? 0,
    requests: m.requests ?? 0,
    pgOpenByStatement: { ...(m.pgOpenByStatement ?? {}) },
    redisOpenByCommand: { ...(m.redisOpenByCommand ?? {}) },
  };
}

export interface Memory {
  /** VmRSS as the process runs, MB. */
  rss: number | null;
  /** After a full garbage collection (null when the process cannot be asked). */
  rssAfterGc: number | null;
  heapAfterGc: number | null;
}

/** The highest VmRSS of each process, sampled every 500 ms until `stop()`. */
export function samplePeakRss(children: ChildProcess[]): { stop: () => Array<number | null> } {
  const peaks: Array<number | null> = children.map(() => null);
  const timer = setInterval(() => {
    children.forEach((child, i) => {
      const rss = rssMb(child.pid);
      if (rss !== null && (peaks[i] === null || rss > peaks[i])) peaks[i] = rss;
    });
  }, 500);
  return {
    stop: () => {
      clearInterval(timer);
      return peaks;
    },
  };
}

/**
 * RSS as it is, then RSS and heap after forced full collections that also unmap the pages they
 * freed, read once RSS has stopped falling (bench/query-counter.js).
 */
export async function memoryOf(child: ChildProcess): Promise<Memory> {
  const rss = rssMb(child.pid);
  const m = await ask<{ rss: number; heapUsed: number; collected: boolean }>(
    child,
    'memory',
    {},
    10_000,
  );
  const mb = (bytes: number) => Math.round(bytes / 104857.6) / 10;
  return {
    rss,
    rssAfterGc: m?.collected ? mb(m.rss) : null,
    heapAfterGc: m?.collected ? mb(m.heapUsed) : null,
  };
}

/** The memory split of bench/query-counter.js: process.memoryUsage, V8 spaces, smaps kinds (MB). */
export interface MemoryDetail {
  usage: Record<string, number>;
  heap: Record<string, number>;
  spaces: Record<string, { size: number; used: number; physical: number }>;
  smaps: Record<string, { rss: number; mappings: number }> | null;
  snapshot: string | null;
}

/**
 * Where a gateway's memory is (after two full collections when `collect`), and a heap snapshot
 * written to `snapshot` first when given; null if the child does not answer.
 */
export async function memoryDetailOf(
  child: ChildProcess,
  options: { collect?: boolean; snapshot?: string; smapsTo?: string } = {},
): Promise<MemoryDetail | null> {
  return ask<MemoryDetail>(child, 'memory-detail', options, options.snapshot ? 120_000 : 5000);
}
