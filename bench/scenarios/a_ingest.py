"""a. Ingest: the records CSV to queryable.

Kleber `kleber import` (types inferred, Parquet written, version published) against
`sqlite-utils insert --csv` (types detected, its default) and DuckDB
`COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'` (in a `python -c` process, like the others
a whole command). Each tool starts from nothing each time (fresh directory or file), no index
is made for anyone. The runs are interleaved (kleber, sqlite-utils, duckdb, kleber, ...) so a
burst of load on the shared machine hits all tools alike; medians of REPEATS runs.
"""
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402


def main():
    res = c.Results("a", "ingest: CSV to queryable")
    csv = c.records_csv()
    size_mb = csv.stat().st_size / 1e6
    work = c.OUT / "a_work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    times = {"kleber": [], "sqlite-utils": [], "duckdb": []}
    cpu = {"kleber": [], "sqlite-utils": [], "duckdb": []}
    last = {}
    for r in range(c.REPEATS):
        kdir = work / f"kleber{r}"
        t, proc = c.kleber_import(csv, "records", kdir)
        times["kleber"].append(t)
        cpu["kleber"].append(proc.cpu_s)
        last["kleber"] = kdir
        c.log(f"  run {r + 1}: kleber import {t:.2f} s")
        sdir = work / f"sqlite{r}"
        sdir.mkdir()
        t, p = c.sqlite_utils_insert(csv, sdir / "records.db", "records")
        times["sqlite-utils"].append(t)
        cpu["sqlite-utils"].append(p.cpu_s)
        last["sqlite-utils"] = sdir
        c.log(f"  run {r + 1}: sqlite-utils insert {t:.2f} s")
        pq = work / f"duckdb{r}.parquet"
        t, p = c.duckdb_copy(csv, pq)
        times["duckdb"].append(t)
        cpu["duckdb"].append(p.cpu_s)
        last["duckdb"] = pq
        c.log(f"  run {r + 1}: duckdb COPY {t:.2f} s")
        # Only the last run's outputs are kept.
        if r + 1 < c.REPEATS:
            shutil.rmtree(kdir)
            shutil.rmtree(sdir)
            pq.unlink()
    summary_line = next((line for line in proc.stdout.splitlines() if "rows/s" in line), "")
    med = {k: c.median(v) for k, v in times.items()}
    sizes = {
        "kleber": c.kleber_parquet(last["kleber"]).stat().st_size / 1e6,
        "sqlite-utils": (last["sqlite-utils"] / "records.db").stat().st_size / 1e6,
        "duckdb": last["duckdb"].stat().st_size / 1e6,
    }
    vs_sqlite = med["sqlite-utils"] / med["kleber"]
    vs_duckdb = med["kleber"] / med["duckdb"]
    res.add(f"time to queryable, {c.ROWS:,} rows ({size_mb:.0f} MB CSV), median of {c.REPEATS}",
            f"{med['kleber']:.2f} s",
            f"sqlite-utils {med['sqlite-utils']:.2f} s; DuckDB {med['duckdb']:.2f} s",
            f"{vs_sqlite:.1f}x faster than sqlite-utils; {vs_duckdb:.2f}x DuckDB's time",
            ">= 5x faster than sqlite-utils, <= 2x DuckDB's time",
            vs_sqlite >= 5 and vs_duckdb <= 2)
    mcpu = {k: c.median(v) for k, v in cpu.items()}
    res.add("CPU time (user + system), median", f"{mcpu['kleber']:.2f} s",
            f"sqlite-utils {mcpu['sqlite-utils']:.2f} s; DuckDB {mcpu['duckdb']:.2f} s",
            f"{mcpu['sqlite-utils'] / mcpu['kleber']:.1f}x less than sqlite-utils; "
            f"{mcpu['kleber'] / mcpu['duckdb']:.2f}x DuckDB's")
    res.add("rows/s (median)", f"{c.ROWS / med['kleber']:,.0f}",
            f"sqlite-utils {c.ROWS / med['sqlite-utils']:,.0f}; "
            f"DuckDB {c.ROWS / med['duckdb']:,.0f}")
    res.add("stored size", f"{sizes['kleber']:.0f} MB Parquet",
            f"sqlite-utils {sizes['sqlite-utils']:.0f} MB SQLite; "
            f"DuckDB {sizes['duckdb']:.0f} MB Parquet")
    res.note("all runs, wall (CPU) s: " + "; ".join(
        f"{k} " + ", ".join(f"{t:.2f} ({u:.2f})" for t, u in zip(v, cpu[k]))
        for k, v in times.items()))
    res.note(f"Kleber's own summary of the last run: {summary_line.strip()}")
    res.note("defaults for everyone: Kleber infers types over the whole file and publishes a "
             "version; sqlite-utils detects types (its default), no index; DuckDB's read_csv "
             "auto-detection and default Parquet writer")
    # The last outputs become the shared data sets of the other scenarios (if not there yet).
    for name, target in (("kleber", c.OUT / f"kleber_records_{c.ROWS}"),
                         ("sqlite-utils", c.OUT / f"sqlite_records_{c.ROWS}"),
                         ("duckdb", c.OUT / f"duckdb_records_{c.ROWS}.parquet")):
        if target.exists():
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()
        shutil.move(str(last[name]), str(target))
    shutil.rmtree(work, ignore_errors=True)
    res.save()


if __name__ == "__main__":
    main()
