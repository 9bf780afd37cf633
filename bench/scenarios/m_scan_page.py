"""m. Issue 17: a filtered, sorted page of 100 with a different filter on every request.

`where=commune="X" AND montant > N&order_by=montant desc&limit=100` (X among the 33 communes,
N in 0..4999, drawn per request; bench/varied.lua), with its total_count. Kleber with the
response cache off (every request runs its query), Datasette on the same sequence
(`commune=X&montant__gt=N&_sort_desc=montant&_size=100`, with its filtered count), wrk 16
connections, interleaved runs, medians. Then the same queries one at a time: Kleber through
HTTP, DuckDB in this process (the page and the count, two queries) over its own Parquet file.
Then the memory target: a full CSV export of the table from the uncached server while wrk keeps
the varied page load on it; the server's peak RSS (VmHWM).
"""
import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402
import scan17 as s  # noqa: E402


def main():
    import duckdb

    res = c.Results("m", "issue 17: varied filtered + sorted page of 100, cache off")
    kdir, db, pq = c.kleber_dir(), c.sqlite_db(), c.duckdb_parquet()
    con = duckdb.connect()
    filters = s.varied_filters(s.SEQUENTIAL)
    table = f"'{pq}'"
    con.sql(s.duck_page_sql(table, *filters[0])[0]).fetchall()  # footer read once

    def duck(f):
        page, count = s.duck_page_sql(table, *f)
        con.sql(page).fetchall()
        con.sql(count).fetchall()

    with c.kleber_server(kdir, cache=False) as ku, c.datasette_server(db) as ds:
        kc, dc = c.Client(ku.port), c.Client(ds.port)
        c.note_clustered_copy(res, kdir, lambda: kc.get_ok(s.kleber_page_path(*filters[0])))
        # The answers agree (amounts of the page, matching rows) on a few of the queries.
        agree = 0
        for f in filters[:5]:
            k = json.loads(kc.get_ok(s.kleber_page_path(*f))[0])
            d = json.loads(dc.get_ok(s.datasette_page_path(*f))[0])
            col = d["columns"].index("montant")
            agree += ([r["montant"] for r in k["results"]] == [r[col] for r in d["rows"]]
                      and k["total_count"] == d["filtered_table_rows_count"])
        res.note(f"Kleber and Datasette give the same page and count on {agree} of 5 queries")
        t = {"kleber": [], "duckdb": []}
        for f in filters:
            t["kleber"].append(kc.get_ok(s.kleber_page_path(*f))[1])
            t["duckdb"] += s.timed_sequential(duck, [f])
        kc.close()
        dc.close()
        runs, med = s.wrk_varied_side_by_side(
            [("kleber", ku, "kleber-page"), ("datasette", ds, "datasette-page")])
    with c.kleber_server(kdir) as kcached:
        cached = s.wrk_varied(kcached, "kleber-page")
    # Memory: a full CSV export while the varied page load runs on the same uncached server.
    with c.kleber_server(kdir, cache=False) as ku:
        load_out = {}
        loader = threading.Thread(target=lambda: load_out.update(
            s.wrk_varied(ku, "kleber-page", seed=99, duration=max(10, c.WRK_DURATION))))
        loader.start()
        c.time.sleep(1)
        csv_path = "/api/explore/v2.1/catalog/datasets/records/exports/csv"
        started = c.time.perf_counter()
        out = c.subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{size_download}",
                                f"http://127.0.0.1:{ku.port}{csv_path}"],
                               capture_output=True, text=True, check=True)
        export_s = c.time.perf_counter() - started
        loader.join()
        _, peak = ku.memory()
    kp50, dp50 = c.median(t["kleber"]) * 1000, c.median(t["duckdb"]) * 1000
    ratio = med["kleber"]["ok_rps"] / med["datasette"]["ok_rps"]
    res.add("issue 17: varied page, cache off, req/s (16 connections), median",
            f"{med['kleber']['ok_rps']:,.1f}", f"Datasette {med['datasette']['ok_rps']:,.1f}",
            f"{ratio:.1f}x Datasette; {med['kleber']['cpu_ms']:.1f} ms CPU per request "
            f"(Datasette {med['datasette']['cpu_ms']:.1f})", ">= 10x Datasette", ratio >= 10)
    res.add("issue 17: varied page, one at a time, p50 (HTTP; DuckDB in process: page + count)",
            f"{kp50:.1f} ms", f"DuckDB {dp50:.1f} ms",
            f"{kp50 / dp50:.2f}x DuckDB's time", "<= 2x DuckDB's time", kp50 <= 2 * dp50)
    res.add("varied page under load: p50 / p99 latency, cache off",
            f"{med['kleber']['p50_ms']:.0f} / {med['kleber']['p99_ms']:.0f} ms",
            f"Datasette {med['datasette']['p50_ms']:.0f} / {med['datasette']['p99_ms']:.0f} ms")
    res.add("varied page, default response cache (every request still differs), req/s",
            f"{cached['ok_rps']:,.1f}", "", "the cache cannot help: no request repeats")
    mib = peak
    res.add("issue 17: peak RSS, full CSV export under the varied page load",
            f"{mib:.0f} MiB", "", f"export {int(out.stdout) / 1e6:.0f} MB in {export_s:.1f} s; "
            f"load {load_out.get('ok_rps', 0):,.1f} req/s meanwhile", "< 300 MB",
            mib * 1.048576 < 300)
    res.note("one-at-a-time timings over the same " + str(len(filters)) + " varied queries: "
             f"Kleber p90 {c.percentile(t['kleber'], 90) * 1000:.1f} ms, DuckDB p90 "
             f"{c.percentile(t['duckdb'], 90) * 1000:.1f} ms")
    res.note("all runs (req/s): " + "; ".join(
        f"{k} " + ", ".join(f"{o['ok_rps']:.1f}" for o in v) for k, v in runs.items()))
    res.note("failed answers over all runs: " + str(
        {k: sum(o["bad"] for o in v) for k, v in runs.items()}))
    res.save()


if __name__ == "__main__":
    main()
