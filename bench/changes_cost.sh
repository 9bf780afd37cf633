#!/usr/bin/env bash
# The cost of versions and diffs (docs/versions.md#cost): a dataset of ROWS generated rows
# (bench/gen_records.py, unique id `id`) imported, then imported again with 1% of its records
# changed: 0.8% with `montant` changed, 0.1% removed, 0.1% added, and a field added (`etat`).
# Prints:
#   - each import's time and peak memory (the second writes its version's digest file and
#     computes its summary from both versions' digest files);
#   - the digest files' sizes;
#   - in a fresh server: the first /changes page (counts + the first 100 changes by record
#     id), then the same page again, each with its time and the server's peak memory
#     (VmHWM, reset between the two through /proc/PID/clear_refs);
#   - the whole diff streamed as CSV (time, lines, bytes, peak memory);
#   - the cost of `version=N`: the median of RUNS runs of the same records queries on the
#     current version and with version=1 (the previous one, 1% different).
#
#   bench/changes_cost.sh [KLEBER_BINARY] [ROWS] [RUNS]
#
# Defaults: target/debug/kleber, 1000000 rows, 5 runs. Not part of CI; needs python3, curl,
# GNU time.
set -euo pipefail

BIN=${1:-target/debug/kleber}
ROWS=${2:-1000000}
RUNS=${3:-5}
PORT=${PORT:-18813}
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$BIN" ] || { echo "no kleber binary at $BIN (cargo build -p kleber-server)" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 "$HERE/gen_records.py" "$ROWS" "$WORK/v1.csv" >/dev/null
# Version 2: every 125th record's montant changed, every 1000th (offset 7) removed,
# ROWS/1000 new records, and a field etat.
awk -F';' -v OFS=';' -v rows="$ROWS" '
  NR == 1 { print $0, "etat"; next }
  ($1 % 1000) == 7 { next }
  ($1 % 125) == 0 { $5 = sprintf("%.2f", $5 + 1) }
  { print $0, (NR % 2 ? "ouvert" : "ferme") }
  END { for (i = 0; i < rows / 1000; i++) print rows + i, "Voirie", "Strasbourg", "1 rue Kléber", "10.00", 1, "basse", "2026-01-01T00:00:00+00:00", "48.58, 7.75", "ouvert" }
' "$WORK/v1.csv" > "$WORK/v2.csv"

# Each import writes its version's digest file and computes its summary (docs/versions.md),
# in the background of a server; `kleber import` waits for both.
for v in 1 2; do
  /usr/bin/time -f '%e %M' -o "$WORK/import.time" \
    "$BIN" import "$WORK/v$v.csv" --dataset signalements --unique-id id --data-dir "$WORK/data" >/dev/null 2>&1
  read -r secs kib < "$WORK/import.time"
  printf 'import of version %d (digests, summary)  %8s s   peak %6d MiB\n' "$v" "$secs" $((kib / 1024))
done
for f in "$WORK"/data/datasets/*/v*/digests.bin; do
  printf '  %s: %d bytes\n' "${f#"$WORK"/data/}" "$(stat -c %s "$f")"
done

KLEBER_LOG=warn "$BIN" serve --data-dir "$WORK/data" --addr "127.0.0.1:$PORT" \
  --result-cache-mb 0 >"$WORK/serve.log" 2>&1 &
SERVER=$!
BASE="http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets/signalements"
for _ in $(seq 300); do curl -sf -o /dev/null "$BASE" && break; sleep 0.1; done

peak() { awk '/VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$SERVER/status"; }
reset_peak() { echo 5 > "/proc/$SERVER/clear_refs" 2>/dev/null || true; }
timed() { # label, url, [output file]: time and the server's peak memory during the request
  local out=${3:-/dev/null}
  local t
  reset_peak
  t=$(curl -s -o "$out" -w '%{time_total} %{http_code}' "$2")
  printf '%-40s %8s s (HTTP %s)   server peak %s\n' "$1" "${t% *}" "${t#* }" "$(peak)"
}
printf 'server at rest                           server peak %s\n' "$(peak)"
curl -s "$BASE/versions" | python3 -c 'import json,sys; b=json.load(sys.stdin); v=b["results"][0]; print("summary of version 2:", v.get("summary"), "fields changed:", v.get("fields_changed"))'
timed "changes, first page, fresh server" "$BASE/changes?limit=100" "$WORK/page.json"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print("  added", p["records_added"], "removed", p["records_removed"], "changed", p["records_changed"], "schema", p["schema"])' "$WORK/page.json"
timed "changes, first page, again" "$BASE/changes?limit=100"
timed "changes, a page at offset 9000" "$BASE/changes?limit=100&offset=9000"
timed "changes, whole diff as CSV" "$BASE/changes?format=csv" "$WORK/changes.csv"
printf '  %d lines, %d bytes\n' "$(wc -l < "$WORK/changes.csv")" "$(wc -c < "$WORK/changes.csv")"

# The cost of version=N: the same queries on the current version and on version 1.
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
query_cost() { # label, query string
  local now old
  now=$(for _ in $(seq "$RUNS"); do curl -sf -o /dev/null -w '%{time_total}\n' "$BASE/records?$2"; done | median)
  old=$(for _ in $(seq "$RUNS"); do curl -sf -o /dev/null -w '%{time_total}\n' "$BASE/records?$2&version=1"; done | median)
  printf '%-40s current %8s s   version=1 %8s s   (median of %d)\n' "$1" "$now" "$old" "$RUNS"
}
reset_peak
query_cost "where + order_by, limit 20" "where=commune%3D%22Strasbourg%22%20and%20montant%3E100&order_by=montant%20desc&limit=20"
query_cost "group_by categorie, count" "select=count(*)%20as%20n&group_by=categorie&limit=50"
query_cost "count only (limit 0)" "where=priorite%3D%22haute%22&limit=0"
printf 'server peak during the version queries   %s\n' "$(peak)"
