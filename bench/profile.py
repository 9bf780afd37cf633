"""Profiles Kleber's server under one scenario's load with `perf` and sums the samples by what
the code does (Parquet decoding, DataFusion planning, allocation, ...).

    bench/.venv/bin/python bench/profile.py b     # the filter + sort page on ROWS records
    bench/.venv/bin/python bench/profile.py d     # the small dataset's page of 20
    bench/.venv/bin/python bench/profile.py c     # the count by month
    bench/.venv/bin/python bench/profile.py f     # a catalog search (CATALOG_DATASETS)
    bench/.venv/bin/python bench/profile.py m     # issue 17: varied filtered pages, cache off
    bench/.venv/bin/python bench/profile.py o     # issue 17: varied small-dataset pages, cache off

Needs `perf` (Debian package linux-perf) and the data of the scenario (run it once first).
The release binary has symbols but no debug info, so the profile is flat (no call graphs):
each sample is put in a bucket by its function's name. Writes out/profile/<s>.perf.data and
prints the buckets and the top functions.
"""
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import catalog  # noqa: E402
import common as c  # noqa: E402
import scan17  # noqa: E402

TARGETS = {
    "b": (lambda: c.kleber_dir(), "/api/explore/v2.1/catalog/datasets/records/records?"
          "where=categorie%20%3D%20%22Voirie%22&order_by=montant%20desc&limit=100"),
    "d": (lambda: c.kleber_dir(1000, "small"),
          "/api/explore/v2.1/catalog/datasets/small/records?limit=20"),
    "f": (lambda: catalog.catalog_dir(int(c.os.environ.get("CATALOG_DATASETS", "10000")))[0],
          "/api/explore/v2.1/catalog/datasets?where=%22qualit%C3%A9%20air%22"),
    "c": (lambda: c.kleber_dir(), "/api/explore/v2.1/catalog/datasets/records/records?"
          "select=count(*)%20as%20n&group_by=date_format(date_signalement%2C%20'yyyy-MM')"
          "%20as%20mois&limit=100"),
}
# Issue 17: every request differs (bench/varied.lua), on a server with the response cache off.
VARIED = {"m": (lambda: c.kleber_dir(), "kleber-page"),
          "o": (lambda: c.kleber_dir(1000, "small"), "kleber-small")}

# First match wins; patterns are searched in "dso symbol".
BUCKETS = [
    ("ODSQL date functions (date_format, time-zone offsets: chrono, chrono_tz)",
     r"kleber_query::dates|chrono"),
    ("Parquet: snappy decompression", r"snap::"),
    ("catalog rows copied into an Arrow table, String clones, SipHash (HashMap) hashing",
     r"kleber_query::catalog|GenericByteBuilder|sip::Hasher|String as core::clone"),
    ("Parquet: decoding (RLE/dictionary/bit-packing, levels, pages)", r"parquet::"),
    ("Arrow compute (filter, sort, take, aggregate kernels)",
     r"arrow_select|arrow_ord|arrow_arith|arrow_row|arrow_string|arrow_cast|arrow_data|"
     r"arrow_array|arrow_buffer|arrow_schema|aggregate|GroupsAccumulator|TopK|topk"),
    ("DataFusion planning and optimising (per request)",
     r"datafusion_optimizer|physical_planner|datafusion_expr::|session_state|SessionState|"
     r"datafusion_physical_optimizer|equivalence|ScalarValue|ExprSchemable|LogicalPlan|"
     r"datafusion_sql|ListingTable|datafusion_catalog|DFSchema|TreeNode"),
    ("DataFusion execution (operators, streams)", r"datafusion"),
    ("text formatting (core::fmt: integers and strings written one by one)",
     r"core::fmt|pad_integral|Display>::fmt"),
    ("JSON/CSV encoding", r"kleber_export|serde_json|ryu|itoa|csv::"),
    ("ODSQL parse/plan, Kleber handlers", r"kleber_|kleber "),
    ("SQLite catalog lookup", r"sqlite3|rusqlite"),
    ("HTTP, tokio runtime", r"hyper|axum|tokio|tower|mio|h1::"),
    ("memory allocation, copies (malloc/free/memcpy/memset, page faults)",
     r"malloc|free|_int_|realloc|memmove|memset|memcpy|unlink_chunk|__rust_alloc|__rust_dealloc|"
     r"__rdl_|page_fault|clear_page|do_anonymous_page|handle_mm_fault|get_page_from_freelist|"
     r"memcg|unmap_page|mmap|munmap|alloc::|drop_in_place|drop_slow|Clone>::clone|hashbrown"),
    ("kernel: scheduling, wake-ups, syscalls, network",
     r"kallsyms|vdso|futex|Condvar|Mutex|syscall"),
    ("other (mostly inlined loops: <Map as Iterator>::fold, ...)", r""),
]


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "b"
    varied = VARIED.get(which)
    make_dir, path = varied or TARGETS[which]
    out = c.OUT / "profile"
    out.mkdir(exist_ok=True)
    data = out / f"{which}.perf.data"
    seconds = c.WRK_DURATION
    with c.kleber_server(make_dir(), cache=not varied) as ks:
        url = f"http://127.0.0.1:{ks.port}" + (f" ({path}, bench/varied.lua)" if varied else path)
        if not varied:
            c.Client(ks.port).get_ok(path)
        perf = subprocess.Popen(["perf", "record", "-F", "999", "-p", str(ks.pid), "-o", str(data),
                                 "--", "sleep", str(seconds + 1)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        if varied:
            load = scan17.wrk_varied(ks, path, duration=seconds)
        else:
            load = c.wrk(url, duration=seconds)
        perf.wait(timeout=seconds + 60)
    report = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--sort",
                             "dso,symbol", "--stdio"], capture_output=True, text=True).stdout
    buckets, top = defaultdict(float), []
    for line in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*?)\s*$", line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
        top.append((pct, dso, sym))
        text = f"{dso} {sym}"
        for name, pattern in BUCKETS:
            if re.search(pattern, text):
                buckets[name] += pct
                break
    print(f"profile of scenario {which} ({url}), {load['ok_rps']:.1f} req/s under perf")
    for name, pct in sorted(buckets.items(), key=lambda kv: -kv[1]):
        print(f"  {pct:5.1f}%  {name}")
    print("top functions:")
    for pct, dso, sym in top[:25]:
        print(f"  {pct:5.2f}%  {dso:12.12s} {sym[:110]}")


if __name__ == "__main__":
    main()
