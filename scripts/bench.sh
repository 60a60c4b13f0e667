#!/usr/bin/env bash
# `npm run bench`: the benchmark of docs/performance.md, in one process tree.
# - builds the apps when dist is missing or older than the sources,
# - installs @portkey-ai/gateway 1.15.2 into .bench/portkey (for the comparison only; never a
#   dependency of Tollgate) when it is missing; if that fails the run goes on without it,
# - starts a private PostgreSQL (its own data dir under .bench/, its own port, fsync=on,
#   synchronous_commit=on) and a private Redis, stopped and removed at the end whatever happens,
# - runs bench/run.ts, which writes docs/performance.md and bench/results/latest.json.
# Durations and sizes come from BENCH_* variables (see docs/performance.md); a quick smoke run:
#   BENCH_SECONDS=2 BENCH_REQUESTS=200 BENCH_KEYS=10000 BENCH_CALL_ROWS=100000 npm run bench
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
STATE="$ROOT/.bench"
export BENCH_T0="$(date +%s)"
# What the caller set, for the report's "command" line (before this script exports its own).
BENCH_USER_ENV="$(env | grep -E '^BENCH_[A-Z0-9_]+=' | grep -vE '^BENCH_(DATABASE_URL|REDIS_URL|T0|USER_ENV|PORTKEY_INSTALL_ERROR|BUILD_SECONDS)=' | sort | tr '\n' ' ' | sed 's/ $//' || true)"
export BENCH_USER_ENV

mkdir -p "$STATE"
chmod 755 "$STATE"

[ -d node_modules ] || npm ci --no-audit --no-fund

# ---- build when dist is missing or older than any source file ----
t=$(date +%s)
newest_src=$(find apps libs -name '*.ts' -newer dist/apps/team-gateway/main.js 2>/dev/null | head -1 || true)
if [ ! -f dist/apps/admin-api/main.js ] || [ ! -f dist/apps/team-gateway/main.js ] || [ -n "$newest_src" ]; then
  npm run build
  export BENCH_BUILD_SECONDS=$(($(date +%s) - t))
fi

# ---- Portkey, for the comparison rows ----
PORTKEY_VERSION=1.15.2
export BENCH_PORTKEY_DIR="$STATE/portkey"
portkey_pkg="$BENCH_PORTKEY_DIR/node_modules/@portkey-ai/gateway/package.json"
installed=$(node -e "try{console.log(require(process.argv[1]).version)}catch{}" "$portkey_pkg" 2>/dev/null || true)
if [ "${BENCH_PORTKEY:-1}" != 0 ] && [ "$installed" != "$PORTKEY_VERSION" ]; then
  echo "bench: installing @portkey-ai/gateway@$PORTKEY_VERSION into .bench/portkey (comparison only)"
  mkdir -p "$BENCH_PORTKEY_DIR"
  if ! timeout 300 npm install --no-save --no-audit --no-fund --prefix "$BENCH_PORTKEY_DIR" \
    "@portkey-ai/gateway@$PORTKEY_VERSION" >"$STATE/portkey-install.log" 2>&1; then
    reason=$(grep -E 'ERR!|error' "$STATE/portkey-install.log" | head -2 | tr '\n' ' ' | cut -c1-200)
    export BENCH_PORTKEY_INSTALL_ERROR="npm install @portkey-ai/gateway@$PORTKEY_VERSION failed: ${reason:-see .bench/portkey-install.log}"
    echo "bench: $BENCH_PORTKEY_INSTALL_ERROR (the run goes on without Portkey)"
  fi
fi

# ---- private PostgreSQL (fsync=on) and Redis ----
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

need=()
[ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]} with apt-get"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
  as_root service postgresql stop >/dev/null 2>&1 || true
  as_root service redis-server stop >/dev/null 2>&1 || true
fi
PG_BIN="$(pg_bin)"
PG_PORT="${BENCH_PG_PORT:-$(free_port)}"
PGDATA="$STATE/pg-$PG_PORT"
REDIS_PORT=""

cleanup() {
  run_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true
  if [ -n "$REDIS_PORT" ]; then redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
  [ -n "${BENCH_KEEP_DATA:-}" ] || rm -rf "$PGDATA" "$STATE/redis-$REDIS_PORT.pid" "$STATE/redis-$REDIS_PORT.log"
}
trap cleanup EXIT

rm -rf "$PGDATA"
mkdir -p "$PGDATA"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGDATA"; fi
run_pg "$PG_BIN/initdb" -D "$PGDATA" -A trust -U postgres >/dev/null
run_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -o "-p $PG_PORT -k /tmp \
  -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
  -c max_connections=200 -c max_wal_size=4GB ${BENCH_PG_OPTIONS:-}" start >/dev/null

REDIS_PORT="${BENCH_REDIS_PORT:-$(free_port)}"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
  --pidfile "$STATE/redis-$REDIS_PORT.pid" --logfile "$STATE/redis-$REDIS_PORT.log"
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "bench: postgres (fsync=on) on $PG_PORT, redis on $REDIS_PORT"

export BENCH_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export BENCH_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
# `bash scripts/bench.sh profile` (npm run bench:profile): a CPU profile of the hot path instead
node -r ts-node/register/transpile-only "bench/${1:-run}.ts"
