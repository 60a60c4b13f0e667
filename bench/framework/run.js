/**
 * `npm run bench:framework`: how much of a gateway route's cost is the HTTP framework, measured
 * here rather than assumed. A minimal Nest service shaped like the hot route (a guard, one
 * interceptor, a class-validator body, a small JSON answer; app.js) runs on Express and on Fastify,
 * with and without the ValidationPipe, each measured at 50 connections (req/s) and at concurrency
 * 1 (mean ms) with autocannon, alternating adapters over ROUNDS rounds (default 2) so a noisy
 * machine hits both alike. @nestjs/platform-fastify and autocannon are installed into
 * .bench/framework for this only (scripts/bench-framework.sh); neither is a Tollgate dependency.
 */
'use strict';
const { fork } = require('node:child_process');
const { join } = require('node:path');
const autocannon = require('autocannon');

const body = JSON.stringify({
  model: 'm',
  messages: [{ role: 'user', content: 'hello there' }],
  max_tokens: 16,
});
const ROUTES = {
  health: { method: 'GET', path: '/health' },
  chat: {
    method: 'POST',
    path: '/v1/chat/completions',
    body,
    headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
  },
};

async function measure(adapter, validate, port) {
  const child = fork(join(__dirname, 'app.js'), [adapter, String(port)], {
    env: { ...process.env, ...(validate ? {} : { NOVALID: '1' }) },
  });
  await new Promise((resolve) => child.once('message', resolve));
  const out = {};
  for (const [name, route] of Object.entries(ROUTES)) {
    const url = `http://127.0.0.1:${port}${route.path}`;
    await autocannon({ url, ...route, connections: 50, duration: 2 });
    const load = await autocannon({ url, ...route, connections: 50, duration: 8 });
    const one = await autocannon({ url, ...route, connections: 1, amount: 2000 });
    const bad = load.errors + load.non2xx + one.errors + one.non2xx;
    out[name] = { rps: Math.round(load.requests.average), c1: one.latency.average, bad };
  }
  child.kill();
  return out;
}

(async () => {
  const rounds = Number(process.env.ROUNDS ?? 2);
  const rows = [];
  let port = 47100;
  for (let round = 1; round <= rounds; round++) {
    for (const validate of [true, false]) {
      for (const adapter of ['express', 'fastify']) {
        rows.push({ round, adapter, validate, ...(await measure(adapter, validate, port++)) });
      }
    }
  }
  console.log(
    '| round | adapter | ValidationPipe | /health req/s | /health c=1 ms | chat req/s | chat c=1 ms | non-2xx |',
  );
  console.log('|--:|---|---|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    console.log(
      `| ${r.round} | ${r.adapter} | ${r.validate ? 'on' : 'off'} | ${r.health.rps} | ${r.health.c1.toFixed(2)} | ${r.chat.rps} | ${r.chat.c1.toFixed(2)} | ${r.health.bad + r.chat.bad} |`,
    );
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
