"""What the issue-17 scenarios (m, n, o, p: the uncached scan path) share: varied queries, the
same for every tool, wrk driven by bench/varied.lua, and one-at-a-time timings.

Every request differs from the one before (a commune and a threshold drawn at random, seeded),
so no cache can answer; Kleber runs with its response cache off (--result-cache-mb 0) for the
main figures, and the same varied load is also run against a server with its default cache.
"""
import os
import random
import re
import subprocess
import urllib.parse

import common as c

COMMUNES = [
    "Strasbourg", "Schiltigheim", "Illkirch-Graffenstaden", "Lingolsheim", "Bischheim",
    "Hœnheim", "Ostwald", "Eckbolsheim", "Vendenheim", "Souffelweyersheim", "Geispolsheim",
    "Holtzheim", "Entzheim", "Oberhausbergen", "Mittelhausbergen", "Niederhausbergen",
    "Wolfisheim", "Oberschaeffolsheim", "Achenheim", "Breuschwickersheim", "Hangenbieten",
    "Kolbsheim", "Blaesheim", "Plobsheim", "Eschau", "Fegersheim", "Lipsheim", "Mundolsheim",
    "Lampertheim", "Eckwersheim", "La Wantzenau", "Reichstett", "Mittelschaeffolsheim",
]
LUA = c.BENCH / "varied.lua"
# Queries timed one at a time per tool (each a different commune and threshold).
SEQUENTIAL = int(os.environ.get("SCAN_QUERIES", "40"))


def varied_filters(count, seed=17):
    """`count` (commune, threshold) pairs, the same for every tool."""
    rng = random.Random(seed)
    return [(rng.choice(COMMUNES), rng.randint(0, 4999)) for _ in range(count)]


def q(params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def kleber_page_path(commune, n, dataset="records", limit=100):
    return (f"/api/explore/v2.1/catalog/datasets/{dataset}/records?"
            + q({"where": f'commune = "{commune}" AND montant > {n}',
                 "order_by": "montant desc", "limit": str(limit)}))


def datasette_page_path(commune, n, db="records", size=100):
    return (f"/{db}/{db}.json?" + q({"commune": commune, "montant__gt": str(n)})
            + f"&_sort_desc=montant&_size={size}&_nosuggest=1")


def duck_page_sql(table, commune, n, limit=100):
    """The page and the count Kleber's answer holds, as two DuckDB queries."""
    esc = commune.replace("'", "''")
    where = f"commune = '{esc}' AND montant > {n}"
    return (f"SELECT * FROM {table} WHERE {where} ORDER BY montant DESC NULLS LAST LIMIT {limit}",
            f"SELECT count(*) FROM {table} WHERE {where}")


def wrk_varied(server, kind, seed=17, duration=None):
    """wrk on `server` with bench/varied.lua, request family `kind`: 2xx per second, p50 and
    p99 latency (ms), and the server's CPU ms per request."""
    duration = duration or c.WRK_DURATION
    env = dict(os.environ, VARIED=kind, VARIED_SEED=str(seed))
    cmd = ["wrk", "-t2", f"-c{c.WRK_CONNECTIONS}", f"-d{duration}s", "--timeout", "30s",
           "-s", str(LUA), f"http://127.0.0.1:{server.port}"]
    before = server.cpu()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env,
                         timeout=duration + 120).stdout
    used = server.cpu() - before
    vals = dict(re.findall(r"^(\w+) ([\d.]+)$", out, re.M))
    if "requests" not in vals:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    total, ok = int(vals["requests"]), int(vals["ok"])
    return {"requests": total, "ok": ok, "bad": total - ok + int(vals["socket_errors"]),
            "ok_rps": ok / float(vals["seconds"]), "p50_ms": float(vals["p50_ms"]),
            "p99_ms": float(vals["p99_ms"]), "cpu_ms": used * 1000 / total if total else None}


def wrk_varied_side_by_side(pairs, seed=17):
    """REPEATS interleaved runs of each (name, server, kind); medians by name."""
    runs = {name: [] for name, _, _ in pairs}
    for r in range(c.REPEATS):
        for name, server, kind in pairs:
            out = wrk_varied(server, kind, seed=seed + r)
            runs[name].append(out)
            c.log(f"  run {r + 1}: {name} {out['ok_rps']:,.1f} req/s ok, p50 {out['p50_ms']:.2f} ms,"
                  f" CPU {out['cpu_ms']:.2f} ms/request, failed {out['bad']}")
    med = {k: {m: c.median([o[m] for o in v]) for m in ("ok_rps", "p50_ms", "p99_ms", "cpu_ms")}
           for k, v in runs.items()}
    return runs, med


def timed_sequential(fn, items):
    """Runs fn(item) for each item one at a time; the list of seconds."""
    out = []
    for item in items:
        started = c.time.perf_counter()
        fn(item)
        out.append(c.time.perf_counter() - started)
    return out
