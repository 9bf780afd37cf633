"""f. Full-text search in a catalog of CATALOG_DATASETS (default 10,000) described datasets.

/api/explore/v2.1/catalog/datasets?where="<words>" (a bare-string ODSQL search: Kleber's
Tantivy catalog index, relevance order, first page of 10 dataset objects), for a rotation of
searches a portal's visitors type. FTS_REQUESTS (default 2000) requests one at a time on a
keep-alive connection after a warm-up; p50 and p99 client-side wall time. The first search
after start-up (which builds the index) is reported apart, and so is a wrk run at 16
connections. No peer: the issue asks for Kleber's latency only.
"""
import json
import os
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import catalog  # noqa: E402
import common as c  # noqa: E402

COUNT = int(os.environ.get("CATALOG_DATASETS", "10000"))
FTS_REQUESTS = int(os.environ.get("FTS_REQUESTS", "2000"))
SEARCHES = ["stationnement", "vélo", "qualité air", "arbres", "bibliothèques", "piscine",
            "schiltigheim", "budget", "défibrillateurs", "tram", "recensement", "compost",
            "parking*", "éclairage public", "subventions associations", "wifi",
            "collecte déchets", "musées strasbourg", "bornes recharge", "permis construire",
            "neudorf", "horaires", "capteurs", "prénoms"]


def path(words):
    return "/api/explore/v2.1/catalog/datasets?" + urllib.parse.urlencode(
        {"where": f'"{words}"'}, quote_via=urllib.parse.quote)


def main():
    data_dir, facts = catalog.catalog_dir(COUNT)
    res = c.Results("f", f"catalog full-text search, {facts['datasets']:,} datasets")
    res.add("setup: datasets imported one `kleber import` each",
            f"{facts['datasets']:,} in {facts['import_seconds_total']:.0f} s "
            f"({facts['imports_per_second']:.1f}/s, {facts['import_jobs']} at a time)",
            "", "", f"{COUNT:,} datasets", facts["datasets"] >= COUNT)
    # Ready as soon as it answers the API root, so the first search loads the catalog.
    with c.kleber_server(data_dir, ready_path="/api/explore/v2.1/") as ks:
        kc = c.Client(ks.port)
        body, first = kc.get_ok(path("stationnement"))
        hits = {}
        for words in SEARCHES:
            hits[words] = json.loads(kc.get_ok(path(words))[0])["total_count"]
        times = []
        for i in range(FTS_REQUESTS):
            times.append(kc.get_ok(path(SEARCHES[i % len(SEARCHES)]))[1] * 1000)
        kc.close()
        load = c.wrk(f"http://127.0.0.1:{ks.port}{path('qualité air')}")
        _, hwm = ks.memory()
    # The same rotation with the response cache off: every request searches and filters.
    with c.kleber_server(data_dir, ready_path="/api/explore/v2.1/", cache=False) as ku:
        uc = c.Client(ku.port)
        uc.get_ok(path("stationnement"))
        cold = [uc.get_ok(path(SEARCHES[i % len(SEARCHES)]))[1] * 1000
                for i in range(FTS_REQUESTS)]
        uc.close()
    p50, p99 = c.percentile(times, 50), c.percentile(times, 99)
    cold_p50, cold_p99 = c.percentile(cold, 50), c.percentile(cold, 99)
    res.add(f"search latency, {FTS_REQUESTS} requests one at a time", f"p50 {p50:.2f} ms, "
            f"p99 {p99:.2f} ms (max {max(times):.1f} ms)", "", "", "p99 < 10 ms", p99 < 10)
    res.add("same, response cache off (every request searches)", f"p50 {cold_p50:.2f} ms, "
            f"p99 {cold_p99:.2f} ms (max {max(cold):.1f} ms)", "", "", "p99 < 10 ms",
            cold_p99 < 10)
    res.add("first search after start-up (loads the catalog, builds the index)", f"{first * 1000:.0f} ms")
    res.add("under load (16 connections, one search)", f"{load['ok_rps']:,.0f} req/s, "
            f"p50 {load['p50_ms']:.1f} ms, p99 {load['p99_ms']:.1f} ms")
    res.add("server peak RSS with the index", f"{hwm:.0f} MiB")
    res.note("matches per search: " + ", ".join(f"{w}: {n}" for w, n in hits.items()))
    res.note(f"catalog setup facts: {json.dumps(facts)}")
    res.note("descriptions, publishers, themes and keywords written into catalog.sqlite by the "
             "bench (no publishing API yet); titles set by `kleber import --title`")
    if facts["datasets"] < COUNT:
        res.note(f"only {facts['datasets']} of {COUNT} datasets could be imported within "
                 f"CATALOG_SETUP_BUDGET_S={facts['budget_s']:.0f} s")
    res.save()


if __name__ == "__main__":
    main()
