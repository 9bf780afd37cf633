//! Reprojection of geometries to WGS 84 longitude/latitude, with the pure Rust `proj4rs` and
//! `proj4wkt` (a shapefile's `.prj`, a GeoPackage's spatial reference system are WKT).

use proj4rs::proj::Proj;

use crate::values::Value;

/// A transformation from a source CRS to WGS 84 longitude/latitude in degrees.
pub(crate) struct ToWgs84 {
    src: Proj,
    dst: Proj,
}

impl ToWgs84 {
    /// The transformation from the CRS a WKT text (OGC or ESRI flavour) defines.
    pub(crate) fn from_wkt(wkt: &str) -> Result<Self, String> {
        let definition = proj4wkt::wkt_to_projstring(wkt.trim())
            .map_err(|e| format!("the coordinate system cannot be understood ({e})"))?;
        Self::from_proj(&definition)
    }

    /// The transformation from the CRS a proj string defines.
    pub(crate) fn from_proj(definition: &str) -> Result<Self, String> {
        let src = Proj::from_proj_string(definition)
            .map_err(|e| format!("the coordinate system `{definition}` is not supported ({e})"))?;
        let dst = Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs")
            .map_err(|e| format!("WGS 84: {e}"))?;
        Ok(ToWgs84 { src, dst })
    }

    /// The transformation from EPSG code `code`, from the EPSG definitions `proj4rs` carries
    /// (`crs-definitions`).
    pub(crate) fn from_epsg(code: u16) -> Result<Self, String> {
        let src = Proj::from_epsg_code(code)
            .map_err(|e| format!("EPSG:{code} is not a coordinate system Kleber knows ({e})"))?;
        let dst = Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs")
            .map_err(|e| format!("WGS 84: {e}"))?;
        Ok(ToWgs84 { src, dst })
    }

    /// `(x, y)` in the source CRS to `(longitude, latitude)` in degrees.
    pub(crate) fn point(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        let mut p =
            if self.src.is_latlong() { (x.to_radians(), y.to_radians(), 0.0) } else { (x, y, 0.0) };
        proj4rs::transform::transform(&self.src, &self.dst, &mut p)
            .map_err(|e| format!("the position ({x}, {y}) cannot be reprojected to WGS 84: {e}"))?;
        let (lon, lat) = (p.0.to_degrees(), p.1.to_degrees());
        if !lon.is_finite() || !lat.is_finite() || lat.abs() > 90.0 + 1e-9 {
            return Err(format!(
                "the position ({x}, {y}) is outside the coordinate system's area (WGS 84: \
                 {lon}, {lat})"
            ));
        }
        Ok((lon, lat))
    }

    /// Reprojects every position of a GeoJSON geometry in place.
    pub(crate) fn geometry(&self, g: &mut Value) -> Result<(), String> {
        let Value::Obj(members) = g else { return Ok(()) };
        for (k, v) in members.iter_mut() {
            match k.as_str() {
                "coordinates" => self.positions(v)?,
                "geometries" => {
                    if let Value::Arr(parts) = v {
                        for p in parts {
                            self.geometry(p)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn positions(&self, v: &mut Value) -> Result<(), String> {
        let Value::Arr(items) = v else { return Ok(()) };
        if let [x, y, ..] = items.as_slice()
            && let (Some(x), Some(y)) = (x.as_f64(), y.as_f64())
        {
            let (lon, lat) = self.point(x, y)?;
            items[0] = Value::Float(lon);
            items[1] = Value::Float(lat);
            return Ok(());
        }
        items.iter_mut().try_for_each(|i| self.positions(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambert_93_to_wgs84() {
        // Lambert 93's origin: 3°E, 46.5°N at (700000, 6600000).
        let t = ToWgs84::from_wkt(
            r#"PROJCS["RGF_1993_Lambert_93",GEOGCS["GCS_RGF_1993",DATUM["D_RGF_1993",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Lambert_Conformal_Conic"],PARAMETER["False_Easting",700000.0],PARAMETER["False_Northing",6600000.0],PARAMETER["Central_Meridian",3.0],PARAMETER["Standard_Parallel_1",49.0],PARAMETER["Standard_Parallel_2",44.0],PARAMETER["Latitude_Of_Origin",46.5],UNIT["Meter",1.0]]"#,
        )
        .expect("Lambert 93");
        let (lon, lat) = t.point(700_000.0, 6_600_000.0).expect("origin");
        assert!((lon - 3.0).abs() < 1e-9 && (lat - 46.5).abs() < 1e-9, "{lon} {lat}");
        assert!(ToWgs84::from_wkt("PROJCS[").is_err());
        let by_code = ToWgs84::from_epsg(2154).expect("EPSG:2154");
        let (lon, lat) = by_code.point(700_000.0, 6_600_000.0).expect("origin");
        assert!((lon - 3.0).abs() < 1e-9 && (lat - 46.5).abs() < 1e-9, "{lon} {lat}");
        assert!(ToWgs84::from_epsg(1).is_err());
    }
}
