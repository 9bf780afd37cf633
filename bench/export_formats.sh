#!/usr/bin/env bash
# Throughput and peak memory of dataset exports, per format.
#
#   bench/export_formats.sh [ROWS] [KLEBER_BINARY] [FORMATS]
#
# Generates ROWS records (default 2,000,000) with bench/gen_records.py, imports them with
# `kleber import`, then for each format (default "csv geojson parquet") starts a fresh
# `kleber serve`, downloads /exports/FORMAT once with curl and reports the body size, the time,
# MB/s and the server's peak resident memory (VmHWM from /proc, so the server's whole life:
# start-up plus this one export; start_rss_MB is the resident memory before the export). Use the release binary for figures worth quoting
# (cargo build --release -p kleber-server); the default is target/release/kleber.
set -euo pipefail

ROWS=${1:-2000000}
BIN=${2:-target/release/kleber}
FORMATS=${3:-csv geojson parquet}
PORT=${KLEBER_BENCH_PORT:-18791}
HERE=$(cd "$(dirname "$0")" && pwd)

[ -x "$BIN" ] || { echo "no kleber binary at $BIN (cargo build --release -p kleber-server)" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "generating $ROWS records..." >&2
python3 "$HERE/gen_records.py" "$ROWS" "$WORK/records.csv"
echo "importing..." >&2
"$BIN" import "$WORK/records.csv" --dataset records --data-dir "$WORK/data" >/dev/null

printf '%-8s %12s %9s %9s %14s %14s\n' format bytes seconds MB/s start_rss_MB peak_rss_MB
for format in $FORMATS; do
  "$BIN" serve --data-dir "$WORK/data" --addr "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets" && break
    sleep 0.1
  done
  start_kb=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
  read -r bytes seconds < <(curl -sf -o /dev/null -w '%{size_download} %{time_total}\n' \
    "http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets/records/exports/$format")
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  awk -v f="$format" -v b="$bytes" -v s="$seconds" -v r0="$start_kb" -v r="$rss_kb" \
    'BEGIN { printf "%-8s %12d %9.2f %9.1f %14.0f %14.0f\n", f, b, s, b / s / 1e6, r0 / 1024, r / 1024 }'
done
