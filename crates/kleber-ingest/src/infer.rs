//! Column statistics gathered over the whole file, and the plan that turns them into fields.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use kleber_types::{Field, FieldType, technical_name};

use crate::values::{
    M_BOOL, M_DATE, M_DATETIME, M_DOUBLE, M_INT, M_LIST, M_POINT, M_SHAPE, Value, classify_str,
    classify_value, is_blank,
};
use crate::{Error, ImportOptions};

/// Most distinct values a text field may have to get a default facet.
const FACET_MAX_DISTINCT: usize = 50;

/// A small, fast, non-cryptographic hasher (FxHash) for the distinct-value sets.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxSet = HashSet<Box<str>, BuildHasherDefault<FxHasher>>;

/// What is known about one source column after reading all its values.
pub(crate) struct ColStats {
    /// Types every value seen so far fits.
    pub(crate) mask: u8,
    /// Non-null values.
    pub(crate) non_null: u64,
    /// Distinct values, until there are more than [`FACET_MAX_DISTINCT`].
    distinct: Option<FxSet>,
    /// Whether to track `min`/`max` (columns named like a latitude or longitude).
    track_range: bool,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl ColStats {
    pub(crate) fn new(mask: u8, label: &str) -> Self {
        let name = technical_name(label);
        ColStats {
            mask,
            non_null: 0,
            distinct: Some(FxSet::default()),
            track_range: LAT_NAMES.contains(&name.as_str()) || LON_NAMES.contains(&name.as_str()),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    #[inline]
    fn note_distinct(&mut self, s: &str) {
        if let Some(set) = &mut self.distinct
            && !set.contains(s)
        {
            if set.len() >= FACET_MAX_DISTINCT {
                self.distinct = None;
            } else {
                set.insert(s.into());
            }
        }
    }

    #[inline]
    fn note_number(&mut self, n: Option<f64>) {
        if self.track_range
            && let Some(f) = n
        {
            self.min = self.min.min(f);
            self.max = self.max.max(f);
        }
    }

    /// Observes one value of a text source.
    #[inline]
    pub(crate) fn observe_str(&mut self, s: &str, decimal_comma: bool) {
        if is_blank(s) {
            return;
        }
        self.non_null += 1;
        self.note_distinct(s);
        if self.mask != 0 {
            let (m, n) = classify_str(s.trim(), self.mask, decimal_comma);
            self.mask &= m;
            self.note_number(n);
        }
    }

    /// Observes one value of a typed source.
    pub(crate) fn observe_value(&mut self, v: &Value) {
        if is_null_value(v) {
            return;
        }
        self.non_null += 1;
        if self.distinct.is_some() {
            match v {
                Value::Str(s) => self.note_distinct(s),
                other => self.note_distinct(&other.to_text()),
            }
        }
        let (m, n) = classify_value(v, self.mask);
        self.mask &= m;
        self.note_number(n);
    }

    fn distinct_count(&self) -> Option<usize> {
        self.distinct.as_ref().map(HashSet::len)
    }
}

/// JSON `null`, a blank string and an empty array are nulls.
pub(crate) fn is_null_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Str(s) => is_blank(s),
        Value::Arr(a) => a.is_empty(),
        _ => false,
    }
}

/// The most specific type a mask allows.
fn choose_type(mask: u8, non_null: u64) -> (FieldType, bool) {
    if non_null == 0 {
        return (FieldType::Text, false);
    }
    for (bit, t) in [
        (M_BOOL, FieldType::Boolean),
        (M_INT, FieldType::Int),
        (M_DOUBLE, FieldType::Double),
        (M_DATE, FieldType::Date),
        (M_DATETIME, FieldType::Datetime),
        (M_POINT, FieldType::GeoPoint2d),
        (M_SHAPE, FieldType::GeoShape),
    ] {
        if mask & bit != 0 {
            return (t, false);
        }
    }
    (FieldType::Text, mask & M_LIST != 0)
}

const LAT_NAMES: &[&str] = &["lat", "latitude"];
const LON_NAMES: &[&str] = &["lon", "lng", "long", "longitude"];

/// A source column.
pub(crate) struct SourceCol {
    /// Header / key / label as found.
    pub(crate) label: String,
    pub(crate) stats: ColStats,
    pub(crate) role: Role,
}

/// What a source column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An ordinary column.
    Data,
    /// The geometry of GeoJSON features: always a field (unless always null).
    FeatureGeometry,
    /// The `geometry` of Opendatasoft API records: a field only when no other field is geo.
    RecordGeometry,
}

/// Where an output column takes its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Source column `i`.
    Col(usize),
    /// A point made of the output columns `lat` and `lon` (indexes into the plans).
    LatLon { lat: usize, lon: usize },
}

/// One output column.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) field: Field,
    pub(crate) source: Source,
    /// Separator of a multivalued text field.
    pub(crate) sep: Option<String>,
}

impl Plan {
    pub(crate) fn ty(&self) -> FieldType {
        self.field.field_type
    }
}

/// Removes a BOM and surrounding whitespace from a header.
pub(crate) fn clean_label(s: &str) -> String {
    s.trim_matches(|c: char| c == '\u{feff}' || c.is_whitespace()).to_owned()
}

fn unique(name: String, taken: &mut HashSet<String>) -> String {
    if taken.insert(name.clone()) {
        return name;
    }
    for i in 2.. {
        let candidate = format!("{name}_{i}");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
    unreachable!("an unbounded range always yields a free name")
}

/// Finds the data column an option key names: its technical name, its header, or a header
/// whose technical name is the key's.
fn resolve_key(
    key: &str,
    option: &str,
    cols: &[SourceCol],
    names: &[String],
) -> Result<usize, Error> {
    let data = |i: &usize| cols[*i].role == Role::Data;
    let idx = (0..cols.len())
        .filter(data)
        .find(|&i| names[i] == key)
        .or_else(|| (0..cols.len()).filter(data).find(|&i| cols[i].label == key.trim()))
        .or_else(|| {
            let t = technical_name(key);
            (0..cols.len()).filter(data).find(|&i| names[i] == t)
        });
    idx.ok_or_else(|| {
        let known: Vec<String> = (0..cols.len())
            .filter(data)
            .map(|i| {
                if cols[i].label == names[i] {
                    names[i].clone()
                } else {
                    format!("{} (\"{}\")", names[i], cols[i].label)
                }
            })
            .collect();
        Error::BadOption {
            option: option.to_owned(),
            message: format!(
                "no field named `{key}`; the fields are: {}",
                if known.is_empty() { "(none)".to_owned() } else { known.join(", ") }
            ),
        }
    })
}

/// Decides the output fields from the source columns, the options and the row count.
pub(crate) fn plan(
    cols: &[SourceCol],
    rows: u64,
    opts: &ImportOptions,
) -> Result<Vec<Plan>, Error> {
    // Names of data columns (they do not depend on types), for option resolution.
    let pre_names: Vec<String> = {
        let mut taken = HashSet::new();
        cols.iter()
            .map(|c| match c.role {
                Role::Data => unique(technical_name(&c.label), &mut taken),
                _ => String::new(),
            })
            .collect()
    };
    let mut forced: Vec<Option<FieldType>> = vec![None; cols.len()];
    for (key, t) in &opts.type_overrides {
        forced[resolve_key(key, "type_overrides", cols, &pre_names)?] = Some(*t);
    }
    let mut seps: Vec<Option<String>> = vec![None; cols.len()];
    for (key, sep) in &opts.multivalued {
        let i = resolve_key(key, "multivalued", cols, &pre_names)?;
        if let Some(t) = forced[i].filter(|t| *t != FieldType::Text) {
            return Err(Error::BadOption {
                option: "multivalued".to_owned(),
                message: format!(
                    "`{key}` is forced to type {t} by type_overrides, but multivalued fields are \
                     text; remove one of the two options"
                ),
            });
        }
        seps[i] = Some(sep.clone());
    }

    // Types.
    let mut types: Vec<(FieldType, Option<String>)> = Vec::with_capacity(cols.len());
    for (i, c) in cols.iter().enumerate() {
        let (inferred, list) = choose_type(c.stats.mask, c.stats.non_null);
        let t = match (&seps[i], forced[i]) {
            (Some(_), _) => FieldType::Text,
            (None, Some(t)) => t,
            (None, None) => inferred,
        };
        let sep = seps[i].clone().or_else(|| {
            (list && forced[i].is_none_or(|t| t == FieldType::Text)).then(|| ",".to_owned())
        });
        types.push((t, sep));
    }
    let has_other_geo = cols.iter().zip(&types).any(|(c, (t, _))| {
        c.role == Role::Data && matches!(t, FieldType::GeoPoint2d | FieldType::GeoShape)
    });

    // Fields.
    let mut taken = HashSet::new();
    let mut plans: Vec<Plan> = Vec::with_capacity(cols.len() + 1);
    for (i, c) in cols.iter().enumerate() {
        let (t, sep) = types[i].clone();
        let (name, label) = match c.role {
            Role::Data => {
                let label = clean_label(&c.label);
                (unique(technical_name(&label), &mut taken), label)
            }
            Role::FeatureGeometry | Role::RecordGeometry => {
                if c.stats.non_null == 0 || (c.role == Role::RecordGeometry && has_other_geo) {
                    continue;
                }
                let base = if t == FieldType::GeoPoint2d { "geo_point_2d" } else { "geo_shape" };
                (unique(base.to_owned(), &mut taken), base.to_owned())
            }
        };
        let label = if label.is_empty() { name.clone() } else { label };
        let mut field = Field::new(name, label, t);
        if let Some(s) = &sep {
            field.annotations.insert("multivalued".to_owned(), vec![s.clone()]);
        }
        let facet = match t {
            FieldType::Date | FieldType::Datetime => true,
            FieldType::Text => c
                .stats
                .distinct_count()
                .is_some_and(|d| d > 0 && (d as u64) * 2 < rows.max(c.stats.non_null)),
            _ => false,
        };
        if facet {
            field.annotations.insert("facet".to_owned(), Vec::new());
        }
        plans.push(Plan { field, source: Source::Col(i), sep });
    }

    // Latitude / longitude pair.
    let has_point = plans.iter().any(|p| p.ty() == FieldType::GeoPoint2d);
    if !has_point {
        let find = |names: &[&str], limit: f64| {
            plans.iter().position(|p| {
                let Source::Col(i) = p.source else { return false };
                let s = &cols[i].stats;
                forced[i].is_none()
                    && matches!(p.ty(), FieldType::Int | FieldType::Double)
                    && names.contains(&p.field.name.as_str())
                    && s.non_null > 0
                    && s.min >= -limit
                    && s.max <= limit
            })
        };
        if let (Some(lat), Some(lon)) = (find(LAT_NAMES, 90.0), find(LON_NAMES, 180.0)) {
            let name = unique("geo_point_2d".to_owned(), &mut taken);
            plans.push(Plan {
                field: Field::new(name, "geo_point_2d", FieldType::GeoPoint2d),
                source: Source::LatLon { lat, lon },
                sep: None,
            });
        }
    }
    Ok(plans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::M_TEXT_SOURCE;

    fn col(label: &str, values: &[&str]) -> SourceCol {
        let mut stats = ColStats::new(M_TEXT_SOURCE, label);
        for v in values {
            stats.observe_str(v, true);
        }
        SourceCol { label: label.to_owned(), stats, role: Role::Data }
    }

    #[test]
    fn inference_picks_the_most_specific_type() {
        let cols = vec![
            col("a", &["1", "2", ""]),
            col("b", &["1", "2.5"]),
            col("c", &["2020-01-01", "2020-01-01T10:00:00Z"]),
            col("d", &["01234", "1"]),
            col("e", &["", " "]),
            col("f", &["true", "FALSE"]),
            col("a", &["x"]),
        ];
        let plans = plan(&cols, 2, &ImportOptions::default()).expect("plan");
        let types: Vec<_> = plans.iter().map(|p| p.ty()).collect();
        assert_eq!(
            types,
            [
                FieldType::Int,
                FieldType::Double,
                FieldType::Datetime,
                FieldType::Text,
                FieldType::Text,
                FieldType::Boolean,
                FieldType::Text
            ]
        );
        assert_eq!(plans[6].field.name, "a_2");
    }

    #[test]
    fn lat_lon_columns_add_a_point() {
        let cols = vec![col("Latitude", &["48.5", "48.6"]), col("lng", &["7.7", "7.8"])];
        let plans = plan(&cols, 2, &ImportOptions::default()).expect("plan");
        assert_eq!(plans.len(), 3);
        assert_eq!(plans[2].field.name, "geo_point_2d");
        assert_eq!(plans[2].source, Source::LatLon { lat: 0, lon: 1 });
    }

    #[test]
    fn unknown_override_lists_fields() {
        let cols = vec![col("Nom", &["x"])];
        let mut opts = ImportOptions::default();
        opts.type_overrides.insert("nope".to_owned(), FieldType::Int);
        let err = plan(&cols, 1, &opts).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("nom (\"Nom\")"), "{err}");
    }
}
