"""d. A small dataset (1,000 records), a page of 20, under load.

wrk, 16 connections, WRK_DURATION seconds per run, interleaved, median of REPEATS runs; only
2xx answers count. Kleber: /records?limit=20 (with total_count). Datasette: its table JSON,
/small/small.json?_size=20 (with its count), `_nosuggest=1` as in b. Both loaded their default
way (kleber import; sqlite-utils insert --csv), no index.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402

KLEBER_PATH = "/api/explore/v2.1/catalog/datasets/small/records?limit=20"
DATASETTE_PATH = "/small/small.json?_size=20&_nosuggest=1"


def main():
    res = c.Results("d", "small dataset (1,000 rows), page of 20, 16 connections")
    kdir, db = c.kleber_dir(1000, "small"), c.sqlite_db(1000, "small")
    with c.kleber_server(kdir) as ks, c.datasette_server(db) as ds:
        lat = {"kleber": [], "datasette": []}
        kc, dc = c.Client(ks.port), c.Client(ds.port)
        for _ in range(200):
            lat["kleber"].append(kc.get_ok(KLEBER_PATH)[1] * 1000)
            lat["datasette"].append(dc.get_ok(DATASETTE_PATH)[1] * 1000)
        kc.close()
        dc.close()
        runs, med, p50, cpu = c.wrk_side_by_side(ks, KLEBER_PATH, ds, DATASETTE_PATH, rps_digits=0)
    # The same request with the response cache off: every request runs its query.
    with c.kleber_server(kdir, cache=False) as ku:
        cold_rps, cold_cpu = c.wrk_median(f"http://127.0.0.1:{ku.port}{KLEBER_PATH}", ku)
        # Where Kleber's time goes: the same server answering less and less of the request.
        base = f"http://127.0.0.1:{ku.port}/api/explore/v2.1"
        floor = {
            "API root (HTTP only)": c.wrk(f"{base}/", server=ku),
            "dataset object (HTTP + catalog lookup)":
                c.wrk(f"{base}/catalog/datasets/small", server=ku),
            "records?limit=0 (the count; the page is empty)":
                c.wrk(f"{base}/catalog/datasets/small/records?limit=0", server=ku),
        }
    ratio = med["kleber"] / med["datasette"] if med["datasette"] else float("inf")
    cold_ratio = cold_rps / med["datasette"] if med["datasette"] else float("inf")
    res.add("throughput, req/s (2xx), median", f"{med['kleber']:,.0f}",
            f"Datasette {med['datasette']:,.0f}", f"{ratio:.1f}x Datasette",
            ">= 10x Datasette and >= 20,000 req/s", ratio >= 10 and med["kleber"] >= 20000)
    res.add("same, response cache off (every request runs the query), req/s",
            f"{cold_rps:,.0f}", f"Datasette {med['datasette']:,.0f}",
            f"{cold_ratio:.1f}x Datasette; {cold_cpu:.2f} ms CPU per request",
            ">= 10x Datasette and >= 20,000 req/s", cold_ratio >= 10 and cold_rps >= 20000)
    res.add("server CPU time per request (median)", f"{cpu['kleber']:.2f} ms",
            f"Datasette {cpu['datasette']:.2f} ms",
            f"{cpu['datasette'] / cpu['kleber']:.1f}x less than Datasette")
    res.add("latency under load p50", f"{p50['kleber']:.2f} ms",
            f"Datasette {p50['datasette']:.2f} ms")
    res.add("latency of one request alone (median of 200)",
            f"{c.median(lat['kleber']):.2f} ms", f"Datasette {c.median(lat['datasette']):.2f} ms")
    for label, out in floor.items():
        res.add(f"diagnostic, cache off: {label}, req/s (1 run)",
                f"{out['ok_rps']:,.0f} req/s, {out['cpu_ms']:.2f} ms CPU per request")
    bad = {k: sum(o["non2xx"] + o["errors"] for o in v) for k, v in runs.items()}
    res.note(f"failed answers over all runs (non-2xx + socket errors): {bad}")
    res.note("all runs (req/s): " + "; ".join(
        f"{k} " + ", ".join(f"{o['ok_rps']:.0f}" for o in v) for k, v in runs.items()))
    res.note("wrk (2 threads) runs on the same 2 cores as the server it loads")
    res.save()


if __name__ == "__main__":
    main()
