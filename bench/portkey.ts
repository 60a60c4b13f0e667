/**
 * `@portkey-ai/gateway` as the comparison: installed for the benchmark only (scripts/bench.sh,
 * into .bench/portkey), run headless with NODE_ENV=production on the same fake upstream.
 * Anything that stops it (not installed, does not start, does not proxy) makes its rows
 * "unavailable (reason)" instead of failing the run.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { http } from './load';
import { freePort, logTail, ROOT, start, waitReady } from './procs';

export const PORTKEY_VERSION = '1.15.2';

export type Portkey =
  | {
      available: true;
      url: string;
      child: ChildProcess;
      version: string;
      headers: Record<string, string>;
    }
  | { available: false; reason: string };

/** The package's own `bin` entry (a string, or the first of a map), as a path. */
function binOf(packageDir: string): string {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    version?: string;
    bin?: string | Record<string, string>;
  };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : Object.values(pkg.bin ?? {})[0];
  if (!bin) throw new Error('its package.json declares no bin');
  return join(packageDir, bin);
}

export async function startPortkey(upstreamUrl: string): Promise<Portkey> {
  if (process.env.BENCH_PORTKEY === '0') {
    return { available: false, reason: 'disabled with BENCH_PORTKEY=0' };
  }
  if (process.env.BENCH_PORTKEY_INSTALL_ERROR) {
    return { available: false, reason: process.env.BENCH_PORTKEY_INSTALL_ERROR };
  }
  const prefix = process.env.BENCH_PORTKEY_DIR ?? '.bench/portkey';
  const packageDir = join(
    isAbsolute(prefix) ? prefix : join(ROOT, prefix),
    'node_modules/@portkey-ai/gateway',
  );
  if (!existsSync(join(packageDir, 'package.json'))) {
    return { available: false, reason: `not installed (${packageDir} missing)` };
  }
  let script: string;
  let version: string;
  try {
    script = binOf(packageDir);
    version = (
      JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch (err) {
    return { available: false, reason: `unreadable package: ${(err as Error).message}` };
  }
  const port = await freePort();
  const child = start('portkey', [script, '--headless', `--port=${port}`], {
    NODE_ENV: 'production',
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(`${url}/`, child, 'Portkey', { anyStatus: true, timeoutMs: 30_000 });
  } catch (err) {
    child.kill('SIGKILL');
    return {
      available: false,
      reason: `did not start: ${(err as Error).message}; log: ${logTail('portkey', 3)}`,
    };
  }
  const headers = {
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': `${upstreamUrl}/v1`,
    authorization: 'Bearer x',
  };
  try {
    const probe = await http(
      `${url}/v1/chat/completions`,
      'POST',
      { model: 'bench-model', messages: [{ role: 'user', content: 'probe' }], max_tokens: 16 },
      headers,
    );
    const body = probe.status === 200 ? (JSON.parse(probe.text) as { choices?: unknown[] }) : null;
    if (!body?.choices?.length) {
      throw new Error(`HTTP ${probe.status} ${probe.text.slice(0, 200)}`);
    }
  } catch (err) {
    child.kill('SIGKILL');
    return {
      available: false,
      reason: `does not proxy to the fake upstream: ${(err as Error).message}`,
    };
  }
  return { available: true, url, child, version, headers };
}
