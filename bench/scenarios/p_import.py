"""p. Issue 17: import CSV -> published, against DuckDB's CSV -> Parquet.

`kleber import` (types inferred over the whole file, Parquet written, fsynced, a version
published) against `duckdb.sql("COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet)")`
in a fresh Python process, interleaved, REPEATS runs, medians; wall time and CPU time. Unlike
scenario a, sqlite-utils is left out (minutes per run at 2,000,000 rows).
"""
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402


def main():
    res = c.Results("p", "issue 17: import CSV -> published")
    csv = c.records_csv()
    work = c.OUT / "p_import"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    times = {"kleber": [], "duckdb": []}
    cpu = {"kleber": [], "duckdb": []}
    for r in range(c.REPEATS):
        kdir = work / f"kleber{r}"
        t, p = c.kleber_import(csv, "records", kdir)
        times["kleber"].append(t)
        cpu["kleber"].append(p.cpu_s)
        pq = work / f"duckdb{r}.parquet"
        t, p = c.duckdb_copy(csv, pq)
        times["duckdb"].append(t)
        cpu["duckdb"].append(p.cpu_s)
        c.log(f"  run {r + 1}: kleber {times['kleber'][-1]:.2f} s, duckdb {t:.2f} s")
        shutil.rmtree(kdir)
        pq.unlink()
    shutil.rmtree(work, ignore_errors=True)
    med = {k: c.median(v) for k, v in times.items()}
    mcpu = {k: c.median(v) for k, v in cpu.items()}
    ratio = med["kleber"] / med["duckdb"]
    res.add(f"issue 17: import {c.ROWS:,} rows, CSV -> published, median wall time",
            f"{med['kleber']:.2f} s", f"DuckDB {med['duckdb']:.2f} s (CSV -> Parquet)",
            f"{ratio:.2f}x DuckDB's time", "<= 2x DuckDB's time", ratio <= 2)
    res.add("import CPU time (user + system), median", f"{mcpu['kleber']:.2f} s",
            f"DuckDB {mcpu['duckdb']:.2f} s", f"{mcpu['kleber'] / mcpu['duckdb']:.2f}x DuckDB's")
    res.note("all runs, wall (CPU) s: " + "; ".join(
        f"{k} " + ", ".join(f"{t:.2f} ({u:.2f})" for t, u in zip(v, cpu[k]))
        for k, v in times.items()))
    res.save()


if __name__ == "__main__":
    main()
