#!/usr/bin/env bash
# The cost of an access rule (docs/security.md#access-rules) on records queries: a dataset of
# ROWS generated rows (bench/gen_records.py), the response cache off, each query asked N times
# by an anonymous caller in three settings, printing the median time of each:
#   1. no rule;
#   2. a rule hiding `adresse` and keeping `commune != "Strasbourg"` (the caller is an outsider);
#   3. no rule, the same condition written by the caller in `where` (what the filter costs
#      by itself, without the view).
#
#   bench/rule_cost.sh [KLEBER_BINARY] [ROWS] [N]
#
# Defaults: target/debug/kleber, 500000 rows, 7 requests. Not part of CI.
set -euo pipefail

BIN=${1:-target/debug/kleber}
ROWS=${2:-500000}
N=${3:-7}
PORT=${PORT:-18812}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$BIN" ] || { echo "no kleber binary at $BIN (cargo build -p kleber-server)" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 "$HERE/gen_records.py" "$ROWS" "$WORK/records.csv" >/dev/null
"$BIN" import "$WORK/records.csv" --dataset signalements --data-dir "$WORK/data" >/dev/null 2>&1
BASE="http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets/signalements/records"
CONDITION='commune%20!%3D%20%22Strasbourg%22'
QUERIES=(
  "?limit=20"
  "?limit=20&order_by=montant%20desc"
  "?select=count(*)%20as%20n&group_by=categorie"
  "?limit=20&where=montant%20%3E%20500"
)

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

serve() {
  KLEBER_LOG=warn "$BIN" serve --data-dir "$WORK/data" --addr "127.0.0.1:$PORT" \
    --result-cache-mb 0 >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 200); do curl -sf -o /dev/null "$BASE?limit=1" && break; sleep 0.1; done
}

stop() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""; }

measure() { # label, extra query
  local label=$1 extra=$2
  for q in "${QUERIES[@]}"; do
    local url="$BASE$q$extra"
    curl -sf -o /dev/null "$url" # warm: scan, footer, outsiders' count
    local t
    t=$(for _ in $(seq "$N"); do curl -sf -o /dev/null -w '%{time_total}\n' "$url"; done | median)
    printf '%-34s %-48s %s s\n' "$label" "$q" "$t"
  done
}

serve
measure "no rule" ""
measure "no rule, condition in where" "&where=$CONDITION"
stop
"$BIN" dataset rule signalements --hide adresse --where 'commune != "Strasbourg"' \
  --data-dir "$WORK/data" >/dev/null
serve
measure "rule (outsider)" ""
stop
