"""n. Issue 17: count and avg by a text field with a different `where` on every request.

`select=count(*) as n&group_by=categorie` and `select=avg(montant) as m&group_by=categorie`,
each with a varied filter (`montant > N` or `commune = "X"`, alternating, N and X drawn from
a seeded sequence shared by the tools). Kleber through HTTP with its response cache off, one
request at a time; DuckDB in this process over its own Parquet file (no HTTP, no JSON);
interleaved; medians. The groups are checked equal on every query.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402
import scan17 as s  # noqa: E402

AGGREGATES = [("count by categorie", "count(*) as n", "count(*)"),
              ("avg(montant) by categorie", "avg(montant) as m", "avg(montant)")]


def wheres(count):
    out = []
    for i, (commune, n) in enumerate(s.varied_filters(count, seed=31)):
        if i % 2:
            out.append((f'commune = "{commune}"', "commune = '" + commune.replace("'", "''") + "'"))
        else:
            out.append((f"montant > {n}", f"montant > {n}"))
    return out


def main():
    import duckdb

    res = c.Results("n", "issue 17: count and avg by a text field, varied where, cache off")
    kdir, pq = c.kleber_dir(), c.duckdb_parquet()
    con = duckdb.connect()
    table = f"'{pq}'"
    filters = wheres(s.SEQUENTIAL)
    disagree = 0
    with c.kleber_server(kdir, cache=False) as ku:
        kc = c.Client(ku.port)
        c.note_clustered_copy(res, kdir, lambda: kc.get_ok(
            "/api/explore/v2.1/catalog/datasets/records/records?"
            + s.q({"select": AGGREGATES[0][1], "group_by": "categorie", "where": filters[0][0]})))
        for label, kselect, dexpr in AGGREGATES:
            t = {"kleber": [], "duckdb": []}
            cpu = 0.0
            for i, (kwhere, dwhere) in enumerate([filters[0]] + filters):
                path = ("/api/explore/v2.1/catalog/datasets/records/records?"
                        + s.q({"select": kselect, "group_by": "categorie", "where": kwhere,
                               "limit": "100"}))
                sql = (f"SELECT categorie, {dexpr} FROM {table} WHERE {dwhere} "
                       "GROUP BY categorie ORDER BY categorie")
                before = ku.cpu()
                body, secs = kc.get_ok(path)
                used = ku.cpu() - before
                started = c.time.perf_counter()
                rows = con.sql(sql).fetchall()
                dsecs = c.time.perf_counter() - started
                kvals = [list(r.values())[-1] for r in json.loads(body)["results"]]
                if len(kvals) != len(rows) or not all(
                        c.math.isclose(a, b[-1], rel_tol=1e-9) for a, b in zip(kvals, rows)):
                    disagree += 1
                if i == 0:
                    continue  # warm-up
                t["kleber"].append(secs * 1000)
                t["duckdb"].append(dsecs * 1000)
                cpu += used
            km, dm = c.median(t["kleber"]), c.median(t["duckdb"])
            res.add(f"issue 17: {label}, varied where, median (HTTP, cache off)", f"{km:.1f} ms",
                    f"DuckDB {dm:.1f} ms in process", f"{km / dm:.2f}x DuckDB's time",
                    "<= 1.5x DuckDB's time", km <= 1.5 * dm)
            res.note(f"{label}: Kleber p90 {c.percentile(t['kleber'], 90):.1f} ms, DuckDB p90 "
                     f"{c.percentile(t['duckdb'], 90):.1f} ms; Kleber server CPU "
                     f"{cpu * 1000 / len(t['kleber']):.1f} ms per query")
        kc.close()
    res.note(f"{len(filters)} varied filters per aggregate (montant > N and commune = X, "
             f"alternating); queries where Kleber's groups differ from DuckDB's: {disagree}")
    res.save()


if __name__ == "__main__":
    main()
