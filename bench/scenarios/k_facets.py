"""k. Facets of 5 fields under a varied refine, on a ROWS-row dataset.

`/facets?facet=categorie&facet=commune&facet=priorite&facet=date_signalement&facet=adresse`
with `refine=commune:<X>` or `refine=categorie:<Y>` (and a full-text `where` for a few), every
request another refine, one at a time on a keep-alive connection, the response cache off.
p50 and p99 of the client-side wall time (the server is on the same machine).

FACET_DUMP=<file> writes every answer (path and body, one JSON line each) to compare two
binaries' answers request by request (`diff` of two dumps: the same facets, the same counts).
"""
import json
import os
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import common as c  # noqa: E402
import gen_records as g  # noqa: E402

REQUESTS = int(os.environ.get("FACET_REQUESTS", 120))
DUMP = os.environ.get("FACET_DUMP")
FACETS = ["categorie", "commune", "priorite", "date_signalement", "adresse"]


def path(refine, where=None):
    params = [("facet", f) for f in FACETS] + [("refine", refine)]
    if where:
        params.append(("where", where))
    return ("/api/explore/v2.1/catalog/datasets/records/facets?"
            + urllib.parse.urlencode(params, quote_via=urllib.parse.quote))


def main():
    res = c.Results("k", f"facets of 5 fields, varied refine, on {c.ROWS:,} records")
    kdir = c.kleber_dir()
    refines = ([f"commune:{x}" for x in g.COMMUNES] + [f"categorie:{x}" for x in g.CATEGORIES])
    with c.kleber_server(kdir, cache=False) as ks:
        kc = c.Client(ks.port)
        body, first = kc.get_ok(path(refines[0]))
        res.add("first request", f"{first * 1000:.0f} ms")
        res.note("facets answered: " + ", ".join(f["name"] for f in json.loads(body)["facets"]))
        c.note_clustered_copy(res, kdir, lambda: kc.get_ok(path(refines[0])))
        answers = []

        def timed(p):
            answer, seconds = kc.get_ok(p)
            if DUMP:
                answers.append((p, answer))
            return seconds
        times = [timed(path(refines[i % len(refines)])) for i in range(REQUESTS)]
        p50, p99 = c.median(times) * 1000, c.percentile(times, 99) * 1000
        res.add(f"{REQUESTS} requests, each another refine, p50 / p99",
                f"p50 {p50:.0f} ms, p99 {p99:.0f} ms", "", "", "p50 < 50 ms", p50 < 50)
        words = ["rue", "quai", "kleber", "vosges", "bateliers", "dome"]
        text_times = [timed(path(refines[i % len(refines)], f'"{words[i % len(words)]}"'))
                      for i in range(len(words) * 4)]
        res.add("the same with a full-text where, p50",
                f"p50 {c.median(text_times) * 1000:.0f} ms")
        kc.close()
    if DUMP:
        with open(DUMP, "w", encoding="utf-8") as f:
            for p, answer in answers:
                f.write(json.dumps({"path": p, "body": json.loads(answer)}, ensure_ascii=False,
                                   sort_keys=True) + "\n")
    res.save()


if __name__ == "__main__":
    main()
