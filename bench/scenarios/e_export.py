"""e. Full exports of the records table: MB/s and the server's peak RSS.

Each export runs on a freshly started server, so the server's peak resident set (VmHWM) is the
peak of start-up plus that one export. curl downloads to /dev/null; MB/s = bytes / total time
(1 MB = 10^6 bytes). Kleber CSV (exports/csv) against Datasette's streamed CSV
(/records/records.csv?_stream=on&_size=max); Kleber's GeoJSON (asked by the issue; Datasette has
no GeoJSON export without a plugin), JSON, JSONL and Parquet exports with the same measures.
"""
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402

BASE = "/api/explore/v2.1/catalog/datasets/records/exports/"
DATASETTE_CSV = "/records/records.csv?_stream=on&_size=max"


def curl(port, path):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                          "%{http_code} %{size_download} %{time_total}",
                          f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=3600).stdout.split()
    return int(out[0]), int(out[1]), float(out[2])


def one_export(make_server, path, min_bytes=None):
    with make_server() as server:
        status, size, seconds = curl(server.port, path)
        _, hwm = server.memory()
    if status != 200:
        raise RuntimeError(f"{path} answered {status}")
    if min_bytes is None:
        min_bytes = 0.9 * c.records_csv().stat().st_size
    if size < min_bytes:
        raise RuntimeError(f"{path} sent only {size} bytes, less than the CSV: cut short?")
    return {"mb": size / 1e6, "seconds": seconds, "mbps": size / 1e6 / seconds, "hwm": hwm}


def main():
    res = c.Results("e", "full exports: throughput and peak RSS")
    kdir, db = c.kleber_dir(), c.sqlite_db()
    kleber = lambda: c.kleber_server(kdir)  # noqa: E731
    datasette = lambda: c.datasette_server(db)  # noqa: E731
    runs = {"kleber csv": [], "datasette csv": [], "kleber geojson": [], "kleber json": [],
            "kleber jsonl": [], "kleber parquet": []}
    for r in range(c.REPEATS):
        for name, make, path in (("kleber csv", kleber, BASE + "csv"),
                                 ("datasette csv", datasette, DATASETTE_CSV),
                                 ("kleber geojson", kleber, BASE + "geojson"),
                                 ("kleber json", kleber, BASE + "json"),
                                 ("kleber jsonl", kleber, BASE + "jsonl"),
                                 ("kleber parquet", kleber, BASE + "parquet")):
            # Parquet is compressed: a third of the CSV's size is no sign of a cut.
            out = one_export(make, path, 0.2 * c.records_csv().stat().st_size
                             if name == "kleber parquet" else None)
            runs[name].append(out)
            c.log(f"  run {r + 1}: {name} {out['mb']:.0f} MB in {out['seconds']:.2f} s = "
                  f"{out['mbps']:.1f} MB/s, peak RSS {out['hwm']:.0f} MiB")
    med = {k: {m: c.median([o[m] for o in v]) for m in ("mb", "seconds", "mbps")}
           for k, v in runs.items()}
    peak = {k: max(o["hwm"] for o in v) for k, v in runs.items()}
    k, d = med["kleber csv"], med["datasette csv"]
    res.add(f"CSV export, {c.ROWS:,} rows ({k['mb']:.0f} MB), median MB/s",
            f"{k['mbps']:.1f} MB/s ({k['seconds']:.1f} s)",
            f"Datasette {d['mbps']:.1f} MB/s ({d['mb']:.0f} MB in {d['seconds']:.1f} s)",
            f"{k['mbps'] / d['mbps']:.1f}x Datasette", ">= 200 MB/s", k["mbps"] >= 200)
    res.add("CSV export, server peak RSS (max over runs)", f"{peak['kleber csv']:.0f} MiB",
            f"Datasette {peak['datasette csv']:.0f} MiB", "", "< 300 MB",
            peak["kleber csv"] * 1.048576 < 300)
    g = med["kleber geojson"]
    res.add(f"GeoJSON export, {c.ROWS:,} features ({g['mb']:.0f} MB), median MB/s",
            f"{g['mbps']:.1f} MB/s ({g['seconds']:.1f} s), peak RSS "
            f"{peak['kleber geojson']:.0f} MiB", "", "", "peak RSS < 300 MB",
            peak["kleber geojson"] * 1.048576 < 300)
    for fmt in ("json", "jsonl", "parquet"):
        m = med[f"kleber {fmt}"]
        res.add(f"{fmt.upper()} export (information), median MB/s",
                f"{m['mbps']:.1f} MB/s ({m['mb']:.0f} MB, {m['seconds']:.1f} s), "
                f"peak RSS {peak[f'kleber {fmt}']:.0f} MiB")
    res.note("peak RSS = VmHWM of a server started for that one export")
    res.note("Datasette runs with max_csv_mb=0: its default (100) cuts a CSV export at 100 MB")
    if c.ROWS < 2_000_000:
        res.note(f"measured at {c.ROWS:,} rows only; the 'whatever the size' part of the target "
                 "needs the full run")
    res.save()


if __name__ == "__main__":
    main()
