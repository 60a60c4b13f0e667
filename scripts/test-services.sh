#!/usr/bin/env bash
# Installs (if missing) and starts a private PostgreSQL and Redis for the test suite.
# Usage: source scripts/test-services.sh start|stop   (exports DATABASE_URL and REDIS_URL on start)
# TEST_PG_PORT / TEST_REDIS_PORT choose the ports, TEST_SERVICES_DIR the state directory
# (default .test-services; scripts/test-reliability.sh keeps its own servers apart).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${TEST_SERVICES_DIR:-$ROOT/.test-services}"
PG_PORT="${TEST_PG_PORT:-55432}"
REDIS_PORT="${TEST_REDIS_PORT:-56379}"

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

install_missing() {
  local need=()
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  if [ ${#need[@]} -gt 0 ]; then
    echo "test-services: installing ${need[*]} with apt-get"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
    # Debian starts the packaged services; the tests use their own private instances.
    as_root service postgresql stop >/dev/null 2>&1 || true
    as_root service redis-server stop >/dev/null 2>&1 || true
  fi
}

run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  install_missing
  mkdir -p "$STATE"
  local bin; bin="$(pg_bin)"
  if ! run_pg "$bin/pg_ctl" -D "$STATE/pg" status >/dev/null 2>&1; then
    rm -rf "$STATE/pg"
    mkdir -p "$STATE/pg"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$STATE/pg"
    [ "$(id -u)" = 0 ] && chmod 755 "$STATE"
    run_pg "$bin/initdb" -D "$STATE/pg" -A trust -U postgres >/dev/null
    run_pg "$bin/pg_ctl" -D "$STATE/pg" -l "$STATE/pg/server.log" -w \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
  fi
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
      --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log"
    for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
  echo "test-services: postgres on $PG_PORT, redis on $REDIS_PORT"
}

stop() {
  local bin; bin="$(pg_bin)"
  [ -n "$bin" ] && run_pg "$bin/pg_ctl" -D "$STATE/pg" -m fast stop >/dev/null 2>&1 || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
