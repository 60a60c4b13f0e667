#!/usr/bin/env node
// `npm run client [-- OUT_DIR]`: TypeScript types for both services from the committed OpenAPI
// documents (openapi-typescript), into libs/client/src/generated (CI writes them to a temp dir
// and diffs). `npm run openapi` regenerates the documents and then runs this.
'use strict';
const { execFileSync } = require('node:child_process');
const { mkdirSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.resolve(root, process.argv[2] ?? 'libs/client/src/generated');
const cli = path.join(
  path.dirname(require.resolve('openapi-typescript/package.json')),
  'bin/cli.js',
);
mkdirSync(out, { recursive: true });
for (const service of ['admin-api', 'team-gateway']) {
  execFileSync(
    process.execPath,
    [
      cli,
      path.join(root, 'openapi', `${service}.json`),
      '--output',
      path.join(out, `${service}.ts`),
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}
