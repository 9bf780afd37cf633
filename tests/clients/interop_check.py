"""Reads Kleber's RDF record exports, catalog RSS feed and data.json with third-party readers
(rdflib, feedparser, jsonschema with the Project Open Data v1.1 schema shipped by
ckanext-datajson) and prints what they found as JSON, for
crates/kleber-server/tests/it/interop_exports.rs.

    interop_check.py rdf BASE DATASET [QUERY]   # every RDF format against the CSV export
    interop_check.py rss URL                    # the feed as feedparser reads it
    interop_check.py datajson URL               # schema errors of a data.json
"""

import csv
import io
import json
import math
import pathlib
import re
import sys
import urllib.request
from datetime import datetime

RDF_FORMATS = {"jsonld": "json-ld", "turtle": "turtle", "rdfxml": "xml", "n3": "n3"}
XSD = "http://www.w3.org/2001/XMLSchema#"
WKT = "http://www.opengis.net/ont/geosparql#wktLiteral"


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def numbers(text):
    return [round(float(n), 6) for n in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]


def geojson_numbers(value):
    out = []

    def walk(v):
        if isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(round(float(v), 6))

    walk(json.loads(value).get("coordinates", json.loads(value).get("geometries")))
    return out


def normalise_csv(kind, text):
    """A CSV cell as a comparable value, by the field's type (None for null)."""
    if text == "":
        return None
    if kind == "int":
        return int(text)
    if kind == "double":
        return round(float(text), 9)
    if kind == "boolean":
        return text == "true"
    if kind == "datetime":
        return datetime.fromisoformat(text).timestamp()
    if kind == "geo_point_2d":
        lat, lon = (round(float(x), 6) for x in text.split(","))
        return [lon, lat]
    if kind == "geo_shape":
        return geojson_numbers(text)
    return text


def normalise_rdf(kind, literal):
    """An RDF literal as a comparable value, checking its datatype against the field type."""
    datatype = str(literal.datatype) if literal.datatype else XSD + "string"
    expected = {
        "int": XSD + "integer",
        "double": XSD + "double",
        "boolean": XSD + "boolean",
        "date": XSD + "date",
        "datetime": XSD + "dateTime",
        "geo_point_2d": WKT,
        "geo_shape": WKT,
    }.get(kind, XSD + "string")
    if datatype != expected:
        raise ValueError(f"{kind} value {literal!r} has datatype {datatype}, not {expected}")
    text = str(literal)
    if kind == "int":
        return int(text)
    if kind == "double":
        return round(float(text), 9)
    if kind == "boolean":
        return text == "true"
    if kind == "datetime":
        return datetime.fromisoformat(text).timestamp()
    if kind == "geo_point_2d":
        assert text.startswith("POINT"), text
        return numbers(text)
    if kind == "geo_shape":
        return numbers(text)
    return text


def rdf(base, dataset, query):
    import rdflib

    api = f"{base}/api/explore/v2.1/catalog/datasets/{dataset}"
    fields = json.loads(fetch(api))["fields"]
    types = {f["name"]: f["type"] for f in fields}
    sep = "&" if query else ""
    text = fetch(f"{api}/exports/csv?with_bom=false{sep}{query}").decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    columns = rows[0].keys() if rows else []
    expected = {
        c: sorted(
            (v for v in (normalise_csv(types.get(c, "text"), r[c]) for r in rows) if v is not None),
            key=repr,
        )
        for c in columns
    }
    report = {"csv_rows": len(rows), "formats": {}}
    for name, parser in RDF_FORMATS.items():
        body = fetch(f"{api}/exports/{name}?{query}")
        graph = rdflib.Graph()
        graph.parse(data=body, format=parser)
        record_type = rdflib.URIRef(f"{api}#Record")
        subjects = set(graph.subjects(rdflib.RDF.type, record_type))
        named = [s for s in subjects if str(s).startswith(f"{api}/records/")]
        got = {}
        datatypes = {}
        mismatches = []
        for column in columns:
            prop = rdflib.URIRef(f"{api}#{column}")
            values = []
            for s, o in graph.subject_objects(prop):
                try:
                    values.append(normalise_rdf(types.get(column, "text"), o))
                except (ValueError, AssertionError) as e:
                    mismatches.append(str(e))
                    break
                datatypes[column] = str(o.datatype) if o.datatype else XSD + "string"
            got[column] = sorted(values, key=repr)
            if got[column] != expected[column]:
                first = next(
                    (
                        (a, b)
                        for a, b in zip(got[column], expected[column])
                        if a != b
                    ),
                    (len(got[column]), len(expected[column])),
                )
                mismatches.append(f"{column}: rdf and csv differ, first {first}")
        properties = {str(p) for p in graph.predicates()}
        report["formats"][name] = {
            "triples": len(graph),
            "records": len(subjects),
            "named_records": len(named),
            "datatypes": datatypes,
            "properties": sorted(properties),
            "mismatches": mismatches,
        }
    print(json.dumps(report))


def rss(url):
    import feedparser

    feed = feedparser.parse(fetch(url))
    print(
        json.dumps(
            {
                "bozo": bool(feed.bozo),
                "version": feed.version,
                "title": feed.feed.get("title"),
                "items": [
                    {
                        "title": e.get("title"),
                        "link": e.get("link"),
                        "id": e.get("id"),
                        "published": e.get("published"),
                        "timestamp": (
                            math.floor(
                                datetime(*e.published_parsed[:6]).timestamp()
                            )
                            if e.get("published_parsed")
                            else None
                        ),
                        "tags": [t["term"] for t in e.get("tags", [])],
                    }
                    for e in feed.entries
                ],
            }
        )
    )


def pod_schema_dir():
    import importlib.util

    spec = importlib.util.find_spec("ckanext.datajson")
    roots = list(spec.submodule_search_locations or [])
    for root in roots:
        path = pathlib.Path(root) / "pod_schema" / "non-federal-v1.1"
        if path.is_dir():
            return path
    raise SystemExit("ckanext-datajson's pod_schema is missing: run scripts/install-test-deps.sh")


def datajson(url):
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    directory = pod_schema_dir()
    catalog = json.loads((directory / "catalog.json").read_text())
    dataset = json.loads((directory / "dataset-non-federal.json").read_text())
    registry = Registry().with_resources(
        [
            ("dataset-non-federal.json", Resource(contents=dataset, specification=DRAFT4)),
            (catalog["id"], Resource(contents=catalog, specification=DRAFT4)),
            (
                "https://project-open-data.cio.gov/v1.1/schema/dataset-non-federal.json",
                Resource(contents=dataset, specification=DRAFT4),
            ),
        ]
    )
    document = json.loads(fetch(url))
    checker = jsonschema.Draft4Validator(
        catalog, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in checker.iter_errors(document)]
    dataset_checker = jsonschema.Draft4Validator(
        dataset, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    for i, d in enumerate(document.get("dataset", [])):
        errors += [
            f"dataset {i} {list(e.absolute_path)}: {e.message}" for e in dataset_checker.iter_errors(d)
        ]
    print(
        json.dumps(
            {
                "schema": str(directory),
                "errors": errors,
                "datasets": [d.get("identifier") for d in document.get("dataset", [])],
            }
        )
    )


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "rdf":
        rdf(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")
    elif command == "rss":
        rss(sys.argv[2])
    elif command == "datajson":
        datajson(sys.argv[2])
    else:
        raise SystemExit(f"unknown command {command}")
