#!/usr/bin/env bash
# Kleber's benchmark against its peers, in one command from a fresh clone:
#
#   bench/run.sh            # every scenario: a to h, then issue 17's i to p
#   bench/run.sh b d        # some of them
#   ROWS=200000 bench/run.sh   # a quick run on a smaller records table
#
# Builds Kleber's release binary (cargo build --release -p kleber-server, honouring
# CARGO_TARGET_DIR), installs the peers into bench/.venv from PyPI (datasette, sqlite-utils,
# duckdb) and wrk from Debian if missing, generates the data into bench/out/ (or $BENCH_OUT),
# runs the scenarios one after the other and prints the table of medians, ratios and targets,
# also written to out/results.md. Every server binds 127.0.0.1 and is stopped when the run
# ends, however it ends. Settings (environment): ROWS (2000000), REPEATS (3), WRK_DURATION
# (10 s), QUERY_REPEATS, CATALOG_DATASETS (10000), IDLE_DATASETS (1000), FTS_REQUESTS (2000),
# IMPORT_JOBS (2), CATALOG_SETUP_BUDGET_S (1500), STARTS, KLEBER_BIN (skip the build),
# BENCH_OUT. See BENCHMARKS.md.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$BENCH")"
VENV="$BENCH/.venv"
OUT="${BENCH_OUT:-$BENCH/out}"   # BENCH_OUT: somewhere else for the data and results
mkdir -p "$OUT"

# Each scenario stops its own servers (on exit and on signals). This is the net under it: the
# running scenario is told to stop, then any server process group it recorded in
# $OUT/servers.pids (one group per server, led by the server's pid) and left behind is ended.
child=""
cleanup() {
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if [[ -f "$OUT/servers.pids" ]]; then
    while read -r pid; do
      # Only if that pid still leads its group and is still one of our servers.
      if [[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$pid" ]] &&
         ps -o args= -p "$pid" 2>/dev/null | grep -qE 'kleber|datasette'; then
        kill -TERM -- "-$pid" 2>/dev/null || true
      fi
    done < "$OUT/servers.pids"
    rm -f "$OUT/servers.pids"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

scenarios=("$@")
if [[ ${#scenarios[@]} -eq 0 ]]; then
  scenarios=(a b c d e f g h i j k l m n o p)
fi

echo "== Kleber release build"
if [[ -z "${KLEBER_BIN:-}" ]]; then
  (cd "$REPO" && cargo build --release -p kleber-server)
  target="${CARGO_TARGET_DIR:-$REPO/target}"
  [[ "$target" = /* ]] || target="$REPO/$target"
  export KLEBER_BIN="$target/release/kleber"
fi
"$KLEBER_BIN" --version

echo "== peers"
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import duckdb, datasette, sqlite_utils" 2>/dev/null; then
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet datasette sqlite-utils duckdb
fi
if ! command -v wrk >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && apt-get install -y -qq wrk
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq wrk
  fi
fi
"$VENV/bin/pip" list 2>/dev/null | grep -iE '^(datasette|sqlite-utils|duckdb) ' || true

declare -A script=(
  [a]=a_ingest.py [b]=b_page.py [c]=c_groupby.py [d]=d_small.py
  [e]=e_export.py [f]=f_catalog_search.py [g]=g_idle_start.py [h]=h_map.py
  # issue 17, the uncached scan path: every request differs, Kleber's cache is off
  [m]=m_scan_page.py [n]=n_scan_groupby.py [o]=o_scan_small.py [p]=p_import.py
)
script+=([i]=i_fulltext.py [j]=j_record_id.py [k]=k_facets.py [l]=l_portal_page.py)  # issue 17, by name
started=$(date +%s)
failed=()
echo "== scenarios: ${scenarios[*]} (ROWS=${ROWS:-2000000}; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
for s in "${scenarios[@]}"; do
  file="${script[$s]:-}"
  if [[ -z "$file" ]]; then
    echo "unknown scenario '$s' (${!script[*]})" >&2
    exit 2
  fi
  "$VENV/bin/python" "$BENCH/scenarios/$file" &
  child=$!
  if ! wait "$child"; then
    failed+=("$s")
  fi
  child=""
done
echo "== done in $(( $(date +%s) - started )) s"
"$VENV/bin/python" "$BENCH/report.py"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "scenarios that failed (see their output above): ${failed[*]}" >&2
  exit 1
fi
