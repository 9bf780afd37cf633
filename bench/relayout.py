"""Rewrites a Kleber data directory's version files with a given number of rows per data
page, to compare page layouts on the same data with the same writer (issue 17's page-size
measure in BENCHMARKS.md). Not part of bench/run.sh; needs pyarrow (not installed by run.sh).

    python relayout.py DATA_DIR ROWS_PER_PAGE

Keeps the schema, the key-value metadata (kleber.fields), snappy, 131,072-row groups, page
statistics and the page index; only the page size changes.
"""
import sys
from pathlib import Path

import pyarrow.parquet as pq


def main():
    data_dir, rows = Path(sys.argv[1]), int(sys.argv[2])
    for path in sorted(data_dir.glob("datasets/*/v*/data.parquet")):
        table = pq.read_table(path)
        tmp = path.with_suffix(".relayout")
        pq.write_table(table, tmp, row_group_size=131072, compression="snappy",
                       write_statistics=True, write_page_index=True, max_rows_per_page=rows,
                       data_page_size=64 << 20)
        tmp.replace(path)
        meta = pq.ParquetFile(path).metadata
        print(f"{path}: {meta.num_rows} rows, {meta.num_row_groups} row groups, "
              f"{path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
