#!/usr/bin/env bash
# The benchmark harness: real PostgreSQL and Redis (the test services), the built apps as real
# processes, the fake upstream in a third. Prints JSON figures and writes bench/results/latest.json.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund

# Build when dist is missing or older than any source file.
newest_src=$(find apps libs -name '*.ts' -newer dist/apps/team-gateway/main.js 2>/dev/null | head -1 || true)
if [ ! -f dist/apps/admin-api/main.js ] || [ ! -f dist/apps/team-gateway/main.js ] || [ -n "$newest_src" ]; then
  npm run build
fi

started=0
redis-cli -p "${TEST_REDIS_PORT:-56379}" ping >/dev/null 2>&1 || started=1
source scripts/test-services.sh start
if [ "$started" = 1 ]; then trap 'bash scripts/test-services.sh stop' EXIT; fi

export BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:${TEST_PG_PORT:-55432}/postgres"
export BENCH_REDIS_URL="redis://127.0.0.1:${TEST_REDIS_PORT:-56379}"
node -r ts-node/register/transpile-only bench/run.ts
