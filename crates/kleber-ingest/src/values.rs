//! Cell values and the parsers that recognise each field type in text.
//!
//! Text sources (CSV) give strings; typed sources (JSON, JSONL, GeoJSON, XLSX) give [`Value`]s.
//! Inference works on bit masks: each value says which types it fits ([`classify_str`],
//! [`classify_value`]) and a column keeps the intersection.

use std::fmt::Write as _;

/// Fits `boolean`.
pub(crate) const M_BOOL: u8 = 1;
/// Fits `int`.
pub(crate) const M_INT: u8 = 1 << 1;
/// Fits `double`.
pub(crate) const M_DOUBLE: u8 = 1 << 2;
/// Fits `date`.
pub(crate) const M_DATE: u8 = 1 << 3;
/// Fits `datetime`.
pub(crate) const M_DATETIME: u8 = 1 << 4;
/// Fits `geo_point_2d`.
pub(crate) const M_POINT: u8 = 1 << 5;
/// Fits `geo_shape`.
pub(crate) const M_SHAPE: u8 = 1 << 6;
/// Is a list of strings (multivalued text); typed sources only.
pub(crate) const M_LIST: u8 = 1 << 7;

/// Every type a string of a text source may turn out to be.
pub(crate) const M_TEXT_SOURCE: u8 =
    M_BOOL | M_INT | M_DOUBLE | M_DATE | M_DATETIME | M_POINT | M_SHAPE;
/// The types a *string* of a typed source may be refined to: JSON and XLSX have no date type and
/// no point type, but numbers and booleans they do have, so a string `"67000"` stays text.
pub(crate) const M_TYPED_STRING: u8 = M_DATE | M_DATETIME | M_POINT | M_SHAPE;

/// A value read from a typed source (JSON, JSONL, GeoJSON, XLSX).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Value>),
    /// A JSON object, keys in document order.
    Obj(Vec<(String, Value)>),
    /// Days since 1970-01-01 (XLSX date cells).
    Date(i32),
    /// Microseconds since the Unix epoch, UTC (XLSX date-time cells).
    Ts(i64),
}

impl Value {
    /// The value of key `k` of an object.
    pub(crate) fn get(&self, k: &str) -> Option<&Value> {
        match self {
            Value::Obj(m) => m.iter().find(|(key, _)| key == k).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A finite number.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) if f.is_finite() => Some(*f),
            _ => None,
        }
    }

    /// JSON text of this value (compact).
    pub(crate) fn to_json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => write_f64(out, *f),
            Value::Str(s) => write_json_str(out, s),
            Value::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Value::Obj(members) => {
                out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_str(out, k);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
            Value::Date(d) => write_json_str(out, &format_date(*d)),
            Value::Ts(t) => write_json_str(out, &format_ts(*t)),
        }
    }

    /// The text of this value in a text column: strings as they are, numbers in their shortest
    /// round-tripping form, dates in ISO 8601, arrays and objects as JSON.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Str(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => {
                let mut s = String::new();
                write_f64(&mut s, *f);
                s
            }
            Value::Date(d) => format_date(*d),
            Value::Ts(t) => format_ts(*t),
            Value::Arr(_) | Value::Obj(_) => self.to_json(),
        }
    }
}

fn write_f64(out: &mut String, f: f64) {
    if f.is_finite() {
        if f.fract() == 0.0 && f.abs() < 1e16 {
            let _ = write!(out, "{f:.1}");
        } else {
            let _ = write!(out, "{f}");
        }
    } else {
        out.push_str("null");
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// Parsers
// ---------------------------------------------------------------------------------------------

/// `true` / `false`, any case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A decimal integer: optional `-`, digits, no leading zero (`01234` is an identifier, not a
/// number), no `+`, fits in an i64.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if neg { v.checked_sub(d)? } else { v.checked_add(d)? };
    }
    Some(v)
}

/// A decimal number: optional `-`, digits (no leading zero unless the integer part is `0`),
/// optional fraction after `.` (or `,` when `decimal_comma`), optional exponent. No `+`, no
/// `NaN`, no infinity.
pub(crate) fn parse_double(s: &str, decimal_comma: bool) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i = 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_len = i - int_start;
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return None;
    }
    let mut comma_at = None;
    if i < b.len() && (b[i] == b'.' || (decimal_comma && b[i] == b',')) {
        if b[i] == b',' {
            comma_at = Some(i);
        }
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac_start {
            return None;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let v = match comma_at {
        None => s.parse::<f64>().ok()?,
        Some(at) => {
            let mut buf = [0u8; 64];
            if b.len() > buf.len() {
                return s.replacen(',', ".", 1).parse::<f64>().ok();
            }
            buf[..b.len()].copy_from_slice(b);
            buf[at] = b'.';
            std::str::from_utf8(&buf[..b.len()]).ok()?.parse::<f64>().ok()?
        }
    };
    v.is_finite().then_some(v)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() {
        return None;
    }
    let mut v = 0u32;
    for &d in b {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(d - b'0');
    }
    Some(v)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i32> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe - 719_468).ok()
}

/// (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD`, `YYYY/MM/DD` or `DD/MM/YYYY` (always day first), as days since 1970-01-01.
pub(crate) fn parse_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 {
        return None;
    }
    parse_date_prefix(b)
}

fn parse_date_prefix(b: &[u8]) -> Option<i32> {
    if b.len() < 10 {
        return None;
    }
    if (b[4] == b'-' && b[7] == b'-') || (b[4] == b'/' && b[7] == b'/') {
        let y = digits(&b[0..4])?;
        let m = digits(&b[5..7])?;
        let d = digits(&b[8..10])?;
        days_from_civil(i64::from(y), m, d)
    } else if b[2] == b'/' && b[5] == b'/' {
        let d = digits(&b[0..2])?;
        let m = digits(&b[3..5])?;
        let y = digits(&b[6..10])?;
        days_from_civil(i64::from(y), m, d)
    } else {
        None
    }
}

const US_PER_DAY: i64 = 86_400_000_000;

/// An ISO 8601 / RFC 3339 date-time: a date as in [`parse_date`], `T` or a space,
/// `HH:MM[:SS[.fraction]]`, then `Z`, an offset (`+02:00`, `+0200`, `+02`) or nothing, which
/// means UTC. Returns microseconds since the Unix epoch; digits past the microsecond are
/// truncated.
pub(crate) fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 16 {
        return None;
    }
    let days = parse_date_prefix(b)?;
    if !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    let h = i64::from(digits(&b[11..13])?);
    let mi = i64::from(digits(&b[14..16])?);
    let mut i = 16;
    let mut sec = 0i64;
    let mut frac_us = 0i64;
    if i < b.len() && b[i] == b':' {
        sec = i64::from(digits(b.get(i + 1..i + 3)?)?);
        i += 3;
        if i < b.len() && (b[i] == b'.' || b[i] == b',') {
            i += 1;
            let start = i;
            let mut scale = 100_000i64;
            while i < b.len() && b[i].is_ascii_digit() {
                frac_us += i64::from(b[i] - b'0') * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return None;
            }
        }
    }
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let offset_s = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (oh, om) = match rest {
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                [h1, h2, m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
                [h1, h2, b':', m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let o = i64::from(oh) * 3600 + i64::from(om) * 60;
            if *sign == b'-' { -o } else { o }
        }
        _ => return None,
    };
    let secs = i64::from(days) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    secs.checked_mul(1_000_000)?.checked_add(frac_us)
}

/// A date or a date-time as microseconds since the epoch (a date is its midnight, UTC).
pub(crate) fn parse_date_or_datetime(s: &str) -> Option<i64> {
    match parse_date(s) {
        Some(d) => Some(i64::from(d) * US_PER_DAY),
        None => parse_datetime(s),
    }
}

/// `"lat, lon"`: two decimal numbers separated by a comma, latitude first, at least one with a
/// decimal point, both in range. Returns `(lon, lat)`.
pub(crate) fn parse_latlon_text(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once(',')?;
    let (a, b) = (a.trim(), b.trim());
    if !a.contains('.') && !b.contains('.') {
        return None;
    }
    let lat = parse_double(a, false)?;
    let lon = parse_double(b, false)?;
    in_range(lon, lat).then_some((lon, lat))
}

/// WGS84 range check.
pub(crate) fn in_range(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

/// ISO date `YYYY-MM-DD`.
pub(crate) fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(days));
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 in UTC, `Z` suffix, fraction only when not zero.
pub(crate) fn format_ts(us: i64) -> String {
    let days = us.div_euclid(US_PER_DAY);
    let rem = us.rem_euclid(US_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:06}Z")
    }
}

// ---------------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------------

/// Which of the types in `want` the (trimmed, non-empty) string `s` fits. Numbers and booleans
/// are tried only when `want` has them, so typed sources pass [`M_TYPED_STRING`].
/// Also returns the number when `s` is one.
pub(crate) fn classify_str(s: &str, want: u8, decimal_comma: bool) -> (u8, Option<f64>) {
    let Some(&b0) = s.as_bytes().first() else {
        return (0, None);
    };
    if want & M_BOOL != 0 && matches!(b0, b't' | b'T' | b'f' | b'F') && parse_bool(s).is_some() {
        return (M_BOOL, None);
    }
    if b0.is_ascii_digit() || b0 == b'-' {
        if want & (M_INT | M_DOUBLE) != 0 {
            if want & M_INT != 0
                && let Some(i) = parse_int(s)
            {
                return (M_INT | M_DOUBLE, Some(i as f64));
            }
            if let Some(f) = parse_double(s, decimal_comma) {
                return (M_DOUBLE, Some(f));
            }
        }
        if want & (M_DATE | M_DATETIME) != 0 && s.len() >= 10 {
            if parse_date(s).is_some() {
                return (M_DATE | M_DATETIME, None);
            }
            if parse_datetime(s).is_some() {
                return (M_DATETIME, None);
            }
        }
        if want & M_POINT != 0 && parse_latlon_text(s).is_some() {
            return (M_POINT, None);
        }
        return (0, None);
    }
    if b0 == b'{' && want & M_SHAPE != 0 {
        return (geometry_text_mask(s), None);
    }
    (0, None)
}

fn geometry_text_mask(s: &str) -> u8 {
    match serde_json::from_str::<Value>(s) {
        Ok(v) => geometry_mask(&v),
        Err(_) => 0,
    }
}

/// Types a typed value fits (a value always fits text).
pub(crate) fn classify_value(v: &Value, want: u8) -> (u8, Option<f64>) {
    match v {
        Value::Null => (0, None),
        Value::Bool(_) => (M_BOOL, None),
        Value::Int(i) => (M_INT | M_DOUBLE, Some(*i as f64)),
        Value::Float(f) => (M_DOUBLE, Some(*f)),
        Value::Str(s) => classify_str(s.trim(), want & M_TYPED_STRING, true),
        Value::Date(_) => (M_DATE | M_DATETIME, None),
        Value::Ts(_) => (M_DATETIME, None),
        Value::Arr(items) => {
            if want & M_LIST != 0 && items.iter().all(|i| matches!(i, Value::Str(_))) {
                return (M_LIST, None);
            }
            if want & M_POINT != 0 && latlon_pair(items).is_some() {
                return (M_POINT, None);
            }
            (0, None)
        }
        Value::Obj(_) => {
            if want & (M_SHAPE | M_POINT) != 0 {
                (geometry_mask(v), None)
            } else {
                (0, None)
            }
        }
    }
}

/// Opendatasoft writes points as `[lat, lon]` arrays in exports. Returns `(lon, lat)` when the
/// array is two numbers in range, not both integers.
pub(crate) fn latlon_pair(items: &[Value]) -> Option<(f64, f64)> {
    let [a, b] = items else { return None };
    if matches!((a, b), (Value::Int(_), Value::Int(_))) {
        return None;
    }
    let (lat, lon) = (a.as_f64()?, b.as_f64()?);
    in_range(lon, lat).then_some((lon, lat))
}

/// [`M_SHAPE`] for a valid GeoJSON geometry, plus [`M_POINT`] for a point in range.
pub(crate) fn geometry_mask(v: &Value) -> u8 {
    match crate::geo::validate_geometry(v) {
        Ok(Some((lon, lat))) if in_range(lon, lat) => M_SHAPE | M_POINT,
        Ok(_) => M_SHAPE,
        Err(_) => 0,
    }
}

/// Is `s` empty once trimmed, i.e. a null.
#[inline]
pub(crate) fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_refuse_leading_zeros_and_plus() {
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("-12"), Some(-12));
        assert_eq!(parse_int("01234"), None);
        assert_eq!(parse_int("+1"), None);
        assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("-"), None);
    }

    #[test]
    fn doubles_with_decimal_comma() {
        assert_eq!(parse_double("3.5", false), Some(3.5));
        assert_eq!(parse_double("3,5", true), Some(3.5));
        assert_eq!(parse_double("3,5", false), None);
        assert_eq!(parse_double("-0.25e2", false), Some(-25.0));
        assert_eq!(parse_double("1e400", false), None);
        assert_eq!(parse_double("NaN", false), None);
        assert_eq!(parse_double("1.", false), None);
        assert_eq!(parse_double("01.5", false), None);
        assert_eq!(parse_double("1,2,3", true), None);
    }

    #[test]
    fn dates_and_datetimes() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2024-02-29"), Some(19782));
        assert_eq!(parse_date("29/02/2024"), Some(19782));
        assert_eq!(parse_date("2024/02/29"), Some(19782));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_datetime("1970-01-01T00:00:01Z"), Some(1_000_000));
        assert_eq!(parse_datetime("1970-01-01 01:00"), Some(3_600_000_000));
        assert_eq!(parse_datetime("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_datetime("1970-01-01T00:00:00.5-0100"), Some(3_600_500_000));
        assert_eq!(
            parse_datetime("2023-09-29T09:08:09+02:00"),
            parse_datetime("2023-09-29T07:08:09Z")
        );
        assert_eq!(parse_datetime("2023-09-29T25:08:09"), None);
        assert_eq!(parse_datetime("2023-09-29T09:08:09+02:0"), None);
        for d in [-800_000, -1, 0, 1, 19782, 2_000_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), Some(d as i32));
        }
        assert_eq!(format_ts(1_500_000), "1970-01-01T00:00:01.500000Z");
        assert_eq!(format_date(19782), "2024-02-29");
    }

    #[test]
    fn lat_lon_text() {
        assert_eq!(parse_latlon_text("48.865983, 2.275725"), Some((2.275725, 48.865983)));
        assert_eq!(parse_latlon_text("91.0, 2.0"), None);
        assert_eq!(parse_latlon_text("1, 2"), None);
    }

    #[test]
    fn classification() {
        let all = M_TEXT_SOURCE;
        assert_eq!(classify_str("12", all, true).0, M_INT | M_DOUBLE);
        assert_eq!(classify_str("1,5", all, true).0, M_DOUBLE);
        assert_eq!(classify_str("TRUE", all, true).0, M_BOOL);
        assert_eq!(classify_str("2020-01-01", all, true).0, M_DATE | M_DATETIME);
        assert_eq!(classify_str("01234", all, true).0, 0);
        assert_eq!(classify_str("12", M_TYPED_STRING, true).0, 0);
        assert_eq!(
            classify_str(r#"{"type":"Point","coordinates":[7.7,48.5]}"#, all, true).0,
            M_SHAPE | M_POINT
        );
    }
}
