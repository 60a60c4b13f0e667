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
# Every run shuffles the tests of each file (jest --randomize): any order must pass. The seed is
# printed before and after the run; TEST_SEED=N replays one order.
seed="${TEST_SEED:-$(( (RANDOM << 15 | RANDOM) % 2147483647 ))}"
echo "test order: jest --randomize --seed=$seed (replay: TEST_SEED=$seed npm test)"
npx jest --config jest.config.js --runInBand --randomize --seed="$seed" --json --outputFile=.test-services/jest.json "$@"
status=$?
[ "$status" = 0 ] || echo "test order was seed $seed: replay it with TEST_SEED=$seed npm test"
node scripts/test-summary.js
exit $status
