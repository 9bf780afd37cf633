#!/usr/bin/env bash
# Scenario o's load (the varied filter on the 1,000-record dataset, cache off) against several
# Kleber binaries in turn, N rounds, then each binary's median throughput and server CPU time
# per request (utime + stime of the server from /proc). For comparing two builds on a noisy
# machine: the binaries share the same minutes.
#
#   BENCH_OUT=bench/out bench/o_alternate.sh 3 /path/to/kleber-before /path/to/kleber-after
#
# Needs the data of `bench/run.sh o` (BENCH_OUT, default bench/out) and wrk. DUR: seconds of
# each measured run (5). The server binds 127.0.0.1 and is stopped after each run.
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${BENCH_OUT:-$BENCH/out}"
DATA="$OUT/kleber_small_1000"
[[ -d "$DATA" ]] || { echo "no $DATA: run bench/run.sh o first" >&2; exit 1; }
ROUNDS="$1"; shift
PORT=18139
results="$(mktemp)"
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -f "$results"' EXIT

one_run() {
  local bin="$1"
  "$bin" serve --data-dir "$DATA" --addr "127.0.0.1:$PORT" --result-cache-mb 0 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets?limit=1" >/dev/null && break
    sleep 0.1
  done
  # Warm-up: the dataset is read into memory on its first query.
  VARIED=kleber-small VARIED_SEED=17 wrk -t2 -c16 -d2s -s "$BENCH/varied.lua" \
    "http://127.0.0.1:$PORT" >/dev/null
  local t0 t1 out
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$(VARIED=kleber-small VARIED_SEED=18 wrk -t2 -c16 -d"${DUR:-5}"s -s "$BENCH/varied.lua" \
    "http://127.0.0.1:$PORT")
  t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  local requests seconds
  requests=$(awk '/^requests/{print $2}' <<<"$out")
  seconds=$(awk '/^seconds/{print $2}' <<<"$out")
  echo "$bin $requests $seconds $(( t1 - t0 ))" >>"$results"
}

for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do one_run "$bin"; done
done
python3 - "$results" "$@" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
ticks = 100  # clock ticks a second (getconf CLK_TCK)
for binary in sys.argv[2:]:
    mine = [(int(r), float(s), int(t)) for b, r, s, t in rows if b == binary]
    rps = sorted(r / s for r, s, _ in mine)
    cpu = sorted(t / ticks / r * 1e6 for r, _, t in mine)
    print(f"{binary}: median {statistics.median(rps):,.0f} req/s {[round(x) for x in rps]}, "
          f"server CPU {statistics.median(cpu):.0f} us a request {[round(x) for x in cpu]}")
PY
