#!/usr/bin/env bash
# The scheduler's idle overhead (docs/sources.md#overhead-of-the-scheduler): a portal of
# N datasets measured twice over the same idle time, first without sources, then with a
# scheduled source on every dataset (`0 3 * * *`, so none is due while it is measured; the
# scheduler still wakes every minute and computes every dataset's next run). Prints the
# server's CPU time and resident memory (VmRSS, VmHWM) of each phase.
#
#   bench/scheduler_idle.sh [KLEBER_BINARY] [N] [SECONDS]
#
# Defaults: target/debug/kleber, 1000 datasets, 60 s per phase. Not part of CI.
set -euo pipefail

BIN=${1:-target/debug/kleber}
N=${2:-1000}
SECS=${3:-60}
PORT=${PORT:-18813}
[ -x "$BIN" ] || { echo "no kleber binary at $BIN (cargo build -p kleber-server)" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

DATA="$WORK/data"
"$BIN" org create bench --name Bench --data-dir "$DATA" >/dev/null
"$BIN" user create bench@example.org --data-dir "$DATA" >/dev/null
"$BIN" member add bench bench@example.org --role editor --data-dir "$DATA" >/dev/null
KEY=$("$BIN" key create bench@example.org --name bench --scope read --scope write --data-dir "$DATA")
"$BIN" serve --data-dir "$DATA" --addr "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
BASE="http://127.0.0.1:$PORT/api/management/v1"
for _ in $(seq 100); do curl -fsS "$BASE/openapi.json" >/dev/null 2>&1 && break; sleep 0.1; done

call() { curl -fsS -o /dev/null -X "$1" "$BASE$2" -H "Authorization: Apikey $KEY" \
           -H 'Content-Type: application/json' -d "$3"; }
export -f call
export BASE KEY
seq -w 1 "$N" | xargs -P 4 -I{} bash -c \
  'call POST /datasets "{\"id\": \"d{}\", \"organization\": \"bench\", \"title\": \"D {}\"}"'

ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
mem() { awk '/^VmRSS|^VmHWM/ {printf "%s %s kB  ", $1, $2}' "/proc/$SERVER/status"; }
HZ=$(getconf CLK_TCK)
measure() {
  sleep 5
  local before after
  before=$(ticks)
  sleep "$SECS"
  after=$(ticks)
  awk -v t=$((after - before)) -v hz="$HZ" -v s="$SECS" -v label="$1" \
    'BEGIN {printf "%-34s CPU %.3f s over %d s (%.3f%% of a core)  ", label, t / hz, s, 100 * t / hz / s}'
  mem
  echo
}
measure "$N datasets, no source:"
seq -w 1 "$N" | xargs -P 4 -I{} bash -c \
  'call PUT /datasets/d{}/sources "{\"urls\": [\"http://127.0.0.1:9/d{}.csv\"], \"schedule\": \"0 3 * * *\"}"'
measure "$N datasets, $N scheduled sources:"
