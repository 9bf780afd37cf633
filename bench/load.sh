#!/usr/bin/env bash
# Bounded load test: many connections for minutes against one server, on loopback.
#
#   bench/load.sh [DURATION] [CONNECTIONS] [KLEBER_BINARY]
#
# Defaults: 300 s, 200 connections, target/release/kleber (cargo build --release -p
# kleber-server). Generates a 50,000-record dataset `records` (bench/gen_records.py, fixed
# seed), imports it, starts `kleber serve --demo` (the demo datasets too), then runs wrk with
# bench/load.lua (a weighted mix of varied API queries, portal pages and exports; 2 threads)
# while sampling the server's resident memory every second. Prints throughput, p50/p99
# latency, the count of answers by status, and memory: at the start, peak, and the trend
# (least-squares slope over the run, and the mean of the first and last fifth of the
# samples). Fails (exit 1) on any 5xx other than 503 (503 ServerBusy is a deliberate bound),
# on socket errors other than timeouts of whole exports, or when the server died.
# Settings (environment): ROWS (50000), PORT (18793), THREADS (2), WRK_TIMEOUT (60s),
# KLEBER_ARGS (extra `serve` flags), LOAD_OUT (a directory to keep the samples and the log).
# Not part of CI: it is a benchmark. wrk comes from Debian (apt-get install wrk).
set -euo pipefail

DURATION=${1:-300}
CONNECTIONS=${2:-200}
BIN=${3:-target/release/kleber}
ROWS=${ROWS:-50000}
PORT=${PORT:-18793}
THREADS=${THREADS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no kleber binary at $BIN (cargo build --release -p kleber-server)" >&2; exit 1; }
WORK=$(mktemp -d)
OUT=${LOAD_OUT:-$WORK}
mkdir -p "$OUT"
SERVER=""
SAMPLER=""
cleanup() {
  if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK/data" "$WORK/records.csv"
  if [ "$OUT" != "$WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "generating $ROWS records and importing them..." >&2
python3 "$HERE/gen_records.py" "$ROWS" "$WORK/records.csv"
"$BIN" import "$WORK/records.csv" --dataset records --data-dir "$WORK/data" >/dev/null

# shellcheck disable=SC2086
KLEBER_LOG=${KLEBER_LOG:-warn} "$BIN" serve --demo --data-dir "$WORK/data" --addr "127.0.0.1:$PORT" \
  ${KLEBER_ARGS:-} >"$OUT/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 300); do
  curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets" && break
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets/records/records" \
  || { echo "the server did not start; see $OUT/serve.log" >&2; exit 1; }

# One sample a second: seconds since start, resident KiB.
( start=$(date +%s); while kill -0 "$SERVER" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status" 2>/dev/null || true)
    [ -n "$rss" ] && echo "$(( $(date +%s) - start )) $rss"
    sleep 1
  done ) >"$OUT/rss.txt" &
SAMPLER=$!

echo "running wrk: $CONNECTIONS connections, $THREADS threads, ${DURATION}s..." >&2
wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout "${WRK_TIMEOUT:-60s}" \
  -s "$HERE/load.lua" "http://127.0.0.1:$PORT" >"$OUT/wrk.txt"
alive=yes
kill -0 "$SERVER" 2>/dev/null || alive=no
kill "$SAMPLER" 2>/dev/null || true; SAMPLER=""

grep -E '^(requests|seconds|throughput_rps|bytes|p50_ms|p99_ms|max_ms|socket_errors|status) ' "$OUT/wrk.txt"
awk 'NR == 1 { first = $2 }
     { n++; t[n] = $1; r[n] = $2 / 1024; if (r[n] > peak) peak = r[n] }
     END {
       if (n < 2) { print "memory: too few samples"; exit }
       for (i = 1; i <= n; i++) { sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i] }
       slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
       k = int(n / 5); if (k < 1) k = 1
       for (i = 1; i <= k; i++) { a += r[i]; b += r[n - k + i] }
       printf "rss_start_MB %.0f\nrss_peak_MB %.0f\nrss_first_fifth_mean_MB %.0f\nrss_last_fifth_mean_MB %.0f\nrss_slope_MB_per_min %.2f\nrss_samples %d\n",
         first / 1024, peak, a / k, b / k, slope * 60, n
     }' "$OUT/rss.txt"
echo "server_alive_at_end $alive"

bad=$(awk '$1 == "status" && $2 >= 500 && $2 != 503 { s += $3 } END { print s + 0 }' "$OUT/wrk.txt")
sock=$(awk '$1 == "socket_errors" { split($2, c, "="); split($3, r, "="); split($4, w, "="); print c[2] + r[2] + w[2] }' "$OUT/wrk.txt")
echo "unexpected_5xx $bad"
if [ "$alive" != yes ] || [ "$bad" -gt 0 ] || [ "${sock:-0}" -gt 0 ]; then
  echo "FAILED: server died, 5xx other than 503, or connect/read/write socket errors (see $OUT/wrk.txt, $OUT/serve.log)" >&2
  exit 1
fi
