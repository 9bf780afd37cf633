"""l. The portal's table page of a ROWS-row dataset with a varied filter.

`/explore/dataset/records/table/?refine.commune=<X>` (and `q=<words>`, the table search), every
request another filter, one at a time on a keep-alive connection, the response cache off. The
client is on the same machine, so the wall time is the server's time plus a loopback round
trip. p50 and p99.
"""
import os
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402
import gen_records as g  # noqa: E402

REQUESTS = int(os.environ.get("PORTAL_REQUESTS", 120))
WORDS = ["rue", "quai", "kleber", "vosges", "bateliers", "dome", "colmar", "gutenberg"]


def page(params):
    return ("/explore/dataset/records/table/?"
            + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))


def main():
    res = c.Results("l", f"portal table page with a varied filter, {c.ROWS:,} records")
    kdir = c.kleber_dir()
    with c.kleber_server(kdir, cache=False) as ks:
        kc = c.Client(ks.port)
        _, first = kc.get_ok(page({"refine.commune": g.COMMUNES[0]}))
        res.add("first page", f"{first * 1000:.0f} ms")
        times = [kc.get_ok(page({"refine.commune": g.COMMUNES[i % len(g.COMMUNES)]}))[1]
                 for i in range(REQUESTS)]
        p50, p99 = c.median(times) * 1000, c.percentile(times, 99) * 1000
        res.add(f"{REQUESTS} pages, each another commune, p50 / p99",
                f"p50 {p50:.0f} ms, p99 {p99:.0f} ms", "", "", "p50 < 50 ms", p50 < 50)
        kc.get_ok(page({"q": "rue"}))  # starts the full-text index build if there is none
        times = [kc.get_ok(page({"q": WORDS[i % len(WORDS)],
                                 "refine.commune": g.COMMUNES[i % len(g.COMMUNES)]}))[1]
                 for i in range(REQUESTS // 2)]
        res.add(f"{len(times)} pages with a table search and a commune, p50 / p99",
                f"p50 {c.median(times) * 1000:.0f} ms, p99 {c.percentile(times, 99) * 1000:.0f} ms")
        kc.close()
    res.save()


if __name__ == "__main__":
    main()
