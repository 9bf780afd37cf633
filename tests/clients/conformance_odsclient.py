"""The exact requests the real odsclient (PyPI) sends, against a Kleber server.

Usage: python conformance_odsclient.py <base-url>

Every call goes through odsclient's own API (ODSClient.get_whole_dataset with its options,
including the extra options it forwards as they are); a requests hook records the URL it
sent. Prints one JSON object: {"cases": [{"name", "url", "ok", "detail", "result"}]}. The Rust
test (conformance_clients.rs) checks the results against values computed from the file.
"""

import csv
import io
import json
import sys

from odsclient import ODSClient

base = sys.argv[1]
client = ODSClient(base_url=base)
sent = []
client.session.hooks["response"].append(lambda r, *a, **k: sent.append(r.url))


def rows(text, sep):
    return list(csv.reader(io.StringIO(text), delimiter=sep))


def run(name, call, summarize):
    sent.clear()
    try:
        result = summarize(call())
        return {"name": name, "url": sent[-1] if sent else "", "ok": True, "detail": "", "result": result}
    except Exception as e:  # noqa: BLE001 - every failure is reported to the Rust test
        return {"name": name, "url": sent[-1] if sent else "", "ok": False, "detail": repr(e)[:300], "result": None}


def csv_summary(sep):
    def summarize(text):
        r = rows(text, sep)
        return {"header": r[0], "count": len(r) - 1, "first": r[1]}
    return summarize


cases = [
    run("csv, labels (defaults)", lambda: client.get_whole_dataset("parkings"), csv_summary(";")),
    run("csv, technical names", lambda: client.get_whole_dataset("parkings", use_labels_for_header=False), csv_summary(";")),
    run("csv, comma separator", lambda: client.get_whole_dataset("parkings", csv_separator=","), csv_summary(",")),
    run("csv, timezone", lambda: client.get_whole_dataset("velib", timezone="Europe/Paris", use_labels_for_header=False), csv_summary(";")),
    run("csv, q option", lambda: client.get_whole_dataset("parkings", q="etat_descriptif:Ouvert"), csv_summary(";")),
    run("csv, refine option", lambda: client.get_whole_dataset("parkings", **{"refine.etat_descriptif": "Ouvert"}), csv_summary(";")),
    run("csv, exclude option", lambda: client.get_whole_dataset("parkings", **{"exclude.etat_descriptif": "Ouvert"}), csv_summary(";")),
    run("csv, sort option", lambda: client.get_whole_dataset("parkings", sort="-total", use_labels_for_header=False), csv_summary(";")),
    run("json", lambda: client.get_whole_dataset("parkings", format="json"),
        lambda text: {"count": len(json.loads(text)), "keys": list(json.loads(text)[0].keys())}),
    run("geojson", lambda: client.get_whole_dataset("trafic", format="geojson"),
        lambda text: {"type": json.loads(text)["type"], "count": len(json.loads(text)["features"])}),
]
print(json.dumps({"cases": cases}))
