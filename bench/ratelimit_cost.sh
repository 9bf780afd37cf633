#!/usr/bin/env bash
# The cost of rate limits (and of an API key) on the small-page scenario: a 1,000-record
# dataset, GET .../records?limit=20, wrk with 2 threads and 16 connections, 15 s per run.
#
#   bench/ratelimit_cost.sh [KLEBER_BINARY] [ROUNDS]
#
# Defaults: target/debug/kleber, 2 rounds. Each round serves the same data directory four
# times: no limits (anonymous), an anonymous limit never reached, a key under a user limit
# never reached, a key without limits; and prints wrk's requests/s and latency for each, with
# the X-RateLimit-* headers of one answer. Not part of CI; wrk comes from Debian.
set -euo pipefail

BIN=${1:-target/debug/kleber}
ROUNDS=${2:-2}
PORT=${PORT:-18811}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no kleber binary at $BIN (cargo build -p kleber-server)" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 "$HERE/gen_records.py" 1000 "$WORK/small.csv" >/dev/null
"$BIN" import "$WORK/small.csv" --dataset small --data-dir "$WORK/data" >/dev/null 2>&1
"$BIN" user create bench@example.org --data-dir "$WORK/data" >/dev/null 2>&1
KEY=$("$BIN" key create bench@example.org --name bench --data-dir "$WORK/data" 2>/dev/null)
URL="http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets/small/records?limit=20"

run() { # label, header ("" for none), serve flags...
  local label=$1 header=$2; shift 2
  KLEBER_LOG=warn "$BIN" serve --data-dir "$WORK/data" --addr "127.0.0.1:$PORT" "$@" \
    >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "$URL" && break; sleep 0.1; done
  echo "== $label"
  local args=(-t2 -c16 -d15s)
  if [ -n "$header" ]; then args+=(-H "$header"); fi
  wrk "${args[@]}" "$URL" | grep -E "Requests/sec|Latency|Non-2xx"
  if [ -n "$header" ]; then curl -s -D - -o /dev/null -H "$header" "$URL"; else curl -s -D - -o /dev/null "$URL"; fi \
    | grep -i '^x-ratelimit' || true
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

for _ in $(seq "$ROUNDS"); do
  run "anonymous, no limits" ""
  run "anonymous, --rate-limit-anonymous 1000000000" "" --rate-limit-anonymous 1000000000
  run "key, --rate-limit-user 1000000000" "Authorization: Apikey $KEY" --rate-limit-user 1000000000
  run "key, no limits" "Authorization: Apikey $KEY"
done
