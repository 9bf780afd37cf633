"""h. The map's clusters over ROWS points (the records table's `position`, around Strasbourg).

Kleber answers /catalog/datasets/records/clusters for a 1280 x 640 px viewport centred on the
points at a few zooms: the clusters only (max_records=0: one grid aggregation, the same work
DuckDB does), and the portal map's own request (small cells answered as their records, up to
500). DuckDB runs the same grid aggregation in SQL (Web Mercator cell of each point, group by
cell: count, mean and bounds of the coordinates) in process over Kleber's own Parquet file.
Kleber's response cache is off, so every request computes. One warm-up, then QUERY_REPEATS
timed runs interleaved between tools; medians. The answers are checked to agree: same number of
clusters and the same counts.
"""
import json
import math
import os
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402

QUERY_REPEATS = int(os.environ.get("QUERY_REPEATS", max(5, c.REPEATS)))
# The centre of the generated points, and the screen the map fills.
CENTER_LON, CENTER_LAT = 7.75, 48.58
WIDTH_PX, HEIGHT_PX = 1280, 640
ZOOMS = [0, 8, 11, 13, 15]

DUCK_SQL = """
SELECT cx, cy, count(*) AS n, avg(lon), avg(lat), min(lon), min(lat), max(lon), max(lat)
FROM (
  SELECT lon, lat,
    least(greatest(floor((lon + 180) / 360 * {n}), 0), {n} - 1)::BIGINT AS cx,
    least(greatest(floor((1 - ln(tan(radians(clat)) + 1 / cos(radians(clat))) / pi()) / 2
      * {n}), 0), {n} - 1)::BIGINT AS cy
  FROM (SELECT position.lon AS lon, position.lat AS lat,
               least(greatest(position.lat, -85.0511287798066), 85.0511287798066) AS clat
        FROM '{file}'
        WHERE position.lon BETWEEN {w} AND {e} AND position.lat BETWEEN {s} AND {no})
)
GROUP BY cx, cy
"""


def viewport(zoom):
    """The lon/lat box a WIDTH_PX x HEIGHT_PX map shows at `zoom`, centred on the points."""
    world = 256 * 2 ** zoom
    x = (CENTER_LON + 180) / 360 * world
    lat = math.radians(CENTER_LAT)
    y = (1 - math.log(math.tan(lat) + 1 / math.cos(lat)) / math.pi) / 2 * world

    def lon_of(px):
        return max(-180.0, min(180.0, px / world * 360 - 180))

    def lat_of(py):
        t = math.pi * (1 - 2 * py / world)
        return max(-85.0, min(85.0, math.degrees(math.atan(math.sinh(t)))))
    if zoom == 0:
        return (-180.0, -85.0, 180.0, 85.0)
    return (lon_of(x - WIDTH_PX / 2), lat_of(y + HEIGHT_PX / 2),
            lon_of(x + WIDTH_PX / 2), lat_of(y - HEIGHT_PX / 2))


def kleber_path(zoom, box, max_records):
    params = {"zoom": str(zoom), "bbox": ",".join(f"{v:.6f}" for v in box),
              "max_records": str(max_records), "select": "id, categorie, position"}
    return ("/api/explore/v2.1/catalog/datasets/records/clusters?"
            + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))


def main():
    import duckdb

    res = c.Results("h", f"map clusters over {c.ROWS:,} points, one request at a time")
    kdir = c.kleber_dir()
    kpq = c.kleber_parquet(kdir)
    con = duckdb.connect()
    with c.kleber_server(kdir, cache=False) as ks:
        kc = c.Client(ks.port)
        for zoom in ZOOMS:
            box = viewport(zoom)
            # The same rounding of the box as in the request.
            box = tuple(float(f"{v:.6f}") for v in box)
            n = 2 ** (zoom + 2)
            sql = DUCK_SQL.format(n=n, file=kpq, w=box[0], s=box[1], e=box[2], no=box[3])
            clusters_path, portal_path = kleber_path(zoom, box, 0), kleber_path(zoom, box, 500)
            body, _ = kc.get_ok(clusters_path)
            k = json.loads(body)
            portal = json.loads(kc.get_ok(portal_path)[0])
            duck = con.sql(sql).fetchall()
            kcounts = sorted(cl["count"] for cl in k["clusters"])
            dcounts = sorted(r[2] for r in duck)
            if kcounts != dcounts:
                res.note(f"zoom {zoom}: Kleber and DuckDB disagree: {len(kcounts)} clusters "
                         f"(sum {sum(kcounts)}) vs {len(dcounts)} (sum {sum(dcounts)})")
            t = {"clusters": [], "portal": [], "duckdb": []}
            for _ in range(QUERY_REPEATS):
                t["clusters"].append(kc.get_ok(clusters_path)[1])
                t["portal"].append(kc.get_ok(portal_path)[1])
                started = c.time.perf_counter()
                con.sql(sql).fetchall()
                t["duckdb"].append(c.time.perf_counter() - started)
            med = {name: c.median(v) * 1000 for name, v in t.items()}
            ratio = med["clusters"] / med["duckdb"]
            res.add(f"zoom {zoom}: {k['total_count']:,} points in view, {len(k['clusters'])} "
                    "clusters, median ms",
                    f"{med['clusters']:.1f} ms",
                    f"DuckDB {med['duckdb']:.1f} ms",
                    f"{ratio:.2f}x DuckDB's time", "<= 2x DuckDB's time", ratio <= 2)
            res.add(f"zoom {zoom}: the portal's request ({len(portal['clusters'])} clusters, "
                    f"{len(portal['records'])} records)", f"{med['portal']:.1f} ms", "", "", "",
                    None)
        rss, peak = ks.memory()
        res.add("Kleber's resident memory after the runs (peak)", f"{rss:.0f} MiB ({peak:.0f})")
        kc.close()
    res.note(f"viewport {WIDTH_PX} x {HEIGHT_PX} px centred on ({CENTER_LON}, {CENTER_LAT}); "
             "cells of 64 px (grid level zoom + 2); zoom 0 is the whole world (the map's first "
             "request)")
    res.note("Kleber's times include HTTP and JSON; DuckDB runs in this process over Kleber's "
             "Parquet file, without HTTP")
    res.save()


if __name__ == "__main__":
    main()
