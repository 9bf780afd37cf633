//! `geo_cluster(field, precision)`: the cell of a geohash grid a geometry falls in, as the
//! GeoJSON point at the cell's centre, so that `group_by=geo_cluster(position, 5)` gives one
//! group per cell (a map's clusters). Precision is the number of geohash characters, 1 (cells
//! of about 5,000 km) to 12 (a few centimetres); a shape counts at its centroid.

use std::sync::Arc;

use ::geo::{Centroid, Geometry};
use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::scalar::GeoColumn;

/// The UDF; `precision` is checked by the lowering (1..=12).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct GeoClusterUdf {
    pub(crate) precision: u8,
    signature: Signature,
}

impl GeoClusterUdf {
    pub(crate) fn new(precision: u8) -> Self {
        GeoClusterUdf { precision, signature: Signature::any(1, Volatility::Immutable) }
    }
}

/// The centre of the geohash cell of `precision` characters containing (lon, lat).
pub(crate) fn cell_center(lon: f64, lat: f64, precision: u8) -> (f64, f64) {
    let (mut lon_range, mut lat_range) = ((-180.0f64, 180.0f64), (-90.0f64, 90.0f64));
    // A geohash character is 5 bits, alternating longitude and latitude, longitude first.
    for bit in 0..u32::from(precision) * 5 {
        let (range, value) =
            if bit % 2 == 0 { (&mut lon_range, lon) } else { (&mut lat_range, lat) };
        let mid = (range.0 + range.1) / 2.0;
        if value >= mid {
            range.0 = mid;
        } else {
            range.1 = mid;
        }
    }
    ((lon_range.0 + lon_range.1) / 2.0, (lat_range.0 + lat_range.1) / 2.0)
}

impl ScalarUDFImpl for GeoClusterUdf {
    fn name(&self) -> &str {
        "geo_cluster"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(arg) = args.args.into_iter().next() else {
            return exec_err!("geo_cluster takes a geo field");
        };
        let array: ArrayRef = arg.into_array(args.number_rows)?;
        let column = GeoColumn::new(&array)?;
        let mut out = StringBuilder::with_capacity(args.number_rows, args.number_rows * 48);
        for row in 0..args.number_rows {
            let point = column.get(row).and_then(|g| match g {
                Geometry::Point(p) => Some(p),
                other => other.centroid(),
            });
            match point {
                Some(p) if p.x().is_finite() && p.y().is_finite() => {
                    let (x, y) = cell_center(p.x(), p.y(), self.precision);
                    out.append_value(format!("{{\"type\":\"Point\",\"coordinates\":[{x},{y}]}}"));
                }
                _ => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::cell_center;

    #[test]
    fn cells_contain_their_points_and_shrink_with_precision() {
        let (lon, lat) = (7.7455, 48.5839);
        for precision in 1..=12u8 {
            let (x, y) = cell_center(lon, lat, precision);
            // 5 bits a character, longitude taking the odd one: the cell's width and height.
            let bits = u32::from(precision) * 5;
            let width = 360.0 / 2f64.powi(bits.div_ceil(2) as i32);
            let height = 180.0 / 2f64.powi((bits / 2) as i32);
            assert!((x - lon).abs() <= width / 2.0, "precision {precision}: {x} vs {lon}");
            assert!((y - lat).abs() <= height / 2.0, "precision {precision}: {y} vs {lat}");
        }
        // Two points a few metres apart share a cell at precision 5, not at 9.
        assert_eq!(cell_center(7.7455, 48.5839, 5), cell_center(7.7456, 48.5840, 5));
        assert_ne!(cell_center(7.7455, 48.5839, 9), cell_center(7.7456, 48.5840, 9));
    }
}
