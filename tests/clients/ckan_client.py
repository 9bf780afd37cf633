"""ckanapi (the real CKAN client, pinned in requirements.txt) calling every action of
Kleber's CKAN Action API. Run by crates/kleber-server/tests/it/ckan_api.rs, which compares
what is printed (one JSON object) with the Explore API's answers for the same data.

Usage: ckan_client.py BASE_URL API_KEY DATASTORE_DATASET RESTRICTED_DATASET
"""

import json
import sys

from ckanapi import NotAuthorized, NotFound, RemoteCKAN, SearchQueryError, ValidationError

base, key, dataset, restricted = sys.argv[1:5]
anonymous = RemoteCKAN(base)
member = RemoteCKAN(base, apikey=key)
out = {}

out["status"] = anonymous.action.status_show()
out["package_list"] = anonymous.action.package_list()

# Every public dataset, two at a time, by name.
paged, start = [], 0
while True:
    page = anonymous.action.package_search(rows=2, start=start, sort="name asc")
    out["count"] = page["count"]
    if not page["results"]:
        break
    paged.extend(p["name"] for p in page["results"])
    start += 2
out["paged"] = paged

out["search_parking"] = [p["name"] for p in anonymous.action.package_search(q="parking", rows=100)["results"]]
out["search_tags"] = [p["name"] for p in anonymous.action.package_search(fq="tags:vélo", rows=100)["results"]]
out["titles"] = {name: anonymous.action.package_show(id=name)["title"] for name in out["package_list"]}
package = anonymous.action.package_show(id=dataset)
csv_resource = next(r for r in package["resources"] if r["datastore_active"])
out["resource"] = anonymous.action.resource_show(id=csv_resource["id"])
out["organizations"] = anonymous.action.organization_list()
out["organization"] = anonymous.action.organization_show(id="ville")
out["groups"] = anonymous.action.group_list()
out["tags"] = anonymous.action.tag_list()

out["datastore"] = anonymous.action.datastore_search(
    resource_id=csv_resource["id"], filters={"commune": "Strasbourg"}, sort="nom asc", limit=5
)
out["datastore_lists"] = anonymous.action.datastore_search(
    resource_id=csv_resource["id"], fields=["nom"], sort="nom desc", limit=3, records_format="lists"
)["records"]

errors = {}
try:
    anonymous.action.package_show(id="no-such-dataset")
except NotFound:
    errors["package_show"] = "NotFound"
try:
    anonymous.action.datastore_search(resource_id=csv_resource["id"], filters={"nosuch": 1})
except ValidationError as e:
    errors["datastore_filters"] = {k: v for k, v in e.error_dict.items() if k != "__type"}
try:
    anonymous.action.datastore_search(resource_id="no-such-dataset.csv")
except NotFound:
    errors["datastore_resource"] = "NotFound"
try:
    anonymous.action.datastore_search_sql(sql='SELECT * FROM "%s"' % csv_resource["id"])
except NotAuthorized:
    errors["datastore_search_sql"] = "NotAuthorized"
try:
    anonymous.action.package_search(q="a OR b")
except SearchQueryError:
    errors["search_query"] = "SearchQueryError"
out["errors"] = errors

hidden = {}
try:
    anonymous.action.package_show(id=restricted)
except NotFound:
    hidden["anonymous"] = "NotFound"
hidden["with_key"] = member.action.package_show(id=restricted)
found = member.action.package_search(include_private=True, rows=100)["results"]
hidden["private_search"] = restricted in [p["name"] for p in found]
out["restricted"] = hidden

print(json.dumps(out))
