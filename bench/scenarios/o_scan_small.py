"""o. Issue 17: a small dataset (1,000 records) with a different filter on every request.

`where=commune="X" AND montant > N&order_by=montant desc&limit=20` on the dataset `small`
(bench/varied.lua, `kleber-small`), with the response cache off, against Datasette's table
JSON on the same sequence (`datasette-small`); wrk 16 connections, interleaved, medians; and the
same load on a server with its default cache.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402
import scan17 as s  # noqa: E402


def main():
    res = c.Results("o", "issue 17: small dataset (1,000 rows), varied filters, cache off")
    kdir, db = c.kleber_dir(1000, "small"), c.sqlite_db(1000, "small")
    with c.kleber_server(kdir, cache=False) as ku, c.datasette_server(db) as ds:
        runs, med = s.wrk_varied_side_by_side(
            [("kleber", ku, "kleber-small"), ("datasette", ds, "datasette-small")])
    with c.kleber_server(kdir) as kcached:
        cached = s.wrk_varied(kcached, "kleber-small")
    k, d = med["kleber"], med["datasette"]
    ratio = k["ok_rps"] / d["ok_rps"]
    res.add("issue 17: small dataset, varied filters, cache off, req/s, median",
            f"{k['ok_rps']:,.0f}", f"Datasette {d['ok_rps']:,.0f}",
            f"{ratio:.1f}x Datasette; {k['cpu_ms']:.2f} ms CPU per request "
            f"(Datasette {d['cpu_ms']:.2f})", ">= 10,000 req/s and >= 10x Datasette",
            k["ok_rps"] >= 10000 and ratio >= 10)
    res.add("small dataset, varied filters: p50 / p99 latency under load, cache off",
            f"{k['p50_ms']:.2f} / {k['p99_ms']:.2f} ms",
            f"Datasette {d['p50_ms']:.2f} / {d['p99_ms']:.2f} ms")
    res.add("small dataset, varied filters, default response cache, req/s",
            f"{cached['ok_rps']:,.0f}", "", "the cache cannot help: no request repeats")
    res.note("all runs (req/s): " + "; ".join(
        f"{k} " + ", ".join(f"{o['ok_rps']:.0f}" for o in v) for k, v in runs.items()))
    res.note("failed answers over all runs: " + str(
        {k: sum(o["bad"] for o in v) for k, v in runs.items()}))
    res.note("wrk (2 threads) runs on the same 2 cores as the server it loads")
    res.save()


if __name__ == "__main__":
    main()
