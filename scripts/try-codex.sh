#!/usr/bin/env bash
# Codex CLI against a local Tollgate (not run in CI; needs the npm registry once, for @openai/codex).
#
#   bash scripts/try-codex.sh ["prompt"]
#
# 1. starts both services on the embedded default (`npm start`: embedded PostgreSQL, in-process
#    cache) with their data in a temp folder, unless a gateway already answers on GATEWAY_PORT
#    (then ADMIN_KEY must be that admin-api's master key);
# 2. creates through admin-api an organization, a `mock` deployment `codex-demo`, a group and a
#    team with 100 credits (job_based: 1 credit per completed job), and takes the team's virtual key;
# 3. runs `npx -y @openai/codex exec` with a custom model provider (wire_api = "responses",
#    base_url http://127.0.0.1:$GATEWAY_PORT/v1, the virtual key from the env var TOLLGATE_KEY)
#    in a temp CODEX_HOME, answering one prompt (web_search and sub-agents off: the mock
#    deployment is reached through chat completions, which takes function tools only);
# 4. prints the call rows the gateway billed for it (GET /api/jobs/teams/{team}) and the balance.
#
# Env: ADMIN_PORT (8004), GATEWAY_PORT (8003), ADMIN_KEY (the dev master key),
#      CODEX_VERSION (latest), KEEP=1 keeps the services running afterwards.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ADMIN_PORT="${ADMIN_PORT:-8004}"
GATEWAY_PORT="${GATEWAY_PORT:-8003}"
ADMIN_KEY="${ADMIN_KEY:-sk-admin-local-dev-change-in-production}"
CODEX_VERSION="${CODEX_VERSION:-latest}"
PROMPT="${1:-Say hello to Tollgate in one short sentence.}"
ADMIN="http://127.0.0.1:${ADMIN_PORT}"
GATEWAY="http://127.0.0.1:${GATEWAY_PORT}"
WORK="$(mktemp -d /tmp/tollgate-codex.XXXXXX)"
# the embedded PostgreSQL runs as the `postgres` user when started by root: it must reach its data
chmod 755 "$WORK"
SERVICES_PID=""

cleanup() {
  if [[ -n "$SERVICES_PID" && "${KEEP:-0}" == 1 ]]; then
    echo "Services left running (process group $SERVICES_PID; data in $WORK/data)"
    return
  fi
  if [[ -n "$SERVICES_PID" ]]; then
    # the whole process group: npm, dev.js and both services (which stop the embedded PostgreSQL)
    kill -TERM -- "-$SERVICES_PID" 2>/dev/null || true
    wait "$SERVICES_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(eval("v"+process.argv[1]))})' "$1"; }
admin() { curl -sS -X "$1" "$ADMIN$2" -H "X-Admin-Key: $ADMIN_KEY" -H 'Content-Type: application/json' ${3:+-d "$3"}; }

if curl -sf "$GATEWAY/health" >/dev/null 2>&1; then
  echo "Using the gateway already running on $GATEWAY"
else
  echo "Starting Tollgate (npm start; data in $WORK/data; log in $WORK/services.log)…"
  (cd "$ROOT" && ADMIN_PORT="$ADMIN_PORT" GATEWAY_PORT="$GATEWAY_PORT" TOLLGATE_DATA_DIR="$WORK/data" \
    exec setsid npm start >"$WORK/services.log" 2>&1) &
  SERVICES_PID=$!
  for _ in $(seq 1 480); do
    curl -sf "$GATEWAY/health/ready" >/dev/null 2>&1 && break
    if ! kill -0 "$SERVICES_PID" 2>/dev/null; then cat "$WORK/services.log"; exit 1; fi
    sleep 0.5
  done
  curl -sf "$GATEWAY/health/ready" >/dev/null || { cat "$WORK/services.log"; exit 1; }
fi

SUFFIX="$(date +%s)"
ORG="codex-org-$SUFFIX"
TEAM="codex-team-$SUFFIX"
GROUP="codex-group-$SUFFIX"
MODEL="codex-demo"
admin POST /api/organizations/create "{\"organization_id\":\"$ORG\",\"name\":\"Codex demo\"}" >/dev/null
# one mock deployment of the public name (created once per database; a second create is a 409 we ignore)
admin POST /api/models/create "{\"model_name\":\"$MODEL\",\"provider\":\"mock\",\"provider_model\":\"mock-1\",\"input_price_per_million\":1,\"output_price_per_million\":2}" >/dev/null || true
admin POST /api/model-groups/create "{\"group_name\":\"$GROUP\",\"models\":[\"$MODEL\"]}" >/dev/null
TEAM_JSON="$(admin POST /api/teams/create "{\"organization_id\":\"$ORG\",\"team_id\":\"$TEAM\",\"model_groups\":[\"$GROUP\"],\"credits_allocated\":100}")"
export TOLLGATE_KEY
TOLLGATE_KEY="$(printf '%s' "$TEAM_JSON" | json .virtual_key)"
[[ "$TOLLGATE_KEY" == sk-* ]] || { echo "Creating the team failed: $TEAM_JSON" >&2; exit 1; }
echo "Team $TEAM, key ${TOLLGATE_KEY:0:7}…, model $MODEL (mock)"

export CODEX_HOME="$WORK/codex-home"
mkdir -p "$CODEX_HOME"
cat >"$CODEX_HOME/config.toml" <<EOF
model = "$MODEL"
model_provider = "tollgate"
# A non-OpenAI deployment (here: mock) is reached through chat completions, which has function
# tools only: Codex's built-in web_search and its sub-agent tool namespace would be refused (400).
web_search = "disabled"

[agents]
enabled = false

[model_providers.tollgate]
name = "Tollgate"
base_url = "$GATEWAY/v1"
env_key = "TOLLGATE_KEY"
wire_api = "responses"
EOF

echo "Running: codex exec \"$PROMPT\""
(cd "$WORK" && HOME="$WORK" npx -y "@openai/codex@$CODEX_VERSION" exec --skip-git-repo-check \
  --sandbox read-only "$PROMPT")

echo
echo "What the gateway billed (team $TEAM): each job and its call rows"
JOBS="$(admin GET "/api/jobs/teams/$TEAM?limit=10")"
for JOB in $(printf '%s' "$JOBS" | json '.data.map(j=>j.job_id).join(" ")'); do
  admin GET "/api/jobs/teams/$TEAM/$JOB" | node -e '
let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
  const j=JSON.parse(s); const {calls, ...job}=j;
  console.log("job", JSON.stringify({job_id: job.job_id, job_type: job.job_type, status: job.status, costs: job.costs}));
  for (const c of calls ?? []) console.log("  call", JSON.stringify(c));
})'
done
admin GET "/api/credits/teams/$TEAM/balance"
echo
