#!/usr/bin/env bash
# The cost of versions and diffs (docs/versions.md#cost): a dataset of ROWS generated rows
# (bench/gen_records.py, unique id `id`) imported, then imported again with 1% of its records
# changed (`montant`), 0.1% removed and 0.1% added. Prints:
#   - the second import's time and peak memory (it computes the version's summary: a full
#     outer join of the two versions on the record id);
#   - the time of a first page of /changes (counts + the first 100 changes by record id),
#     of the whole diff streamed as CSV (lines and bytes), and of a records query on the
#     current version and on version 1 (the cost of `version=N`);
#   - the server's peak memory (VmHWM) after those requests.
#
#   bench/changes_cost.sh [KLEBER_BINARY] [ROWS]
#
# Defaults: target/debug/kleber, 1000000 rows. Not part of CI; needs python3, curl, GNU time.
set -euo pipefail

BIN=${1:-target/debug/kleber}
ROWS=${2:-1000000}
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
# Summaries are computed after each publication, in the background, with a 10-minute limit
# (docs/versions.md); the import waits for its own.
# Version 2: every 100th record's montant changed, every 1000th (offset 7) removed, and
# ROWS/1000 new records.
awk -F';' -v OFS=';' -v rows="$ROWS" '
  NR == 1 { print; next }
  ($1 % 1000) == 7 { next }
  ($1 % 100) == 0 { $5 = sprintf("%.2f", $5 + 1) }
  { print }
  END { for (i = 0; i < rows / 1000; i++) print rows + i, "Voirie", "Strasbourg", "1 rue Kléber", "10.00", 1, "basse", "2026-01-01T00:00:00+00:00", "48.58, 7.75" }
' "$WORK/v1.csv" > "$WORK/v2.csv"

"$BIN" import "$WORK/v1.csv" --dataset signalements --unique-id id --data-dir "$WORK/data" >/dev/null 2>&1
/usr/bin/time -f '%e %M' -o "$WORK/import.time" \
  "$BIN" import "$WORK/v2.csv" --dataset signalements --unique-id id --data-dir "$WORK/data" >/dev/null 2>&1
read -r secs kib < "$WORK/import.time"
printf 'second import (with its summary)      %8s s   peak %6d MiB\n' "$secs" $((kib / 1024))

KLEBER_LOG=warn "$BIN" serve --data-dir "$WORK/data" --addr "127.0.0.1:$PORT" \
  --result-cache-mb 0 >"$WORK/serve.log" 2>&1 &
SERVER=$!
BASE="http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets/signalements"
for _ in $(seq 300); do curl -sf -o /dev/null "$BASE" && break; sleep 0.1; done

timed() { # label, url, [output file]
  local out=${3:-/dev/null}
  local t
  t=$(curl -sf -o "$out" -w '%{time_total}' "$2")
  printf '%-38s %8s s\n' "$1" "$t"
}
curl -s "$BASE/versions" | python3 -c 'import json,sys; b=json.load(sys.stdin); v=b.get("results", [b])[0]; print("summary of version 2:", v.get("summary", v))'
timed "records, current version" "$BASE/records?limit=20&order_by=montant%20desc"
timed "records, version=1" "$BASE/records?limit=20&order_by=montant%20desc&version=1"
timed "changes, first page (limit 100)" "$BASE/changes?limit=100" "$WORK/page.json"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print("  added", p["records_added"], "removed", p["records_removed"], "changed", p["records_changed"])' "$WORK/page.json"
timed "changes, whole diff as CSV" "$BASE/changes?format=csv" "$WORK/changes.csv"
printf '  %d lines, %d bytes\n' "$(wc -l < "$WORK/changes.csv")" "$(wc -c < "$WORK/changes.csv")"
printf 'server peak memory (VmHWM)             %8s\n' "$(awk '/VmHWM/ {printf "%d MiB", $2 / 1024}' "/proc/$SERVER/status")"
