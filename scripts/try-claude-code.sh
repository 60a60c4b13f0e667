#!/usr/bin/env bash
# Claude Code against a local Tollgate, end to end, offline (not part of CI).
#
#   bash scripts/try-claude-code.sh                # uses ports 8004 (admin) / 8003 (gateway)
#   ADMIN_PORT=18004 GATEWAY_PORT=18003 EMBEDDED_PG_PORT=55329 bash scripts/try-claude-code.sh
#
# 1. starts both services on the embedded default (`npm start`: embedded PostgreSQL, in-process
#    cache), in a fresh data directory so nothing of an earlier run is reused;
# 2. creates, through admin-api, an organization, a `mock` deployment named `demo`, a group and a
#    team with 100 credits (job_based: 1 credit per job), and keeps the team's virtual key;
# 3. runs `npx -y @anthropic-ai/claude-code -p "say hi"` in headless mode with
#    ANTHROPIC_BASE_URL pointed at the gateway and ANTHROPIC_AUTH_TOKEN = the virtual key
#    (HOME in a temp dir, telemetry and non-essential traffic off);
# 4. prints the team's jobs and the calls of the newest one as admin-api records them (call rows
#    with tokens and cost), and the team's balance: Claude Code's request was billed.
# Needs the npm registry once, for @anthropic-ai/claude-code (npx caches it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADMIN_PORT="${ADMIN_PORT:-8004}"
GATEWAY_PORT="${GATEWAY_PORT:-8003}"
ADMIN="http://127.0.0.1:$ADMIN_PORT"
GATEWAY="http://127.0.0.1:$GATEWAY_PORT"
MASTER="${MASTER_KEY:-sk-admin-local-dev-change-in-production}"
WORK="$(mktemp -d -t tollgate-claude-XXXXXX)"
chmod 755 "$WORK" # embedded PostgreSQL runs as the postgres user when started as root
PROMPT="${PROMPT:-say hi}"

cleanup() {
  if [ -n "${SERVICES_PID:-}" ]; then
    kill "$SERVICES_PID" 2>/dev/null || true
    wait "$SERVICES_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting admin-api (:$ADMIN_PORT) and team-gateway (:$GATEWAY_PORT); log: $WORK/services.log"
(
  cd "$ROOT"
  ADMIN_PORT="$ADMIN_PORT" GATEWAY_PORT="$GATEWAY_PORT" TOLLGATE_DATA_DIR="$WORK/data" \
    LOG_LEVEL="${LOG_LEVEL:-warn}" exec node scripts/dev.js
) >"$WORK/services.log" 2>&1 &
SERVICES_PID=$!
for _ in $(seq 1 600); do
  curl -fs "$GATEWAY/health/ready" >/dev/null 2>&1 && break
  if ! kill -0 "$SERVICES_PID" 2>/dev/null; then
    cat "$WORK/services.log"
    echo "the services did not start" >&2
    exit 1
  fi
  sleep 0.5
done
curl -fs "$GATEWAY/health/ready" >/dev/null || {
  cat "$WORK/services.log"
  exit 1
}

admin() { # METHOD PATH [JSON]
  curl -fsS -X "$1" "$ADMIN$2" -H "X-Admin-Key: $MASTER" -H 'Content-Type: application/json' \
    ${3:+-d "$3"}
}

echo "== creating organization, mock deployment 'demo', group and team through admin-api"
admin POST /api/organizations/create '{"organization_id":"acme","name":"Acme"}' >/dev/null
admin POST /api/models/create '{"model_name":"demo","provider":"mock","provider_model":"mock-1",
  "input_price_per_million":3,"output_price_per_million":15}' >/dev/null
admin POST /api/model-groups/create '{"group_name":"claude","models":["demo"]}' >/dev/null
KEY="$(admin POST /api/teams/create '{"organization_id":"acme","team_id":"eng",
  "model_groups":["claude"],"credits_allocated":100}' | jq -r .virtual_key)"
echo "   virtual key: ${KEY:0:7}…"

echo "== claude -p \"$PROMPT\" (ANTHROPIC_BASE_URL=$GATEWAY)"
mkdir -p "$WORK/home"
set +e
HOME="$WORK/home" \
  ANTHROPIC_BASE_URL="$GATEWAY" \
  ANTHROPIC_AUTH_TOKEN="$KEY" \
  ANTHROPIC_MODEL=demo \
  ANTHROPIC_SMALL_FAST_MODEL=demo \
  ANTHROPIC_DEFAULT_HAIKU_MODEL=demo \
  ANTHROPIC_DEFAULT_SONNET_MODEL=demo \
  ANTHROPIC_DEFAULT_OPUS_MODEL=demo \
  DISABLE_TELEMETRY=1 \
  DISABLE_AUTOUPDATER=1 \
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 \
  npx -y @anthropic-ai/claude-code -p "$PROMPT" --model demo
CLAUDE_EXIT=$?
set -e
echo "   (claude exited $CLAUDE_EXIT)"

echo "== the team's jobs (admin-api GET /api/jobs/teams/eng)"
JOBS="$(admin GET /api/jobs/teams/eng)"
echo "$JOBS" | jq '.items // .data // . | map({job_id, job_type, status, total_calls: (.costs.total_calls // .total_calls), credits_charged: (.costs.credits_charged // .credits_charged)})? // .'
JOB="$(echo "$JOBS" | jq -r '(.items // .data // .)[0].job_id // empty')"
if [ -n "$JOB" ]; then
  echo "== its calls (admin-api GET /api/jobs/teams/eng/$JOB)"
  admin GET "/api/jobs/teams/eng/$JOB" | jq '{job_id, job_type, status, calls: [(.calls // [])[] |
    {model, provider, status, streamed, prompt_tokens, completion_tokens, cost_usd, credits_charged}]}'
fi
echo "== the team's balance (gateway GET /api/credits/balance)"
curl -fsS "$GATEWAY/api/credits/balance" -H "Authorization: Bearer $KEY" | jq .
exit "$CLAUDE_EXIT"
