#!/usr/bin/env bash
# `npm run bench:framework`: Nest on Express vs Fastify for a route shaped like the gateway's hot
# route (bench/framework/run.js). Installs its two extra packages into .bench/framework (never a
# dependency of Tollgate); the Nest packages come from the project's node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.bench/framework
nest=$(node -p "require('@nestjs/core/package.json').version")
if [ ! -f "$dir/node_modules/autocannon/package.json" ] || [ ! -f "$dir/node_modules/@nestjs/platform-fastify/package.json" ]; then
  mkdir -p "$dir"
  npm install --no-save --no-audit --no-fund --prefix "$dir" "@nestjs/platform-fastify@${nest%%.*}" autocannon@9 --legacy-peer-deps >/dev/null
fi
NODE_PATH="$PWD/$dir/node_modules:$PWD/node_modules" node bench/framework/run.js
