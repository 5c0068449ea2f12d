#!/usr/bin/env bash
# Quick write-path measurement (not the bench harness): the compiled server alone on core 0,
# wrk on core 1 posting messages with unique clientMsgIds.
#   scripts/measure-writes/run.sh [sqlite|postgres] CONNECTIONS ROOMS [SECONDS]
# PostgreSQL: PG_URL (default postgres://postgres@127.0.0.1:5432/test) gets a fresh database.
# SERVER_DIR: the checkout whose dist/ runs (default: this one), to compare two builds in one run.
# NODE_FLAGS=--cpu-prof writes a profile of the server into the data directory (kept: KEEP=1).
# Besides wrk's figures it prints the server's CPU time per request, which a machine shared with
# other work distorts less than requests per second.
set -euo pipefail
cd "$(dirname "$0")/../.."
server_dir=${SERVER_DIR:-.}
engine=${1:-sqlite}; connections=${2:-10}; room_count=${3:-1}; seconds=${4:-10}
port=$((20000 + RANDOM % 20000))
data_dir=$(mktemp -d)
database_url=""
if [ "$engine" = postgres ]; then
  pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
  name="switchboard_test_measure_$$"
  psql "$pg_url" -qc "CREATE DATABASE $name" >/dev/null
  database_url="${pg_url%/*}/$name"
fi
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then rm -rf "$data_dir"; else echo "kept $data_dir"; fi
  if [ -n "$database_url" ]; then psql "$pg_url" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null; fi
}
trap cleanup EXIT
PORT=$port HOST=127.0.0.1 DATA_DIR=$data_dir DATABASE_URL=$database_url LOG_LEVEL=warn \
  THROTTLE_LIMIT=100000000 AUTH_THROTTLE_LIMIT=1000 JWT_SECRET=measure-writes-secret-0123456789abcdef \
  taskset -c 0 node ${NODE_FLAGS:+$NODE_FLAGS --cpu-prof-dir=$data_dir} "$server_dir/dist/src/main.js" >"$data_dir/server.log" 2>&1 &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
token=$(curl -sf "$base/api/auth/register" -H 'content-type: application/json' \
  -d "{\"username\":\"bench$$\",\"password\":\"password-0123456789\"}" | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')
rooms=""
for _ in $(seq "$room_count"); do
  id=$(curl -sf "$base/api/rooms" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"name":"bench","visibility":"public"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).id')
  rooms="${rooms:+$rooms,}$id"
done
threads=$(( connections < 2 ? 1 : 2 ))
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
ticks_before=$(cpu_ticks)
ROOMS=$rooms TOKEN=$token taskset -c 1 wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency \
  -s scripts/measure-writes/post-messages.lua "$base" >"$data_dir/wrk.txt"
ticks_after=$(cpu_ticks)
grep -E "Requests/sec|Non-2xx|50%|99%|Socket errors" "$data_dir/wrk.txt"
requests=$(awk '/requests in/ { print $1 }' "$data_dir/wrk.txt")
echo "server CPU per request: $(( (ticks_after - ticks_before) * 1000000 / $(getconf CLK_TCK) / requests )) µs"
