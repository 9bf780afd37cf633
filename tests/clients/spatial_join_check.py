"""Which arrondissement holds each Vélib station, by Shapely (GEOS): the independent oracle of
the spatial join processor (crates/kleber-server/tests/it/processors.rs).

Usage: spatial_join_check.py STATIONS.csv POLYGONS.geojson

Reads the stations CSV (';'-separated, UTF-8 with or without a BOM, "Identifiant station" and
"Coordonnées géographiques" as "lat, lon") and the polygons' GeoJSON FeatureCollection, and
prints one JSON object: {"stations": {code: c_ar or null}, "on_boundary": [codes]}.

A point on a polygon's boundary belongs to it (`covers`, as Kleber's join does); when several
polygons cover a point, the first in file order wins. "on_boundary" lists the stations covered
but not strictly contained by their polygon, so the caller can tell whether the boundary rule
was exercised at all.
"""

import csv
import json
import sys

import shapely
from shapely.geometry import Point, shape


def main() -> None:
    stations_path, polygons_path = sys.argv[1], sys.argv[2]
    with open(polygons_path, encoding="utf-8") as f:
        features = json.load(f)["features"]
    polygons = []
    for feature in features:
        geometry = shape(feature["geometry"])
        if geometry.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        shapely.prepare(geometry)
        polygons.append((geometry, feature["properties"]["c_ar"]))

    result = {}
    on_boundary = []
    with open(stations_path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f, delimiter=";"):
            code = row["Identifiant station"]
            lat, lon = (float(part) for part in row["Coordonnées géographiques"].split(","))
            point = Point(lon, lat)
            found = None
            for geometry, c_ar in polygons:
                if geometry.covers(point):
                    found = c_ar
                    if not geometry.contains(point):
                        on_boundary.append(code)
                    break
            result[code] = found
    json.dump({"stations": result, "on_boundary": on_boundary}, sys.stdout)


if __name__ == "__main__":
    main()
