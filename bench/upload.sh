#!/usr/bin/env bash
# Upload-to-published time of a big CSV through the management API, and the server's peak
# memory during it.
#
#   bench/upload.sh [ROWS] [KLEBER_BINARY]
#
# Defaults: 1,000,000 rows, target/debug/kleber (cargo build -p kleber-server; a release
# build is faster). Generates a CSV (fixed seed: id, commune, valeur, jour, point) in a
# temporary directory, makes an organization, an editor and a write key there, starts
# `kleber serve`, then times, with curl: the upload (POST .../uploads, streamed to disk and
# read: the preview), and the publication (POST .../datasets/bench/versions), and reads the
# record count back through the Explore API. The server's peak resident memory is its
# VmHWM from /proc when the run ends (the whole run: start-up, upload, publication).
# Settings (environment): PORT (18794). Everything it makes is deleted at the end.
set -euo pipefail

ROWS=${1:-1000000}
BIN=${2:-target/debug/kleber}
PORT=${PORT:-18794}
[ -x "$BIN" ] || { echo "no kleber binary at $BIN (cargo build -p kleber-server)" >&2; exit 1; }
WORK=$(mktemp -d)
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

python3 - "$ROWS" "$WORK/big.csv" <<'PY'
import random, sys
rows, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(13)
communes = ["Strasbourg", "Schiltigheim", "Illkirch", "Lingolsheim", "Bischheim", "Hoenheim",
            "Ostwald", "Eckbolsheim", "Holtzheim", "Wolfisheim"]
with open(out, "w", encoding="utf-8") as f:
    f.write("id;commune;valeur;jour;point\n")
    for i in range(rows):
        f.write("%d;%s;%.2f;2026-%02d-%02d;%.5f, %.5f\n" % (
            i, rng.choice(communes), rng.uniform(0, 1000), rng.randint(1, 12), rng.randint(1, 28),
            48.5 + rng.uniform(0, 0.1), 7.7 + rng.uniform(0, 0.1)))
PY
SIZE=$(stat -c %s "$WORK/big.csv")
DATA="$WORK/data"
"$BIN" org create bench --name "Bench" --data-dir "$DATA" >/dev/null
"$BIN" user create editor@bench.example --data-dir "$DATA" >/dev/null
"$BIN" member add bench editor@bench.example --role editor --data-dir "$DATA" >/dev/null
KEY=$("$BIN" key create editor@bench.example --name bench --scope read --scope write --data-dir "$DATA" 2>/dev/null)

"$BIN" serve --data-dir "$DATA" --addr "127.0.0.1:$PORT" --max-upload-mb 4096 >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/api/explore/v2.1" >/dev/null && break
  sleep 0.2
done
BASE="http://127.0.0.1:$PORT/api/management/v1"
START=$(date +%s.%N)
UPLOAD=$(curl -sf -X POST -H "Authorization: Apikey $KEY" --data-binary @"$WORK/big.csv" \
  "$BASE/uploads?filename=big.csv")
UPLOADED=$(date +%s.%N)
ID=$(printf '%s' "$UPLOAD" | python3 -c 'import json,sys; print(json.load(sys.stdin)["upload_id"])')
PUBLISHED_JSON=$(curl -sf -X POST -H "Authorization: Apikey $KEY" \
  --data-binary "{\"upload\": \"$ID\", \"organization\": \"bench\"}" "$BASE/datasets/bench/versions")
END=$(date +%s.%N)
COUNT=$(curl -sf "http://127.0.0.1:$PORT/api/explore/v2.1/catalog/datasets/bench" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["metas"]["default"]["records_count"])')
HWM=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
python3 - "$ROWS" "$SIZE" "$START" "$UPLOADED" "$END" "$COUNT" "$HWM" "$PUBLISHED_JSON" <<'PY'
import sys
rows, size, start, uploaded, end, count, hwm, published = sys.argv[1:9]
start, uploaded, end = float(start), float(uploaded), float(end)
print(f"rows: {int(rows):,} ({int(size) / 1e6:.1f} MB CSV); published records read back: {int(count):,}")
print(f"upload + preview: {uploaded - start:.2f} s; publication: {end - uploaded:.2f} s; "
      f"upload-to-published: {end - start:.2f} s")
print(f"server peak RSS (VmHWM): {int(hwm) / 1024:.0f} MiB")
print(f"publication: {published}")
if int(count) != int(rows):
    sys.exit(f"expected {rows} records, read back {count}")
PY
