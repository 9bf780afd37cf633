"""data.gouv.fr's harvester (udata's DCAT backend) run on a Kleber catalog
(crates/kleber-server/tests/it/dcat.rs).

Usage: udata_harvest.py CATALOG_URL

udata is the software of data.gouv.fr; `udata.harvest.backends.dcat.DcatBackend` is the
harvester data.gouv.fr runs on DCAT catalogs. It runs here unchanged (walking the Hydra
pages, parsing each dataset with `dataset_from_rdf`, saving datasets, resources and contact
points) over an in-memory MongoDB (mongomock) instead of a MongoDB server, with the
loopback addresses allowed (udata refuses local URLs by default) and no cache server.
Prints, as JSON, the job's status and errors and, for each dataset harvested, what
data.gouv.fr would show: title, description, licence IRIs, resources, contact points
(the publisher is the organization), tags, frequency and temporal coverage.
"""

import json
import logging
import sys

import mongoengine
import mongomock
from rdflib.namespace import DCTERMS
from udata.app import create_app


class Settings:
    SECRET_KEY = "kleber-test-harvest"
    API_TOKEN_SECRET = "kleber-test-harvest"
    MONGODB_HOST = "mongodb://localhost:27017/udata"
    URLS_ALLOW_LOCAL = True
    URLS_ALLOW_PRIVATE = True
    CACHE_TYPE = "NullCache"


def main():
    logging.disable(logging.CRITICAL)
    url = sys.argv[1]
    app = create_app(override=Settings)
    # No MongoDB server: the same models over mongomock.
    mongoengine.disconnect_all()
    mongoengine.connect("udata", host="mongodb://localhost", mongo_client_class=mongomock.MongoClient)
    with app.app_context():
        from udata.core.dataset.rdf import get_dcat_extra
        from udata.core.organization.models import Organization
        from udata.harvest.backends.dcat import DcatBackend
        from udata.harvest.models import HarvestSource

        org = Organization.objects.create(name="Harvester", description="The harvesting organization.")
        source = HarvestSource.objects.create(url=url, backend="dcat", name="kleber", organization=org)
        backend = DcatBackend(source, dryrun=False)
        job = backend.harvest()
        out = {
            "status": job.status,
            "errors": [e.message for e in job.errors],
            "pages": len(job.data.get("graphs", [])),
            "items": [],
        }
        for item in job.items:
            d = item.dataset
            entry = {"status": item.status, "remote_id": item.remote_id,
                     "errors": [e.message for e in item.errors]}
            if d is not None:
                entry.update({
                    "title": d.title,
                    "description": d.description,
                    "licenses": get_dcat_extra(d, DCTERMS.license) or [],
                    "resources": [{"url": r.url, "format": r.format, "mime": r.mime, "title": r.title}
                                  for r in d.resources],
                    "contact_points": [{"name": c.name, "role": c.role, "email": c.email}
                                       for c in d.contact_points],
                    "tags": list(d.tags),
                    "frequency": str(d.frequency) if d.frequency else None,
                    "temporal": [str(d.temporal_coverage.start), str(d.temporal_coverage.end)]
                    if d.temporal_coverage else None,
                    "uri": d.harvest.uri if d.harvest else None,
                    "remote_url": d.harvest.remote_url if d.harvest else None,
                })
            out["items"].append(entry)
        json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
