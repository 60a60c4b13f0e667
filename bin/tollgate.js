#!/usr/bin/env node
// `npx tollgate …` from the repo: runs the built CLI (dist/apps/cli/main.js), building it on first
// use (`npm run build` builds it too).
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const main = path.join(root, 'dist/apps/cli/main.js');
if (!existsSync(main)) {
  process.stderr.write('Building the tollgate CLI (nest build cli)…\n');
  const built = spawnSync('npx', ['nest', 'build', 'cli'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
require(main);
