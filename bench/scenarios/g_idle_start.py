"""g. Start-up time and idle RSS with IDLE_DATASETS (default 1,000) datasets in the data dir.

Start-up: from spawning `kleber serve` to its first 200 answer to /catalog/datasets?limit=1
(polled every 3 ms), so the catalog is loaded; median of STARTS (default max(5, REPEATS))
starts. Idle RSS: the server's VmRSS 2 s after that first answer; then again after one
/records?limit=1 request to every dataset (each dataset's scan opened once) and 2 s of rest.
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import catalog  # noqa: E402
import common as c  # noqa: E402

COUNT = int(os.environ.get("IDLE_DATASETS", "1000"))
STARTS = int(os.environ.get("STARTS", max(5, c.REPEATS)))


def main():
    data_dir, facts = catalog.catalog_dir(COUNT)
    res = c.Results("g", f"start-up and idle RSS, {facts['datasets']:,} datasets")
    ids = sorted(catalog.existing(data_dir))
    starts, idle, touched = [], [], []
    for i in range(STARTS):
        with c.kleber_server(data_dir) as ks:
            starts.append(ks.startup_s)
            time.sleep(2)
            idle.append(ks.memory()[0])
            if i == 0:
                kc = c.Client(ks.port)
                for dataset_id in ids:
                    kc.get_ok(f"/api/explore/v2.1/catalog/datasets/{dataset_id}/records?limit=1")
                kc.close()
                time.sleep(2)
                touched.append(ks.memory()[0])
        c.log(f"  start {i + 1}: {starts[-1] * 1000:.0f} ms, idle RSS {idle[-1]:.1f} MiB")
    su, rss = c.median(starts), c.median(idle)
    res.add(f"start-up to first catalog answer, median of {STARTS}", f"{su * 1000:.0f} ms",
            "", "", "< 1 s", su < 1)
    res.add("idle RSS after start-up", f"{rss:.1f} MiB", "", "", "< 100 MB",
            rss * 1.048576 < 100)
    res.add(f"idle RSS after one request to each of the {len(ids)} datasets",
            f"{touched[0]:.1f} MiB", "", "", "< 100 MB", touched[0] * 1.048576 < 100)
    res.note("start-ups (ms): " + ", ".join(f"{s * 1000:.0f}" for s in starts))
    res.note(f"data directory: {facts['disk_mb']} MB on disk; setup took "
             f"{facts['import_seconds_total']:.0f} s of imports "
             f"({facts['imports_per_second']}/s)")
    res.save()


if __name__ == "__main__":
    main()
