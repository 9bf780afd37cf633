//! Which polygon contains a point: the lookup behind the spatial join (a processor adding the
//! commune, quartier or IRIS of each point, and the derived datasets' `polygon_of`).
//!
//! [`PolygonIndexBuilder`] collects the polygons and multipolygons of one or more batches of a
//! `geo_shape` column (GeoJSON text), each keyed by its row number across the batches; other
//! geometries (points, lines) and unreadable rows are skipped and counted, since they cannot
//! contain a point. [`PolygonIndex`] keeps their bounding boxes in an R-tree (`rstar`), so a
//! lookup tests only the few polygons whose box holds the point.
//!
//! A point on a polygon's boundary belongs to it (points on a border shared by two polygons
//! go to the one with the lowest row number, so the answer never depends on the tree's
//! order). Coordinates are longitude/latitude and relations are decided in that plane, as
//! for the ODSQL geo functions ([`crate::geo`]).

use ::geo::{BoundingRect, Geometry, Intersects, MultiPolygon, Point};
use datafusion::arrow::array::ArrayRef;
use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use super::scalar::{GeoColumn, guarded};
use crate::error::{Error, Result};

/// A polygon's bounding box in the tree, with its position in [`PolygonIndex::shapes`].
type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Collects polygons row by row, then builds a [`PolygonIndex`].
#[derive(Default)]
pub struct PolygonIndexBuilder {
    shapes: Vec<(usize, MultiPolygon<f64>)>,
    rows: usize,
    skipped: usize,
}

impl PolygonIndexBuilder {
    /// An empty builder.
    pub fn new() -> PolygonIndexBuilder {
        PolygonIndexBuilder::default()
    }

    /// Adds the rows of one batch of a `geo_shape` column; their keys continue the row
    /// numbers of the batches added before.
    ///
    /// # Errors
    ///
    /// When the column is neither text (GeoJSON) nor a `geo_point_2d` struct.
    pub fn push_column(&mut self, column: &ArrayRef) -> Result<()> {
        let geometries = GeoColumn::new(column).map_err(Error::from)?;
        for row in 0..column.len() {
            let key = self.rows + row;
            match geometries.get(row) {
                Some(geometry) => self.push(key, geometry),
                None => self.skipped += 1,
            }
        }
        self.rows += column.len();
        Ok(())
    }

    /// Adds one geometry under `key`; anything but a polygon or multipolygon is skipped.
    pub fn push(&mut self, key: usize, geometry: Geometry<f64>) {
        let shape = match geometry {
            Geometry::Polygon(polygon) => MultiPolygon::new(vec![polygon]),
            Geometry::MultiPolygon(shape) => shape,
            Geometry::Rect(rect) => MultiPolygon::new(vec![rect.to_polygon()]),
            _ => {
                self.skipped += 1;
                return;
            }
        };
        self.shapes.push((key, shape));
    }

    /// Builds the index (bulk-loaded R-tree of the bounding boxes).
    pub fn build(self) -> PolygonIndex {
        let mut shapes = self.shapes;
        shapes.sort_by_key(|(key, _)| *key);
        let entries = shapes
            .iter()
            .enumerate()
            .filter_map(|(position, (_, shape))| {
                let rect = shape.bounding_rect()?;
                let (min, max) = (rect.min(), rect.max());
                Some(Entry::new(Rectangle::from_corners([min.x, min.y], [max.x, max.y]), position))
            })
            .collect();
        PolygonIndex { tree: RTree::bulk_load(entries), shapes, skipped: self.skipped }
    }
}

/// Polygons keyed by row number, found by the points they contain.
pub struct PolygonIndex {
    tree: RTree<Entry>,
    /// Sorted by key, so the first match in position order is the lowest key.
    shapes: Vec<(usize, MultiPolygon<f64>)>,
    skipped: usize,
}

impl PolygonIndex {
    /// The key (row number) of the polygon containing the point, boundary included; the
    /// lowest key when several do; `None` when none does or the point is not finite.
    pub fn containing(&self, lon: f64, lat: f64) -> Option<usize> {
        if !lon.is_finite() || !lat.is_finite() {
            return None;
        }
        let point = Point::new(lon, lat);
        self.tree
            .locate_all_at_point(&[lon, lat])
            .map(|entry| entry.data)
            .filter(|&position| {
                let shape = &self.shapes[position].1;
                guarded(|| Some(shape.intersects(&point))).unwrap_or(false)
            })
            .min()
            .map(|position| self.shapes[position].0)
    }

    /// For each row of one batch of a `geo_point_2d` column, the key of the polygon
    /// containing its point (`None` for a null point or one outside every polygon).
    ///
    /// # Errors
    ///
    /// When the column is not a geometry column.
    pub fn containing_column(&self, points: &ArrayRef) -> Result<Vec<Option<usize>>> {
        let geometries = GeoColumn::new(points).map_err(Error::from)?;
        Ok((0..points.len())
            .map(|row| match geometries.get(row) {
                Some(Geometry::Point(p)) => self.containing(p.x(), p.y()),
                _ => None,
            })
            .collect())
    }

    /// How many polygons the index holds.
    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    /// Whether it holds no polygon.
    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// Rows that were skipped: null, unreadable, or not a polygon.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::StringArray;

    use super::*;
    use crate::geo::parse::parse_geometry;

    fn square(x0: f64, y0: f64, side: f64) -> String {
        let (x1, y1) = (x0 + side, y0 + side);
        format!(
            r#"{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}"#
        )
    }

    #[test]
    fn finds_the_polygon_holding_each_point() {
        // Two squares side by side, a hole in the first, a line and a null that are skipped.
        let with_hole = r#"{"type":"Polygon","coordinates":[[[0,0],[2,0],[2,2],[0,2],[0,0]],[[0.5,0.5],[1,0.5],[1,1],[0.5,1],[0.5,0.5]]]}"#;
        let column: ArrayRef = Arc::new(StringArray::from(vec![
            Some(with_hole.to_owned()),
            Some(square(2.0, 0.0, 2.0)),
            Some(r#"{"type":"LineString","coordinates":[[0,0],[5,5]]}"#.to_owned()),
            None,
            Some("not geojson".to_owned()),
        ]));
        let mut builder = PolygonIndexBuilder::new();
        builder.push_column(&column).unwrap();
        let index = builder.build();
        assert_eq!((index.len(), index.skipped()), (2, 3));

        assert_eq!(index.containing(0.2, 0.2), Some(0));
        assert_eq!(index.containing(0.75, 0.75), None, "inside the hole");
        assert_eq!(index.containing(3.0, 1.0), Some(1));
        assert_eq!(index.containing(2.0, 1.0), Some(0), "a shared border goes to the lowest row");
        assert_eq!(index.containing(4.0, 2.0), Some(1), "a corner belongs to the polygon");
        assert_eq!(index.containing(9.0, 9.0), None);
        assert_eq!(index.containing(f64::NAN, 1.0), None);
    }

    #[test]
    fn keys_continue_across_batches() {
        let mut builder = PolygonIndexBuilder::new();
        for x in [0.0, 10.0, 20.0] {
            let batch: ArrayRef =
                Arc::new(StringArray::from(vec![square(x, 0.0, 1.0), square(x, 5.0, 1.0)]));
            builder.push_column(&batch).unwrap();
        }
        builder.push(100, parse_geometry("POLYGON((50 50, 51 50, 51 51, 50 50))").unwrap());
        let index = builder.build();
        assert_eq!(index.containing(20.5, 5.5), Some(5));
        assert_eq!(index.containing(10.5, 0.5), Some(2));
        assert_eq!(index.containing(50.9, 50.1), Some(100));
    }
}
