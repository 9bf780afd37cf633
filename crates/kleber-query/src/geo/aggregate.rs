//! The geo aggregates `bbox()` and `envelope()`, as DataFusion UDAFs returning GeoJSON text.
//!
//! Both read every coordinate of the group's points and shapes (records without geometry are
//! skipped) and work in the plane of longitude/latitude; a group that crosses the antimeridian
//! gets a box or hull spanning the globe the other way.

use std::sync::Arc;

use ::geo::algorithm::convex_hull::quick_hull;
use ::geo::{Area, Coord, CoordsIter, Geometry, LineString, Point, Polygon, Rect};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Float64Type};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

use super::parse::to_geojson;
use super::scalar::GeoColumn;

/// Which geo aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum GeoAggregateKind {
    /// Bounding rectangle, as a GeoJSON Polygon.
    Bbox,
    /// Convex hull, as a GeoJSON Polygon (Point or LineString when degenerate).
    Envelope,
}

/// `bbox(geo_field)` or `envelope(geo_field)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct GeoAggregateUdf {
    kind: GeoAggregateKind,
    signature: Signature,
}

impl GeoAggregateUdf {
    pub(crate) fn new(kind: GeoAggregateKind) -> Self {
        GeoAggregateUdf { kind, signature: Signature::any(1, Volatility::Immutable) }
    }
}

impl AggregateUDFImpl for GeoAggregateUdf {
    fn name(&self) -> &str {
        match self.kind {
            GeoAggregateKind::Bbox => "bbox",
            GeoAggregateKind::Envelope => "envelope",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn accumulator(&self, _args: AccumulatorArgs<'_>) -> Result<Box<dyn Accumulator>> {
        Ok(match self.kind {
            GeoAggregateKind::Bbox => Box::new(BboxAccumulator::default()),
            GeoAggregateKind::Envelope => Box::new(EnvelopeAccumulator::default()),
        })
    }

    fn state_fields(&self, args: StateFieldsArgs<'_>) -> Result<Vec<FieldRef>> {
        let field = |state: &str, data_type: DataType| {
            Arc::new(Field::new(format_state_name(args.name, state), data_type, true))
        };
        Ok(match self.kind {
            GeoAggregateKind::Bbox => ["min_lon", "min_lat", "max_lon", "max_lat"]
                .into_iter()
                .map(|s| field(s, DataType::Float64))
                .collect(),
            GeoAggregateKind::Envelope => vec![field("coords", coords_list_type())],
        })
    }
}

/// Envelope state: the hull's vertices so far, flattened `[lon0, lat0, lon1, lat1, ...]`.
fn coords_list_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

/// Calls `f` with every finite coordinate of the non-null rows of a geometry column.
fn for_each_coord(array: &ArrayRef, mut f: impl FnMut(Coord<f64>)) -> Result<()> {
    let column = GeoColumn::new(array)?;
    for row in 0..array.len() {
        if let Some(geometry) = column.get(row) {
            match geometry {
                Geometry::Point(p) => f(p.0),
                other => other
                    .coords_iter()
                    .filter(|c| c.x.is_finite() && c.y.is_finite())
                    .for_each(&mut f),
            }
        }
    }
    Ok(())
}

#[derive(Debug, Default)]
struct BboxAccumulator {
    rect: Option<Rect<f64>>,
}

impl BboxAccumulator {
    fn add(&mut self, c: Coord<f64>) {
        self.rect = Some(match self.rect {
            None => Rect::new(c, c),
            Some(r) => Rect::new(
                Coord { x: r.min().x.min(c.x), y: r.min().y.min(c.y) },
                Coord { x: r.max().x.max(c.x), y: r.max().y.max(c.y) },
            ),
        });
    }
}

impl Accumulator for BboxAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(array) = values.first() else {
            return exec_err!("bbox() takes one geometry column");
        };
        for_each_coord(array, |c| self.add(c))
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(self.rect.map(|r| to_geojson(&Geometry::Polygon(rect_ring(r))))))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let r = self.rect;
        Ok(vec![
            ScalarValue::Float64(r.map(|r| r.min().x)),
            ScalarValue::Float64(r.map(|r| r.min().y)),
            ScalarValue::Float64(r.map(|r| r.max().x)),
            ScalarValue::Float64(r.map(|r| r.max().y)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [min_x, min_y, max_x, max_y] = states else {
            return exec_err!("bbox() state has four columns");
        };
        let (min_x, min_y, max_x, max_y) = (
            min_x.as_primitive::<Float64Type>(),
            min_y.as_primitive::<Float64Type>(),
            max_x.as_primitive::<Float64Type>(),
            max_y.as_primitive::<Float64Type>(),
        );
        for row in 0..min_x.len() {
            if min_x.is_valid(row)
                && min_y.is_valid(row)
                && max_x.is_valid(row)
                && max_y.is_valid(row)
            {
                self.add(Coord { x: min_x.value(row), y: min_y.value(row) });
                self.add(Coord { x: max_x.value(row), y: max_y.value(row) });
            }
        }
        Ok(())
    }
}

/// The rectangle as a counter-clockwise ring from its south-west corner (RFC 7946 winding):
/// `[[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat]]`.
fn rect_ring(r: Rect<f64>) -> Polygon<f64> {
    let (min, max) = (r.min(), r.max());
    Polygon::new(
        LineString::from(vec![
            (min.x, min.y),
            (max.x, min.y),
            (max.x, max.y),
            (min.x, max.y),
            (min.x, min.y),
        ]),
        vec![],
    )
}

/// Collects coordinates, and replaces them by their convex hull's vertices whenever they
/// pile up, so that its memory stays proportional to the hull, not to the group.
#[derive(Debug, Default)]
struct EnvelopeAccumulator {
    coords: Vec<Coord<f64>>,
    /// Size after the last reduction.
    reduced: usize,
}

impl EnvelopeAccumulator {
    fn push(&mut self, c: Coord<f64>) {
        self.coords.push(c);
        if self.coords.len() >= 4096.max(self.reduced * 2) {
            self.reduce();
        }
    }

    fn reduce(&mut self) {
        if self.coords.len() > 3 {
            let mut ring = quick_hull(&mut self.coords).0;
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            self.coords = ring;
        }
        self.reduced = self.coords.len();
    }

    /// The hull: a Polygon, or a Point or LineString when the coordinates are all equal or
    /// aligned.
    fn hull(&mut self) -> Option<Geometry<f64>> {
        self.reduce();
        let first = *self.coords.first()?;
        if self.coords.iter().all(|c| *c == first) {
            return Some(Geometry::Point(Point(first)));
        }
        let polygon = Polygon::new(LineString::from(self.coords.clone()), vec![]);
        if polygon.unsigned_area() > 0.0 {
            return Some(Geometry::Polygon(polygon));
        }
        let lex = |a: &&Coord<f64>, b: &&Coord<f64>| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y));
        let start = *self.coords.iter().min_by(lex)?;
        let end = *self.coords.iter().max_by(lex)?;
        Some(Geometry::LineString(LineString::new(vec![start, end])))
    }
}

impl Accumulator for EnvelopeAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let Some(array) = values.first() else {
            return exec_err!("envelope() takes one geometry column");
        };
        for_each_coord(array, |c| self.push(c))
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8(self.hull().map(|g| to_geojson(&g))))
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.coords.capacity() * size_of::<Coord<f64>>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.reduce();
        let flat: Float64Array = self.coords.iter().flat_map(|c| [Some(c.x), Some(c.y)]).collect();
        let list = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Float64, true)),
            OffsetBuffer::from_lengths([flat.len()]),
            Arc::new(flat),
            None,
        );
        Ok(vec![ScalarValue::List(Arc::new(list))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let [coords] = states else {
            return exec_err!("envelope() state has one column");
        };
        let lists = coords.as_list::<i32>();
        for row in 0..lists.len() {
            if lists.is_null(row) {
                continue;
            }
            let values = lists.value(row);
            let values = values.as_primitive::<Float64Type>();
            for pair in values.values().chunks_exact(2) {
                if pair[0].is_finite() && pair[1].is_finite() {
                    self.push(Coord { x: pair[0], y: pair[1] });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hull_of(points: &[(f64, f64)]) -> Option<String> {
        let mut acc = EnvelopeAccumulator::default();
        for &(x, y) in points {
            acc.push(Coord { x, y });
        }
        acc.hull().map(|g| to_geojson(&g))
    }

    #[test]
    fn envelope_degenerates_to_point_and_line() {
        assert_eq!(hull_of(&[]), None);
        assert_eq!(
            hull_of(&[(1.0, 2.0), (1.0, 2.0)]).unwrap(),
            r#"{"type":"Point","coordinates":[1.0,2.0]}"#
        );
        assert_eq!(
            hull_of(&[(2.0, 2.0), (0.0, 0.0), (1.0, 1.0), (3.0, 3.0), (1.5, 1.5)]).unwrap(),
            r#"{"type":"LineString","coordinates":[[0.0,0.0],[3.0,3.0]]}"#
        );
        let square = hull_of(&[(0.0, 0.0), (1.0, 0.0), (0.5, 0.5), (1.0, 1.0), (0.0, 1.0)]);
        assert!(square.unwrap().starts_with(r#"{"type":"Polygon""#));
    }

    #[test]
    fn envelope_stays_small_over_many_points() {
        let mut acc = EnvelopeAccumulator::default();
        // A 317 × 316 grid: the hull is its 4 corners.
        for i in 0..317 * 316 {
            acc.push(Coord { x: f64::from(i % 317), y: f64::from(i / 317) });
        }
        assert!(acc.coords.len() <= 4096, "{}", acc.coords.len());
        let Some(Geometry::Polygon(p)) = acc.hull() else { panic!("a polygon") };
        assert_eq!(p.exterior().0.len(), 5);
        assert!((p.unsigned_area() - 316.0 * 315.0).abs() < 1e-9);
    }

    #[test]
    fn bbox_merges_states() {
        let mut a = BboxAccumulator::default();
        a.add(Coord { x: 1.0, y: 5.0 });
        let mut b = BboxAccumulator::default();
        b.add(Coord { x: -3.0, y: 2.0 });
        b.add(Coord { x: 0.0, y: 9.0 });
        let state: Vec<ArrayRef> =
            b.state().unwrap().iter().map(|s| s.to_array().unwrap()).collect();
        a.merge_batch(&state).unwrap();
        let empty: Vec<ArrayRef> = BboxAccumulator::default()
            .state()
            .unwrap()
            .iter()
            .map(|s| s.to_array().unwrap())
            .collect();
        a.merge_batch(&empty).unwrap();
        assert_eq!(
            a.evaluate().unwrap(),
            ScalarValue::Utf8(Some(
                r#"{"type":"Polygon","coordinates":[[[-3.0,2.0],[1.0,2.0],[1.0,9.0],[-3.0,9.0],[-3.0,2.0]]]}"#.to_owned()
            ))
        );
    }

    #[test]
    fn envelope_merges_states() {
        let mut a = EnvelopeAccumulator::default();
        a.push(Coord { x: 0.0, y: 0.0 });
        let mut b = EnvelopeAccumulator::default();
        for (x, y) in [(4.0, 0.0), (0.0, 4.0), (1.0, 1.0)] {
            b.push(Coord { x, y });
        }
        let state: Vec<ArrayRef> =
            b.state().unwrap().iter().map(|s| s.to_array().unwrap()).collect();
        a.merge_batch(&state).unwrap();
        let Some(Geometry::Polygon(p)) = a.hull() else { panic!("a polygon") };
        assert!((p.unsigned_area() - 8.0).abs() < 1e-9);
    }
}
