#!/usr/bin/env bash
# The whole test suite: unit specs, then e2e specs against real PostgreSQL and Redis
# (installed with apt-get if missing, started on private ports, stopped afterwards).
set -uo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund

source scripts/test-services.sh start || exit 1
[ -n "${KEEP_TEST_SERVICES:-}" ] || trap 'bash scripts/test-services.sh stop' EXIT

mkdir -p .test-services
npx jest --config jest.config.js --runInBand --json --outputFile=.test-services/jest.json "$@"
status=$?
node -e '
  const r = require("./.test-services/jest.json");
  const skipped = r.numPendingTests + r.numTodoTests;
  let line = `${r.numPassedTests} passed, ${r.numFailedTests} failed`;
  if (skipped) line += `, ${skipped} skipped`;
  if (r.numRuntimeErrorTestSuites) console.log(`${r.numRuntimeErrorTestSuites} test suites failed to run`);
  console.log(line);
' || echo "0 passed, 1 failed"
exit $status
