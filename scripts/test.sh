#!/usr/bin/env bash
# The whole test suite: unit specs, then e2e specs against real PostgreSQL and Redis
# (installed with apt-get if missing, started on private ports, stopped afterwards).
set -uo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund

# Stop the servers afterwards only if this run started them.
started=0
redis-cli -p "${TEST_REDIS_PORT:-56379}" ping >/dev/null 2>&1 || started=1
source scripts/test-services.sh start || exit 1
if [ "$started" = 1 ] && [ -z "${KEEP_TEST_SERVICES:-}" ]; then
  trap 'bash scripts/test-services.sh stop' EXIT
fi

# The console's browser test (test/console.e2e-spec.ts) drives Debian's chromium.
if [ ! -x /usr/bin/chromium ]; then
  echo "test: installing chromium with apt-get"
  sudo_=(); [ "$(id -u)" = 0 ] || sudo_=(sudo -n)
  "${sudo_[@]}" apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive "${sudo_[@]}" apt-get install -y -qq chromium >/dev/null ||
    { echo "test: could not install chromium"; exit 1; }
fi

mkdir -p .test-services
rm -f .test-services/jest.json
# TEST_RANDOMIZE=true shuffles the tests of each file (the seed is printed). Not yet on in CI: the
# fuzz spec and security-probes-mass-assignment still depend on the order of their tests.
order=()
[ "${TEST_RANDOMIZE:-}" = "true" ] && order=(--randomize)
npx jest --config jest.config.js --runInBand "${order[@]}" --json --outputFile=.test-services/jest.json "$@"
status=$?
node scripts/test-summary.js
exit $status
