"""j. One record by id, `/records/{record_id}`, on a ROWS-row dataset, every request another
record.

A record id is the SHA-1 of the record's values, so nothing in the Parquet file can find it:
the version's record-id index (kleber-query/src/record_index.rs) is built by the first lookup
(it hashes every row once) and kept in memory; later lookups read one row. Reported: the first
lookup (the build), then p50 and p99 of RECORD_REQUESTS lookups of different records, one
request at a time on a keep-alive connection, the response cache off.
"""
import json
import os
import random
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402

REQUESTS = int(os.environ.get("RECORD_REQUESTS", 300))
BASE = "/api/explore/v2.1/catalog/datasets/records"


def main():
    res = c.Results("j", f"one record by id on {c.ROWS:,} records, one request at a time")
    kdir = c.kleber_dir()
    rng = random.Random(17)
    with c.kleber_server(kdir, cache=False) as ks:
        kc = c.Client(ks.port)
        # The ids of REQUESTS records spread over the file (a filter on the numeric `id`).
        wanted = rng.sample(range(c.ROWS), REQUESTS)
        ids = []
        for start in range(0, len(wanted), 100):
            chunk = ",".join(str(n) for n in wanted[start:start + 100])
            query = urllib.parse.urlencode({"select": "_id", "where": f"id IN ({chunk})",
                                            "limit": "100"}, quote_via=urllib.parse.quote)
            body, _ = kc.get_ok(f"{BASE}/records?{query}")
            ids.extend(r["_id"] for r in json.loads(body)["results"])
        _, first = kc.get_ok(f"{BASE}/records/{ids[0]}")
        res.add("first lookup of the version (builds the id index)", f"{first * 1000:.0f} ms")
        times = [kc.get_ok(f"{BASE}/records/{i}")[1] for i in ids[1:]]
        p50, p99 = c.median(times) * 1000, c.percentile(times, 99) * 1000
        res.add(f"lookups of {len(times)} other records, p50 / p99",
                f"p50 {p50:.2f} ms, p99 {p99:.2f} ms", "", "", "p50 < 5 ms", p50 < 5)
        rss, peak = ks.memory()
        res.add("Kleber's resident memory after the runs (peak)", f"{rss:.0f} MiB ({peak:.0f})")
        kc.close()
    res.save()


if __name__ == "__main__":
    main()
