"""b. A page of 100 records with a filter and a sort, on the records table, under load.

wrk, 16 connections, WRK_DURATION seconds per run, runs interleaved (Kleber, Datasette,
Kleber, ...), median of REPEATS runs. Only 2xx answers count.
Kleber: /records?where=categorie="Voirie"&order_by=montant desc&limit=100 (with total_count).
Datasette: its table JSON with the same filter and sort, /records/records.json?categorie=Voirie
&_sort_desc=montant&_size=100 (with its filtered count); `_nosuggest=1` spares it the facet
suggestions it would otherwise compute on each page, which Kleber's /records does not do.
No index for anyone: both scan and sort.
"""
import json
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402

KLEBER_PATH = "/api/explore/v2.1/catalog/datasets/records/records?" + urllib.parse.urlencode(
    {"where": 'categorie = "Voirie"', "order_by": "montant desc", "limit": "100"},
    quote_via=urllib.parse.quote)
DATASETTE_PATH = "/records/records.json?categorie=Voirie&_sort_desc=montant&_size=100&_nosuggest=1"


def check_same(kleber_body, datasette_body):
    k = json.loads(kleber_body)
    d = json.loads(datasette_body)
    k_amounts = [r["montant"] for r in k["results"]]
    col = d["columns"].index("montant")
    d_amounts = [row[col] for row in d["rows"]]
    return k_amounts == d_amounts, k.get("total_count"), d.get("filtered_table_rows_count")


def main():
    import duckdb

    res = c.Results("b", "page of 100 records, filter + sort, 16 connections")
    kdir, db, pq = c.kleber_dir(), c.sqlite_db(), c.duckdb_parquet()
    con = duckdb.connect()
    page_sql = (f"SELECT * FROM '{pq}' WHERE categorie = 'Voirie' ORDER BY montant DESC "
                "LIMIT 100")
    count_sql = f"SELECT count(*) FROM '{pq}' WHERE categorie = 'Voirie'"
    duck = []
    for _ in range(11):
        started = c.time.perf_counter()
        con.sql(page_sql).fetchall()
        con.sql(count_sql).fetchall()
        duck.append((c.time.perf_counter() - started) * 1000)
    duck_ms = c.median(duck[1:])
    with c.kleber_server(kdir) as ks, c.datasette_server(db) as ds:
        kc, dc = c.Client(ks.port), c.Client(ds.port)
        kbody, _ = kc.get_ok(KLEBER_PATH)
        dbody, _ = dc.get_ok(DATASETTE_PATH)
        same, kcount, dcount = check_same(kbody, dbody)
        res.note(f"same 100 amounts from both: {same}; matching rows: Kleber {kcount}, "
                 f"Datasette {dcount}")
        lat = {"kleber": [], "datasette": []}
        for _ in range(10):
            lat["kleber"].append(kc.get_ok(KLEBER_PATH)[1] * 1000)
            lat["datasette"].append(dc.get_ok(DATASETTE_PATH)[1] * 1000)
        kc.close()
        dc.close()
        runs, med, p50, cpu = c.wrk_side_by_side(ks, KLEBER_PATH, ds, DATASETTE_PATH, rps_digits=1)
    # The same request with the response cache off: every request runs its query.
    with c.kleber_server(kdir, cache=False) as ku:
        cold_rps, cold_cpu = c.wrk_median(f"http://127.0.0.1:{ku.port}{KLEBER_PATH}", ku)
        # Where Kleber's time goes: each half of the request alone, one wrk run each.
        base = f"http://127.0.0.1:{ku.port}/api/explore/v2.1/catalog/datasets/records/records?"
        parts = {
            "the count alone (where, limit=0)": "where=categorie%20%3D%20%22Voirie%22&limit=0",
            "the filter without the sort (where, limit=100)":
                "where=categorie%20%3D%20%22Voirie%22&limit=100",
            "the sort without the filter (order_by, limit=100)":
                "order_by=montant%20desc&limit=100",
        }
        parts = {label: c.wrk(base + q, server=ku) for label, q in parts.items()}
    ratio = med["kleber"] / med["datasette"] if med["datasette"] else float("inf")
    cold_ratio = cold_rps / med["datasette"] if med["datasette"] else float("inf")
    res.add("throughput, req/s (2xx), median", f"{med['kleber']:,.1f}",
            f"Datasette {med['datasette']:,.1f}", f"{ratio:.1f}x Datasette",
            ">= 10x Datasette", ratio >= 10)
    res.add("same, response cache off (every request runs the query), req/s",
            f"{cold_rps:,.1f}", f"Datasette {med['datasette']:,.1f}",
            f"{cold_ratio:.1f}x Datasette; {cold_cpu:.1f} ms CPU per request",
            ">= 10x Datasette", cold_ratio >= 10)
    res.add("server CPU time per request (median)", f"{cpu['kleber']:.1f} ms",
            f"Datasette {cpu['datasette']:.1f} ms",
            f"{cpu['datasette'] / cpu['kleber']:.1f}x less than Datasette")
    res.add("latency under load p50", f"{p50['kleber']:.1f} ms",
            f"Datasette {p50['datasette']:.1f} ms")
    res.add("latency of one request alone (median of 10)",
            f"{c.median(lat['kleber']):.1f} ms", f"Datasette {c.median(lat['datasette']):.1f} ms")
    for label, out in parts.items():
        res.add(f"diagnostic, cache off: {label}, req/s (1 run)",
                f"{out['ok_rps']:,.1f} req/s, {out['cpu_ms']:.1f} ms CPU per request")
    res.add("reference: the same page + count in process, one at a time (median of 10)", "",
            f"DuckDB {duck_ms:.1f} ms")
    bad = {k: sum(o["non2xx"] + o["errors"] for o in v) for k, v in runs.items()}
    res.note(f"failed answers over all runs (non-2xx + socket errors): {bad}")
    res.note("all runs (req/s): " + "; ".join(
        f"{k} " + ", ".join(f"{o['ok_rps']:.1f}" for o in v) for k, v in runs.items()))
    res.save()


if __name__ == "__main__":
    main()
