"""c. group_by aggregations on the records table, one request at a time.

Kleber through its API (HTTP included), Datasette through its SQL JSON API, DuckDB in process
(this Python process, no HTTP) over the Parquet file its own COPY wrote in scenario a, and, for
information, DuckDB over Kleber's Parquet file. One warm-up, then QUERY_REPEATS timed runs
(default max(5, REPEATS)), interleaved between tools; medians. Timings are wall-clock for the
whole answer (Kleber and Datasette: request sent to body read; DuckDB: query to fetched rows).
"""
import json
import os
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402

QUERY_REPEATS = int(os.environ.get("QUERY_REPEATS", max(5, c.REPEATS)))

QUERIES = [
    ("count by categorie",
     {"select": "count(*) as n", "group_by": "categorie", "limit": "100"},
     "SELECT categorie, count(*) AS n FROM {t} GROUP BY categorie ORDER BY categorie",
     "select categorie, count(*) as n from records group by categorie order by categorie"),
    ("avg(montant) by categorie",
     {"select": "avg(montant) as m", "group_by": "categorie", "limit": "100"},
     "SELECT categorie, avg(montant) AS m FROM {t} GROUP BY categorie ORDER BY categorie",
     "select categorie, avg(montant) as m from records group by categorie order by categorie"),
    ("count by month",
     {"select": "count(*) as n", "group_by": "date_format(date_signalement, 'yyyy-MM') as mois",
      "limit": "100"},
     "SELECT strftime(date_signalement, '%Y-%m') AS mois, count(*) AS n FROM {t} "
     "GROUP BY mois ORDER BY mois",
     "select strftime('%Y-%m', date_signalement) as mois, count(*) as n from records "
     "group by mois order by mois"),
]


def kleber_path(params):
    return ("/api/explore/v2.1/catalog/datasets/records/records?"
            + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))


def datasette_path(sql):
    return "/records.json?" + urllib.parse.urlencode({"sql": sql}, quote_via=urllib.parse.quote)


def main():
    import duckdb

    res = c.Results("c", "group_by aggregations, one request at a time")
    kdir, db, pq = c.kleber_dir(), c.sqlite_db(), c.duckdb_parquet()
    kpq = c.kleber_parquet(kdir)
    con = duckdb.connect()
    with c.kleber_server(kdir, cache=False) as ks, c.kleber_server(kdir) as kcached, \
            c.datasette_server(db) as ds:
        kc, dc, cc = c.Client(ks.port), c.Client(ds.port), c.Client(kcached.port)
        for label, kparams, duck_sql, lite_sql in QUERIES:
            kp, dp = kleber_path(kparams), datasette_path(lite_sql)
            dq, dkq = duck_sql.format(t=f"'{pq}'"), duck_sql.format(t=f"'{kpq}'")
            # Warm-up, and a check that the tools agree on the groups.
            kbody, _ = kc.get_ok(kp)
            cc.get_ok(kp)
            dc.get_ok(dp)
            duck_rows = con.sql(dq).fetchall()
            con.sql(dkq).fetchall()
            k = json.loads(kbody)
            kvals = [list(r.values())[-1] for r in k["results"]]
            dvals = [r[-1] for r in duck_rows]
            if len(kvals) != len(dvals) or not all(
                    c.math.isclose(a, b, rel_tol=1e-9) for a, b in zip(kvals, dvals)):
                res.note(f"{label}: Kleber and DuckDB disagree: {kvals[:5]} vs {dvals[:5]}")
            t = {"kleber": [], "datasette": [], "duckdb": [], "duckdb_kleber_file": [],
                 "kleber_cached": []}
            cpu = {"kleber": 0.0, "duckdb": 0.0}
            for _ in range(QUERY_REPEATS):
                before = ks.cpu()
                t["kleber"].append(kc.get_ok(kp)[1])
                cpu["kleber"] += ks.cpu() - before
                t["datasette"].append(dc.get_ok(dp)[1])
                t["kleber_cached"].append(cc.get_ok(kp)[1])
                before = c.resource.getrusage(c.resource.RUSAGE_SELF)
                started = c.time.perf_counter()
                con.sql(dq).fetchall()
                t["duckdb"].append(c.time.perf_counter() - started)
                after = c.resource.getrusage(c.resource.RUSAGE_SELF)
                cpu["duckdb"] += (after.ru_utime - before.ru_utime) + (after.ru_stime
                                                                      - before.ru_stime)
                started = c.time.perf_counter()
                con.sql(dkq).fetchall()
                t["duckdb_kleber_file"].append(c.time.perf_counter() - started)
            med = {name: c.median(v) * 1000 for name, v in t.items()}
            ratio = med["kleber"] / med["duckdb"]
            res.add(f"{label} ({len(k['results'])} groups), median ms",
                    f"{med['kleber']:.1f} ms",
                    f"DuckDB {med['duckdb']:.1f} ms (on Kleber's file {med['duckdb_kleber_file']:.1f}"
                    f" ms); Datasette {med['datasette']:.0f} ms",
                    f"{ratio:.2f}x DuckDB's time; {med['datasette'] / med['kleber']:.1f}x faster "
                    f"than Datasette",
                    "<= 2x DuckDB's time", ratio <= 2)
            res.add(f"{label}: the same request answered from the response cache",
                    f"{med['kleber_cached']:.2f} ms", "", "", "", None)
            # CPU clocks tick every 10 ms: below a few ticks in all, the ratio means nothing.
            kcpu, dcpu = (cpu[n] * 1000 / QUERY_REPEATS for n in ("kleber", "duckdb"))
            coarse = min(cpu["kleber"], cpu["duckdb"]) < 0.05
            res.add(f"{label}: CPU time per query (Kleber server / DuckDB process)",
                    f"{kcpu:.0f} ms", f"DuckDB {dcpu:.0f} ms",
                    "n/a (too few 10 ms clock ticks)" if coarse else f"{kcpu / dcpu:.2f}x")
        kc.close()
        dc.close()
        cc.close()
    res.note("Kleber's main rows run with the response cache off (--result-cache-mb 0): every "
             "request computes its groups; the 'response cache' rows repeat the request on a "
             "server with the default cache")
    res.note("Kleber's count by month uses ODSQL date_format(...,'yyyy-MM') in the request's "
             "time zone (UTC); DuckDB strftime on its auto-detected timestamp; SQLite strftime "
             "on the ISO text")
    res.note(f"Datasette's sql_time_limit_ms raised from 1000 to {c.DATASETTE_TIME_LIMIT_MS} "
             "(Kleber's 30 s query timeout), else these queries fail on it")
    res.save()


if __name__ == "__main__":
    main()
