"""Pushes records to a Kleber dataset with the real odsclient's push_dataset_realtime.

Usage: python push_odsclient.py <base-url> <dataset> <push-key> <csv text>

The CSV text (`;`-separated, with a header) goes through odsclient's own `csv` format, as a
publisher's script would send it. Prints one JSON object: {"status", "body"} on success, or
{"status", "message"} when odsclient raises ODSException. The Rust test
(crates/kleber-server/tests/it/push.rs) checks it.
"""

import json
import sys

from odsclient import ODSClient
from odsclient.core import ODSException

base, dataset, key, text = sys.argv[1:5]
client = ODSClient(base_url=base)
try:
    response = client.push_dataset_realtime(dataset, text, push_key=key, format="csv", csv_separator=";")
    print(json.dumps({"status": response.status_code, "body": response.json()}))
except ODSException as e:
    print(json.dumps({"status": e.status_code, "message": e.error_msg}))
