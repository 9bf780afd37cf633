//! Geometry literals (WKT or GeoJSON, as `geom'...'` in ODSQL) parsed, checked and written back
//! as GeoJSON the way the engine does: nothing may panic or overflow the stack, and a geometry
//! that was accepted reads back from its own GeoJSON to the same GeoJSON.
#![no_main]

use kleber_query::fuzzing::parse_geometry_literal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_geometry_literal(text) {
        Ok(geojson) => {
            let again = parse_geometry_literal(&geojson)
                .unwrap_or_else(|e| panic!("{text:?} gave {geojson}, which does not parse: {e}"));
            assert_eq!(again, geojson, "the GeoJSON of {text:?} does not read back the same");
        }
        Err(message) => assert!(!message.is_empty(), "an empty message for {text:?}"),
    }
});
