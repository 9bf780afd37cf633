#!/usr/bin/env bash
# Quick measurements quoted in issue notes: import throughput (1M rows) and group_by
# latency (2M rows) with the release build. Needs /tmp/records-{1m,2m}.csv from
# bench/gen_records.py and the release binary in target-release (CARGO_TARGET_DIR).
set -u
K=${KLEBER:-target-release/release/kleber}
D=/tmp/bench-data
rm -rf $D
echo "== import 1M rows ($(du -h /tmp/records-1m.csv | cut -f1))"
for i in 1 2 3; do $K import /tmp/records-1m.csv --dataset records1m --data-dir $D | head -1; done
echo "== import 2M rows"
$K import /tmp/records-2m.csv --dataset records2m --data-dir $D | head -3
$K serve --data-dir $D --addr 127.0.0.1:18090 > /tmp/bench-serve.log 2>&1 &
PID=$!
trap "kill $PID" EXIT
sleep 2
B="http://127.0.0.1:18090/api/explore/v2.1/catalog/datasets/records2m/records"
q() {
  local name=$1 url=$2
  curl -s -o /dev/null "$url"  # warm-up
  local times=()
  for i in $(seq 1 11); do times+=($(curl -s -o /dev/null -w '%{time_total}' "$url")); done
  printf '%s\n' "${times[@]}" | sort -n | awk -v n="$name" '{a[NR]=$1} END {printf "%-40s median %.1f ms (min %.1f, max %.1f)\n", n, a[6]*1000, a[1]*1000, a[11]*1000}'
}
q "group_by categorie count+avg" "$B?select=categorie,count(*)%20as%20n,avg(montant)%20as%20m&group_by=categorie"
q "group_by month (date_format)" "$B?select=mois,count(*)%20as%20n&group_by=date_format(date_signalement,'yyyy-MM')%20as%20mois&limit=100"
q "group_by commune count" "$B?select=commune,count(*)%20as%20n&group_by=commune&limit=100"
q "filter+sort page of 100" "$B?where=commune%3D%22Strasbourg%22%20AND%20montant%20%3E%201000&order_by=montant%20desc&limit=100"
echo "== RSS of the server: $(ps -o rss= -p $PID) KiB"
