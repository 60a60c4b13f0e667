/**
 * The soak of docs/reliability.md (issue 10, item 4):
 *   node -r ts-node/register/transpile-only test/reliability/soak.ts
 * (`npm run test:reliability` runs it last; DATABASE_URL and REDIS_URL name the servers, e.g. those
 * of scripts/test-services.sh). Boots the built admin-api and two team-gateway replicas as real
 * processes (`dist/`, each with --expose-gc and test/reliability/gc-probe.js, asked over IPC
 * only), a fake upstream in this process, and runs SOAK_SECONDS of mixed load: calls and streams
 * on a job_based team, /v1 calls, streams aborted by the client after the first chunk and
 * streams the upstream stalls on a consumption_tokens team, upstream 503s and upstream hangs
 * (the gateway's timeout answers), reads, key rotations, keys created and revoked, and credits
 * added. Every SOAK_SAMPLE_SECONDS it samples each process's heap used after a forced full
 * collection and its RSS; the load pauses (nothing in flight) for the samples that decide:
 * one at the end of the warm-up (SOAK_WARMUP_SECONDS) and one at the end. Then it stops the
 * gateways gracefully and checks the books. Exits 1 when heap growth after warm-up exceeds
 * 10 %, a request got an unexpected answer (any 500, or a valid call not served), or the books
 * are off. Figures go to stdout and, with RELIABILITY_REPORT_DIR, to <dir>/soak.json.
 * SOAK_HEAP_SNAPSHOTS=1 also writes heap snapshots of each gateway at both pauses (to the
 * log directory) to find what a leak retains.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { Agent, request } from 'undici';
import { freePort, rssMb, stopGracefully, waitReady } from '../../bench/procs';
import { FakeUpstream, startFakeUpstream } from '../fake-upstream/server';

const ROOT = join(__dirname, '../..');
const num = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const SECONDS = num('SOAK_SECONDS', 600);
const WARMUP_SECONDS = Math.min(num('SOAK_WARMUP_SECONDS', 60), SECONDS / 2);
const SAMPLE_SECONDS = num('SOAK_SAMPLE_SECONDS', 15);
const CONCURRENCY = num('SOAK_CONCURRENCY', 8);
const MAX_GROWTH = 0.1;
const LOGS = join(ROOT, process.env.SOAK_LOG_DIR ?? '.test-services/soak');
const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:56379';
const UPSTREAM_TIMEOUT_MS = 1500;

const log = (line: string) => console.log(`soak ${new Date().toISOString().slice(11, 19)} ${line}`);

const agent = new Agent({ connections: 64, headersTimeout: 30_000, bodyTimeout: 30_000 });

interface Reply {
  status: number;
  body: any;
}

async function http(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Reply> {
  const res = await request(url, {
    method: method as 'GET',
    dispatcher: agent,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // left as text
  }
  return { status: res.statusCode, body: parsed };
}

/**
 * A streamed POST: read to the end (`abortAfterFirst` false) or dropped by the client once the
 * first SSE `data:` arrived. `done` says whether the stream ended with `data: [DONE]`.
 */
async function stream(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  abortAfterFirst: boolean,
): Promise<{ status: number; done: boolean; aborted: boolean }> {
  const controller = new AbortController();
  const res = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    return { status: res.statusCode, done: false, aborted: false };
  }
  let seen = '';
  try {
    for await (const chunk of res.body) {
      seen = (seen + String(chunk)).slice(-256);
      if (abortAfterFirst && seen.includes('data:')) {
        controller.abort();
        return { status: 200, done: false, aborted: true };
      }
    }
  } catch (err) {
    if (controller.signal.aborted) return { status: 200, done: false, aborted: true };
    throw err;
  }
  return { status: 200, done: seen.includes('[DONE]'), aborted: false };
}

// ---- processes ----

interface Proc {
  name: string;
  url: string;
  child: ChildProcess;
}

function spawnApp(
  name: string,
  app: 'admin-api' | 'team-gateway',
  port: number,
  env: Record<string, string>,
): Proc {
  mkdirSync(LOGS, { recursive: true });
  const out = openSync(join(LOGS, `${name}.log`), 'w');
  const child = spawn(
    process.execPath,
    ['--expose-gc', '-r', './test/reliability/gc-probe.js', `dist/apps/${app}/main.js`],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env, PORT: String(port) },
      stdio: ['ignore', out, out, 'ipc'],
    },
  );
  return { name, url: `http://127.0.0.1:${port}`, child };
}

/** Asks a process started with gc-probe.js; null after `timeoutMs` or once it has exited. */
function ask<T>(
  child: ChildProcess,
  message: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<T | null> {
  return new Promise((resolve) => {
    if (!child.connected) return resolve(null);
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(null);
    }, timeoutMs);
    const onMessage = (answer: { type?: string }) => {
      if (answer?.type !== message.type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(answer as T);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

interface MemorySample {
  t: number;
  phase: 'load' | 'paused';
  /** MB per process name: heap used after a full collection, and RSS after it. */
  heap: Record<string, number>;
  rss: Record<string, number>;
}

const mb = (bytes: number) => Math.round(bytes / 104857.6) / 10;

async function sampleMemory(procs: Proc[], t: number, phase: MemorySample['phase']) {
  const sample: MemorySample = { t, phase, heap: {}, rss: {} };
  for (const p of procs) {
    const m = await ask<{ heapUsed: number; rss: number; collected: boolean }>(p.child, {
      type: 'memory',
    });
    if (!m?.collected) throw new Error(`${p.name} did not answer the memory probe`);
    sample.heap[p.name] = mb(m.heapUsed);
    sample.rss[p.name] = rssMb(p.child.pid) ?? mb(m.rss);
  }
  return sample;
}

// ---- the load ----

type Kind =
  'call' | 'stream' | 'v1' | 'v1-abort' | 'v1-stall' | 'upstream-503' | 'upstream-hang' | 'read';

/** Share of the requests of each kind, and the answers that count as expected. */
const MIX: Array<{ kind: Kind; weight: number; expect: (status: number) => boolean }> = [
  { kind: 'call', weight: 28, expect: (s) => s === 200 },
  { kind: 'stream', weight: 18, expect: (s) => s === 200 },
  { kind: 'v1', weight: 16, expect: (s) => s === 200 },
  { kind: 'v1-abort', weight: 12, expect: (s) => s === 200 },
  { kind: 'v1-stall', weight: 4, expect: (s) => s === 200 },
  // the upstream's failure passed on as the gateway's own 5xx with a code (never a plain 500)
  { kind: 'upstream-503', weight: 10, expect: (s) => s >= 502 && s <= 504 },
  { kind: 'upstream-hang', weight: 4, expect: (s) => s === 504 || s === 502 },
  { kind: 'read', weight: 8, expect: (s) => s === 200 },
];
const TOTAL_WEIGHT = MIX.reduce((a, m) => a + m.weight, 0);

interface Tally {
  sent: number;
  expected: number;
  statuses: Record<string, number>;
  /** Non-stream 200s and streams read to [DONE] (what the books must charge). */
  served: number;
  aborted: number;
  /** Streams the upstream stalled on: 200, then ended by the gateway's idle timeout. */
  cut: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  const server = new Client({ connectionString: SERVER_URL });
  await server.connect();
  const dbName = `tollgate_soak_${process.pid}`;
  await server.query(`DROP DATABASE IF EXISTS ${dbName}`);
  await server.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(SERVER_URL);
  dbUrl.pathname = `/${dbName}`;

  const fake: FakeUpstream = await startFakeUpstream();
  fake.setBehavior({
    chunks: 8,
    perModel: {
      'soak-chat': { chunkDelayMs: 15 },
      'soak-503': { mode: 'status', status: 503 },
      'soak-hang': { mode: 'hang' },
      'soak-stall': { mode: 'stall', dropAfterChunks: 2 },
    },
  });
  const forget = setInterval(() => (fake.requests.length = 0), 1000);

  const masterKey = `sk-admin-soak-${randomBytes(24).toString('hex')}`;
  const common = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    MASTER_KEY: masterKey,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'warn',
    TOLLGATE_DATA_DIR: join(LOGS, 'data'),
    UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
    UPSTREAM_STREAM_IDLE_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
  };
  const admin = spawnApp('admin-api', 'admin-api', await freePort(), common);
  await waitReady(`${admin.url}/health/ready`, admin.child, 'admin-api'); // migrates
  const gateways = [
    spawnApp('gateway-a', 'team-gateway', await freePort(), common),
    spawnApp('gateway-b', 'team-gateway', await freePort(), common),
  ];
  await Promise.all(gateways.map((g) => waitReady(`${g.url}/health/ready`, g.child, g.name)));
  const procs = [admin, ...gateways];
  const stopAll = () => Promise.all(procs.map((p) => stopGracefully(p.child, 30_000)));
  const failures: string[] = [];
  /** Ends the load loops and the operator (also when the run fails half-way). */
  let stopped = false;

  try {
    // ---- set-up through the admin API ----
    const adminHeaders = { 'x-admin-key': masterKey };
    const adminCall = async (method: string, path: string, body?: unknown, status = 201) => {
      const res = await http(`${admin.url}${path}`, method, body, adminHeaders);
      if (res.status !== status)
        throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    const org = `soak-${randomBytes(3).toString('hex')}`;
    await adminCall('POST', '/api/organizations/create', { organization_id: org, name: 'Soak' });
    const credential = await adminCall('POST', '/api/provider-credentials/create', {
      organization_id: org,
      provider: 'openai-compatible',
      credential_name: 'fake',
      api_key: `sk-fake-${randomBytes(8).toString('hex')}`,
      api_base: `${fake.url}/v1`,
    });
    const models = ['soak-chat', 'soak-503', 'soak-hang', 'soak-stall'];
    for (const model of models) {
      await adminCall('POST', '/api/models/create', {
        model_name: model,
        provider: 'openai-compatible',
        provider_model: model,
        credential_id: credential.credential_id,
        input_price_per_million: 1,
        output_price_per_million: 2,
      });
    }
    await adminCall('POST', '/api/model-groups/create', { group_name: org, models });
    const INITIAL = 1_000_000_000;
    const newTeam = async (id: string, extra: Record<string, unknown>) => {
      const body = await adminCall('POST', '/api/teams/create', {
        organization_id: org,
        team_id: id,
        model_groups: [org],
        credits_allocated: INITIAL,
        ...extra,
      });
      return { id, key: body.virtual_key as string, keyId: body.key_id as string };
    };
    const jobTeam = await newTeam(`${org}-jobs`, { budget_mode: 'job_based' });
    const tokenTeam = await newTeam(`${org}-tokens`, {
      budget_mode: 'consumption_tokens',
      tokens_per_credit: 1,
    });
    const added: Record<string, number> = { [jobTeam.id]: 0, [tokenTeam.id]: 0 };
    const control = { rotations: 0, keysRevoked: 0, creditAdds: 0, oldKeysAccepted: 0 };

    // ---- load loops ----
    const tally = new Map<Kind, Tally>(
      MIX.map((m) => [
        m.kind,
        { sent: 0, expected: 0, statuses: {}, served: 0, aborted: 0, cut: 0 },
      ]),
    );
    const unexpected: string[] = [];
    let paused = false;
    let inFlight = 0;
    const messages = (n: number) => [{ role: 'user', content: `soak request ${n}: say something` }];
    const one = async (kind: Kind, gw: Proc, n: number) => {
      const job = { Authorization: `Bearer ${jobTeam.key}` };
      const tok = { Authorization: `Bearer ${tokenTeam.key}` };
      const createAndCall = (model: string) =>
        http(
          `${gw.url}/api/jobs/create-and-call`,
          'POST',
          { job_type: 'soak', model, messages: messages(n) },
          job,
        );
      switch (kind) {
        case 'call':
          return { status: (await createAndCall('soak-chat')).status, served: true };
        case 'upstream-503':
          return { status: (await createAndCall('soak-503')).status, served: false };
        case 'upstream-hang':
          return { status: (await createAndCall('soak-hang')).status, served: false };
        case 'stream': {
          const r = await stream(
            `${gw.url}/api/jobs/create-and-call-stream`,
            { job_type: 'soak', model: 'soak-chat', messages: messages(n) },
            job,
            false,
          );
          // -1: a 200 whose stream ended without data: [DONE]
          return { status: r.status === 200 && !r.done ? -1 : r.status, served: r.done };
        }
        case 'v1': {
          const r = await http(
            `${gw.url}/v1/chat/completions`,
            'POST',
            { model: 'soak-chat', messages: messages(n) },
            tok,
          );
          return { status: r.status, served: true };
        }
        case 'v1-abort':
        case 'v1-stall': {
          const r = await stream(
            `${gw.url}/v1/chat/completions`,
            {
              model: kind === 'v1-abort' ? 'soak-chat' : 'soak-stall',
              messages: messages(n),
              stream: true,
              stream_options: { include_usage: true },
            },
            tok,
            kind === 'v1-abort',
          );
          return {
            status: r.status,
            served: false,
            aborted: r.aborted,
            cut: kind === 'v1-stall' && r.status === 200,
          };
        }
        case 'read': {
          const path = n % 2 ? '/v1/models' : '/api/teams/verify';
          return {
            status: (await http(`${gw.url}${path}`, 'GET', undefined, n % 2 ? tok : job)).status,
            served: false,
          };
        }
      }
    };
    const pick = (): (typeof MIX)[number] => {
      let r = Math.random() * TOTAL_WEIGHT;
      for (const m of MIX) if ((r -= m.weight) < 0) return m;
      return MIX[0];
    };
    const loop = async (i: number) => {
      for (let n = 0; !stopped; n++) {
        if (paused) {
          await sleep(50);
          continue;
        }
        const m = pick();
        const t = tally.get(m.kind)!;
        t.sent += 1;
        inFlight += 1;
        let status = 0;
        let error = '';
        try {
          const r = await one(m.kind, gateways[(i + n) % 2], i * 1_000_000 + n);
          status = r.status;
          if (r.served && m.expect(status)) t.served += 1;
          if ('aborted' in r && r.aborted) t.aborted += 1;
          if ('cut' in r && r.cut) t.cut += 1;
        } catch (err) {
          error = (err as Error).message;
        } finally {
          inFlight -= 1;
        }
        t.statuses[status] = (t.statuses[status] ?? 0) + 1;
        if (m.expect(status)) t.expected += 1;
        else if (unexpected.length < 50) unexpected.push(`${m.kind} → ${status} ${error}`.trim());
      }
    };

    // ---- the operator, beside the load ----
    const operator = async () => {
      const teams = [jobTeam, tokenTeam];
      for (let tick = 1; !stopped; tick++) {
        await sleep(5000);
        if (stopped) break;
        const team = teams[tick % 2];
        try {
          const amount = 1000 + tick;
          await adminCall(
            'POST',
            `/api/credits/teams/${team.id}/add`,
            { credits: amount, reason: `soak ${tick}` },
            200,
          );
          added[team.id] += amount;
          control.creditAdds += 1;
          if (tick % 4 === 0) {
            // rotate with a 10 s grace (a request built with the old key just before may wait a
            // while on a loaded machine); the loops switch to the new key at once
            const oldKey = team.key;
            const rotated = await adminCall(
              'POST',
              `/api/keys/${team.keyId}/rotate`,
              { grace_period: '10s' },
              200,
            );
            team.key = rotated.virtual_key ?? rotated.key;
            team.keyId = rotated.key_id;
            control.rotations += 1;
            await sleep(11_500);
            for (const gw of gateways) {
              const res = await http(`${gw.url}/api/teams/verify`, 'GET', undefined, {
                Authorization: `Bearer ${oldKey}`,
              });
              if (res.status !== 401) control.oldKeysAccepted += 1;
            }
          }
          if (tick % 6 === 0) {
            const extra = await adminCall('POST', `/api/teams/${team.id}/keys`, {
              key_alias: `soak-${tick}`,
            });
            await http(`${gateways[tick % 2].url}/api/teams/verify`, 'GET', undefined, {
              Authorization: `Bearer ${extra.virtual_key}`,
            });
            await adminCall('DELETE', `/api/keys/${extra.key_id}`, undefined, 200);
            await sleep(1100);
            for (const gw of gateways) {
              const res = await http(`${gw.url}/api/teams/verify`, 'GET', undefined, {
                Authorization: `Bearer ${extra.virtual_key}`,
              });
              if (res.status !== 401) control.oldKeysAccepted += 1;
            }
            control.keysRevoked += 1;
          }
        } catch (err) {
          failures.push(`operator: ${(err as Error).message}`);
        }
      }
    };

    const samples: MemorySample[] = [];
    const t0 = Date.now();
    const elapsed = () => Math.round((Date.now() - t0) / 1000);
    /** Load paused and nothing in flight, then a sample (and heap snapshots if asked). */
    const quiet = async (label: string) => {
      paused = true;
      const deadline = Date.now() + 30_000;
      while (inFlight > 0 && Date.now() < deadline) await sleep(20);
      await sleep(2000); // background work of the last calls (journal batches, lease returns)
      const s = await sampleMemory(procs, elapsed(), 'paused');
      samples.push(s);
      if (process.env.SOAK_HEAP_SNAPSHOTS) {
        for (const gw of gateways) {
          const path = join(LOGS, `${gw.name}-${label}.heapsnapshot`);
          await ask(gw.child, { type: 'snapshot', path }, 600_000);
          log(`heap snapshot ${path}`);
        }
      }
      paused = false;
      return s;
    };

    log(
      `${SECONDS} s of load, ${CONCURRENCY} loops, warm-up ${WARMUP_SECONDS} s, sample every ${SAMPLE_SECONDS} s`,
    );
    const loops = Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => loop(i)));
    const operating = operator();
    let baseline: MemorySample | null = null;
    let nextSample = t0 + SAMPLE_SECONDS * 1000;
    while (Date.now() < t0 + SECONDS * 1000) {
      await sleep(Math.max(0, Math.min(nextSample, t0 + SECONDS * 1000) - Date.now()));
      if (!baseline && Date.now() >= t0 + WARMUP_SECONDS * 1000) {
        baseline = await quiet('baseline');
        log(
          `warm-up done: heap ${JSON.stringify(baseline.heap)} MB, rss ${JSON.stringify(baseline.rss)} MB`,
        );
      } else if (Date.now() < t0 + SECONDS * 1000) {
        const s = await sampleMemory(procs, elapsed(), 'load');
        samples.push(s);
        const sent = [...tally.values()].reduce((a, t) => a + t.sent, 0);
        log(
          `${s.t} s: ${sent} requests; heap ${JSON.stringify(s.heap)} MB; rss ${JSON.stringify(s.rss)} MB`,
        );
      }
      nextSample += SAMPLE_SECONDS * 1000;
    }
    const final = await quiet('final');
    stopped = true;
    await Promise.all([loops, operating]);
    const loadSeconds = (Date.now() - t0) / 1000;
    log(`load stopped after ${loadSeconds.toFixed(0)} s`);

    // ---- memory verdict: heap after GC, paused, end of warm-up → end ----
    const growth: Record<
      string,
      { heapMb: [number, number]; heap: number; rssMb: [number, number]; rss: number }
    > = {};
    for (const p of procs) {
      const b = baseline ?? samples[0];
      const g = (from: number, to: number) => Math.round(((to - from) / from) * 10000) / 10000;
      growth[p.name] = {
        heapMb: [b.heap[p.name], final.heap[p.name]],
        heap: g(b.heap[p.name], final.heap[p.name]),
        rssMb: [b.rss[p.name], final.rss[p.name]],
        rss: g(b.rss[p.name], final.rss[p.name]),
      };
      if (growth[p.name].heap > MAX_GROWTH)
        failures.push(
          `${p.name}: heap after GC grew ${(growth[p.name].heap * 100).toFixed(1)} % after warm-up (> 10 %)`,
        );
    }

    // ---- answers ----
    const requests = Object.fromEntries([...tally].map(([k, t]) => [k, t]));
    const internal = [...tally.values()].reduce((a, t) => a + (t.statuses['500'] ?? 0), 0);
    if (internal > 0) failures.push(`${internal} answers were 500`);
    const valid = ['call', 'stream', 'v1', 'v1-abort', 'v1-stall', 'read'] as Kind[];
    const validSent = valid.reduce((a, k) => a + tally.get(k)!.sent, 0);
    const validOk = valid.reduce((a, k) => a + tally.get(k)!.expected, 0);
    if (validOk < validSent)
      failures.push(`${validSent - validOk} of ${validSent} valid requests not served`);
    const errorKinds = ['upstream-503', 'upstream-hang'] as Kind[];
    for (const k of errorKinds) {
      const t = tally.get(k)!;
      if (t.expected < t.sent)
        failures.push(
          `${k}: ${t.sent - t.expected} unexpected answers ${JSON.stringify(t.statuses)}`,
        );
    }
    if (control.oldKeysAccepted > 0)
      failures.push(
        `${control.oldKeysAccepted} checks found a rotated or revoked key still accepted`,
      );

    // ---- books, with the gateways stopped (every lease and hold returned) ----
    const exits = await stopAll();
    const db = new Client({ connectionString: dbUrl.toString() });
    await db.connect();
    let books: Array<{ check: string; pass: boolean; detail: string }> = [];
    try {
      books = await checkBooks(db, {
        jobTeam: jobTeam.id,
        tokenTeam: tokenTeam.id,
        initial: INITIAL,
        added,
        jobServed: tally.get('call')!.served + tally.get('stream')!.served,
        v1Served: tally.get('v1')!.served,
        aborted: tally.get('v1-abort')!.aborted,
        cut: tally.get('v1-stall')!.cut,
      });
    } finally {
      await db.end();
    }
    for (const b of books) if (!b.pass) failures.push(`books: ${b.check}: ${b.detail}`);
    const ungraceful = exits.filter((e) => !e.graceful);
    if (ungraceful.length)
      failures.push(`${ungraceful.length} process(es) did not stop gracefully`);

    const report = {
      date: new Date(started).toISOString(),
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), shared; load average at end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')}`,
      node: process.version,
      settings: { SECONDS, WARMUP_SECONDS, SAMPLE_SECONDS, CONCURRENCY, UPSTREAM_TIMEOUT_MS },
      loadSeconds: Math.round(loadSeconds),
      requests,
      totalRequests: [...tally.values()].reduce((a, t) => a + t.sent, 0),
      control,
      growth,
      samples,
      books,
      unexpected,
      failures,
      pass: failures.length === 0,
    };
    printSummary(report);
    const dir = process.env.RELIABILITY_REPORT_DIR;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'soak.json'),
        JSON.stringify({ at: report.date, figures: report }, null, 2),
      );
    }
    process.exitCode = report.pass ? 0 : 1;
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    stopped = true;
    clearInterval(forget);
    await stopAll();
    await fake.close();
    await agent.close();
    if (!process.env.SOAK_KEEP_DB)
      await server.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await server.end();
  }
}

interface BooksInput {
  jobTeam: string;
  tokenTeam: string;
  initial: number;
  added: Record<string, number>;
  jobServed: number;
  v1Served: number;
  aborted: number;
  cut: number;
}

async function checkBooks(db: Client, b: BooksInput) {
  const checks: Array<{ check: string; pass: boolean; detail: string }> = [];
  const add = (check: string, pass: boolean, detail: string) =>
    checks.push({ check, pass, detail });
  const rows = await db.query(
    `SELECT t.team_id, t.credits_allocated::bigint AS allocated, t.credits_used::bigint AS used,
            t.credits_held::bigint AS held,
            (SELECT COALESCE(sum(credits_amount), 0)::bigint FROM credit_transactions c WHERE c.team_id = t.team_id) AS ledger,
            (SELECT count(*)::int FROM credit_holds h WHERE h.team_id = t.team_id) AS holds,
            (SELECT count(*)::int FROM credit_leases l WHERE l.team_id = t.team_id) AS leases,
            (SELECT count(*)::int FROM jobs j WHERE j.team_id = t.team_id AND j.status = 'completed') AS completed_jobs,
            (SELECT count(*)::int FROM jobs j WHERE j.team_id = t.team_id AND j.status IN ('pending', 'in_progress')) AS open_jobs,
            (SELECT count(*)::int FROM llm_calls c WHERE c.team_id = t.team_id AND c.status = 'success') AS success_calls,
            (SELECT count(*)::int FROM llm_calls c WHERE c.team_id = t.team_id AND c.status <> 'success') AS other_calls,
            (SELECT COALESCE(sum(credits_charged), 0)::bigint FROM llm_calls c WHERE c.team_id = t.team_id) AS charged,
            (SELECT COALESCE(jsonb_object_agg(status, n), '{}') FROM (SELECT status, count(*) AS n FROM llm_calls c WHERE c.team_id = t.team_id GROUP BY status) s) AS by_status
       FROM teams t WHERE t.team_id = ANY($1)`,
    [[b.jobTeam, b.tokenTeam]],
  );
  for (const r of rows.rows) {
    const n = (v: unknown) => Number(v);
    const team = r.team_id === b.jobTeam ? 'job_based team' : 'consumption_tokens team';
    add(
      `${team}: ledger sum = credits_allocated − credits_used`,
      n(r.ledger) === n(r.allocated) - n(r.used),
      `${r.ledger} vs ${r.allocated} − ${r.used}`,
    );
    add(
      `${team}: credits_allocated = initial + credits added`,
      n(r.allocated) === b.initial + b.added[r.team_id],
      `${r.allocated} vs ${b.initial} + ${b.added[r.team_id]}`,
    );
    add(
      `${team}: nothing held once the gateways stopped (holds, leases)`,
      n(r.held) === 0 && r.holds === 0 && r.leases === 0,
      `credits_held ${r.held}, hold rows ${r.holds}, lease rows ${r.leases}`,
    );
    if (r.team_id === b.jobTeam) {
      add(
        `${team}: credits_used = completed jobs = calls and streams the client was served`,
        n(r.used) === r.completed_jobs && r.completed_jobs === b.jobServed,
        `credits_used ${r.used}, completed jobs ${r.completed_jobs}, served ${b.jobServed}, open jobs ${r.open_jobs}`,
      );
    } else {
      add(
        `${team}: credits_used = Σ credits_charged of its calls`,
        n(r.used) === n(r.charged),
        `credits_used ${r.used}, Σ credits_charged ${r.charged}`,
      );
      add(
        `${team}: every /v1 call recorded once (served + aborted by the client + stalled upstream)`,
        r.success_calls + r.other_calls === b.v1Served + b.aborted + b.cut,
        `${r.success_calls} + ${r.other_calls} recorded; ${b.v1Served} served + ${b.aborted} aborted + ${b.cut} stalled`,
      );
      // a stream the client dropped after its first chunk may have been delivered whole already
      // (the client read late): success then. A stalled stream never is.
      add(
        `${team}: successful calls = served, plus aborted streams that had fully arrived`,
        r.success_calls >= b.v1Served && r.success_calls <= b.v1Served + b.aborted,
        `${r.success_calls} successful; ${b.v1Served} served, ${b.aborted} aborted; by status ${JSON.stringify(r.by_status)}`,
      );
    }
  }
  return checks;
}

function printSummary(r: {
  date: string;
  loadSeconds: number;
  totalRequests: number;
  requests: Record<string, Tally>;
  control: Record<string, number>;
  growth: Record<
    string,
    { heapMb: [number, number]; heap: number; rssMb: [number, number]; rss: number }
  >;
  books: Array<{ check: string; pass: boolean; detail: string }>;
  unexpected: string[];
  failures: string[];
  pass: boolean;
}) {
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
  console.log(`\nsoak ${r.date}: ${r.loadSeconds} s, ${r.totalRequests} requests`);
  for (const [kind, t] of Object.entries(r.requests))
    console.log(
      `  ${kind.padEnd(14)} sent ${String(t.sent).padStart(7)}  as expected ${String(t.expected).padStart(7)}  ${JSON.stringify(t.statuses)}`,
    );
  console.log(`  operator: ${JSON.stringify(r.control)}`);
  for (const [name, g] of Object.entries(r.growth))
    console.log(
      `  ${name.padEnd(10)} heap after GC ${g.heapMb[0]} → ${g.heapMb[1]} MB (${pct(g.heap)}), rss ${g.rssMb[0]} → ${g.rssMb[1]} MB (${pct(g.rss)})`,
    );
  for (const b of r.books) console.log(`  ${b.pass ? 'ok  ' : 'FAIL'} ${b.check}: ${b.detail}`);
  for (const u of r.unexpected.slice(0, 10)) console.log(`  unexpected: ${u}`);
  for (const f of r.failures) console.log(`  FAILURE: ${f}`);
  console.log(r.pass ? 'soak: PASS' : 'soak: FAIL');
}

void main();
