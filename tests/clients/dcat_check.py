"""Checks Kleber's DCAT-AP documents with the reference tools (crates/kleber-server/tests/it/dcat.rs).

Reads a JSON job from argv[1] and prints a JSON report:

- "validate": [{"url", "format", "profile"}]: each document parsed by rdflib and validated by
  pyshacl against SEMIC's shapes of its profile ("3": the 3.0.1 test-bed set and the 3.0.0
  shapes; "2.1.1": the 2.1.1 test-bed set), offline (no imports, no vocabularies);
  reports the violations and warnings counted, and the first messages of each;
- "isomorphic": [[{"url", "format"}, ...]]: each group's documents parse to isomorphic
  graphs (rdflib.compare);
- "walk": {"url", "format"}: follows hydra:next from the first page; reports the datasets of
  each page.
"""

import json
import sys
import urllib.request
from pathlib import Path

import pyshacl
import rdflib
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, SH

SHAPES = Path(__file__).resolve().parents[3] / "shared" / "validators" / "dcat-ap"
PROFILES = {
    "3": {
        "3.0.1": [SHAPES / "3.0.1" / "html-shacl" / f for f in
                  ["shapes.ttl", "range.ttl", "shapes_recommended.ttl", "deprecateduris.ttl"]],
        "3.0.0": [SHAPES / "3.0.0" / "dcat-ap-SHACL.ttl"],
    },
    "2.1.1": {
        "2.1.1": [SHAPES / "2.1.1" / f"dcat-ap_2.1.1_shacl_{f}.ttl" for f in
                  ["shapes", "range", "shapes_recommended", "deprecateduris"]],
    },
}
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
HYDRA = rdflib.Namespace("http://www.w3.org/ns/hydra/core#")
FORMATS = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld", "nt": "nt"}

_shapes = {}


def shapes(name, files):
    if name not in _shapes:
        g = rdflib.Graph()
        for f in files:
            g.parse(f, format="turtle")
        _shapes[name] = g
    return _shapes[name]


def fetch(url, fmt):
    with urllib.request.urlopen(url) as response:
        body = response.read()
        content_type = response.headers.get("Content-Type", "")
    g = rdflib.Graph()
    g.parse(data=body, format=FORMATS[fmt], publicID=url)
    return g, content_type


def validate(doc):
    data, content_type = fetch(doc["url"], doc["format"])
    out = {"url": doc["url"], "content_type": content_type, "triples": len(data), "profiles": {}}
    for name, files in PROFILES[doc["profile"]].items():
        conforms, report, _ = pyshacl.validate(
            data, shacl_graph=shapes(name, files), inference="none", allow_warnings=True
        )
        results = {"Violation": [], "Warning": [], "Info": []}
        # The report's own results (nested sh:detail results of sh:node shapes carry the
        # inner shape's severity, not the reported one).
        for r in report.objects(None, SH.result):
            severity = str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1]
            message = "{} {} {}".format(
                report.value(r, SH.focusNode), report.value(r, SH.resultPath),
                report.value(r, SH.resultMessage))
            results.setdefault(severity, []).append(message)
        out["profiles"][name] = {
            "conforms": conforms,
            "violations": len(results["Violation"]),
            "warnings": len(results["Warning"]),
            "first_violations": sorted(results["Violation"])[:5],
            "warning_paths": sorted({m.split(" ")[1] for m in results["Warning"]}),
        }
    return out


def main():
    job = json.loads(sys.argv[1])
    report = {}
    report["validate"] = [validate(doc) for doc in job.get("validate", [])]
    report["isomorphic"] = []
    for group in job.get("isomorphic", []):
        graphs = [fetch(d["url"], d["format"])[0] for d in group]
        report["isomorphic"].append({
            "urls": [d["url"] for d in group],
            "triples": [len(g) for g in graphs],
            "isomorphic": all(isomorphic(graphs[0], g) for g in graphs[1:]),
        })
    if "walk" in job:
        url, fmt, pages = job["walk"]["url"], job["walk"]["format"], []
        while url and len(pages) < 1000:
            g, _ = fetch(url, fmt)
            datasets = sorted(str(d) for d in g.subjects(RDF.type, DCAT.Dataset))
            view = g.value(predicate=RDF.type, object=HYDRA.PartialCollectionView)
            nxt = g.value(view, HYDRA.next) if view is not None else None
            total = next(g.objects(None, HYDRA.totalItems), None)
            pages.append({"url": url, "datasets": datasets,
                          "total": int(total) if total is not None else None})
            url = str(nxt) if nxt is not None else None
        report["walk"] = pages
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
