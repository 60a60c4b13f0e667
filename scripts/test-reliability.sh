#!/usr/bin/env bash
# `npm run test:reliability`: the reliability run of docs/reliability.md (issue 10, items 1-7),
# about 25 minutes. Starts its own PostgreSQL and Redis (scripts/test-services.sh, in
# .test-services/reliability on ports TEST_PG_PORT / TEST_REDIS_PORT, default 55450 / 56450) and
# stops them at the end; every spec starts two gateway replicas itself and stops / hangs / starts
# the servers it is about. Steps:
#   Redis outage (OUTAGE_SECONDS=30), Postgres outage (OUTAGE_SECONDS=30, test/postgres-outage*),
#   dead replica, hostile input + audit transaction, security probes + secret scan,
#   fuzz (test/fuzz/*, FUZZ_REQUESTS=10000), soak (SOAK_SECONDS=600, test/reliability/soak.ts).
# A step whose specs are absent is skipped with a message. Ends with a summary table and the
# closing line `N passed, N failed` (steps). Options (env): OUTAGE_SECONDS, FUZZ_REQUESTS,
# SOAK_SECONDS, RELIABILITY_STEPS (space-separated step names to run, default all).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

# The whole script is one function, read by bash before it runs: editing this file while a run
# is under way cannot change what that run does.
main() {

export TEST_PG_PORT="${TEST_PG_PORT:-55450}" TEST_REDIS_PORT="${TEST_REDIS_PORT:-56450}"
export TEST_SERVICES_DIR="${TEST_SERVICES_DIR:-$ROOT/.test-services/reliability}"
export RELIABILITY_REPORT_DIR="$TEST_SERVICES_DIR/report"
export OUTAGE_SECONDS="${OUTAGE_SECONDS:-30}" FUZZ_REQUESTS="${FUZZ_REQUESTS:-10000}"
export SOAK_SECONDS="${SOAK_SECONDS:-600}"
STEPS="${RELIABILITY_STEPS:-redis-outage postgres-outage dead-replica hostile-input probes fuzz soak}"

[ -d node_modules ] || npm ci --no-audit --no-fund

# The soak runs the built apps: build when dist is missing or older than a source file.
newest_src=$(find apps/*/src libs -name '*.ts' ! -name '*.spec.ts' -newer dist/apps/team-gateway/main.js 2>/dev/null | head -1 || true)
if [ ! -f dist/apps/admin-api/main.js ] || [ ! -f dist/apps/team-gateway/main.js ] || [ -n "$newest_src" ]; then
  npm run build || exit 1
fi

started=0
redis-cli -p "$TEST_REDIS_PORT" ping >/dev/null 2>&1 || started=1
mkdir -p "$TEST_SERVICES_DIR"
source scripts/test-services.sh start || exit 1
set +e # test-services.sh sets -e; a failing step must not end the run before the summary
if [ "$started" = 1 ] && [ -z "${KEEP_TEST_SERVICES:-}" ]; then
  trap 'bash scripts/test-services.sh stop' EXIT
fi
rm -rf "$RELIABILITY_REPORT_DIR"
mkdir -p "$RELIABILITY_REPORT_DIR"
: >"$RELIABILITY_REPORT_DIR/steps.tsv"

# step NAME DESCRIPTION -- command...   (records status and seconds for the summary)
step() {
  local name=$1 about=$2
  shift 3
  local start=$SECONDS status
  echo
  echo "::: $name: $about"
  "$@"
  status=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - start))" "$about" >>"$RELIABILITY_REPORT_DIR/steps.tsv"
  echo "::: $name: exit $status after $((SECONDS - start)) s"
}

skip() {
  echo
  echo "::: $1: SKIPPED ($2)"
  printf '%s\tskipped\t0\t%s\n' "$1" "$2" >>"$RELIABILITY_REPORT_DIR/steps.tsv"
}

jest_e2e() {
  local name=$1
  shift
  npx jest --config jest.config.js --selectProjects e2e --runInBand \
    --json --outputFile="$RELIABILITY_REPORT_DIR/$name.jest.json" "$@"
}

# the existing files among the patterns (the globs of specs others may not have merged yet)
present() {
  local f
  for f in "$@"; do [ -f "$f" ] && echo "$f"; done
}

for s in $STEPS; do
  case "$s" in
  redis-outage)
    step redis-outage "Redis hung, then killed, ${OUTAGE_SECONDS} s, two replicas under load" -- \
      jest_e2e redis-outage test/redis-outage.e2e-spec.ts
    ;;
  postgres-outage)
    mapfile -t specs < <(present test/postgres-outage*.e2e-spec.ts)
    if [ ${#specs[@]} -eq 0 ]; then
      skip postgres-outage "no test/postgres-outage*.e2e-spec.ts in this checkout"
    else
      step postgres-outage "PostgreSQL stopped ${OUTAGE_SECONDS} s, two replicas under load" -- \
        jest_e2e postgres-outage "${specs[@]}"
    fi
    ;;
  dead-replica)
    step dead-replica "kill -9 of a replica with calls in flight" -- \
      jest_e2e dead-replica apps/team-gateway/test/dead-replica.e2e-spec.ts
    ;;
  hostile-input)
    step hostile-input "text PostgreSQL cannot store, deep JSON, audit in the change's transaction" -- \
      jest_e2e hostile-input test/hostile-input.e2e-spec.ts apps/admin-api/test/audit-transaction.e2e-spec.ts
    ;;
  probes)
    mapfile -t specs < <(present test/security-probes*.e2e-spec.ts test/route-auth.e2e-spec.ts test/no-secrets.e2e-spec.ts)
    step probes "OWASP API probes, route auth, secret scan" -- jest_e2e probes "${specs[@]}"
    ;;
  fuzz)
    mapfile -t specs < <(present test/fuzz/*.e2e-spec.ts)
    if [ ${#specs[@]} -eq 0 ]; then
      skip fuzz "no test/fuzz/*.e2e-spec.ts in this checkout"
    else
      step fuzz "OpenAPI fuzzer, FUZZ_REQUESTS=${FUZZ_REQUESTS}" -- jest_e2e fuzz "${specs[@]}"
    fi
    ;;
  soak)
    step soak "${SOAK_SECONDS} s of mixed load on two replicas, heap after GC, books" -- \
      node -r ts-node/register/transpile-only test/reliability/soak.ts
    ;;
  *)
    echo "test-reliability: unknown step $s" >&2
    printf '%s\t2\t0\tunknown step\n' "$s" >>"$RELIABILITY_REPORT_DIR/steps.tsv"
    ;;
  esac
done

node scripts/reliability-summary.js "$RELIABILITY_REPORT_DIR"
}

main "$@"
exit $?
