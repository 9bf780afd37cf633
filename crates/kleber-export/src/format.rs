//! Low-level text primitives shared by the JSON and CSV encoders: JSON string escaping, numbers,
//! calendar dates and instants with an offset, CSV field quoting. Everything appends to a
//! `Vec<u8>` and never fails.

/// Seconds in a day.
const SECS_PER_DAY: i128 = 86_400;

/// What a byte of a JSON string turns into: 0 = itself, `u` = `\u00XX`, else `\` + that byte.
const JSON_ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string literal, quotes included (same escapes as `serde_json`).
pub(crate) fn json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = JSON_ESCAPES[usize::from(b)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        if escape == b'u' {
            out.extend_from_slice(b"u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xF)]);
        } else {
            out.push(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends an integer.
#[inline]
pub(crate) fn int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a finite `f64` exactly as `serde_json` prints it (`12.0`, `0.1`, `1e21`); returns
/// `false` and appends nothing when `v` is NaN or infinite.
#[inline]
pub(crate) fn f64_num(out: &mut Vec<u8>, v: f64) -> bool {
    if !v.is_finite() {
        return false;
    }
    out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
    true
}

/// Like [`f64_num`] for an `f32` (shortest text that reads back as the same `f32`).
#[inline]
pub(crate) fn f32_num(out: &mut Vec<u8>, v: f32) -> bool {
    if !v.is_finite() {
        return false;
    }
    out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
    true
}

/// Whether `s` is a JSON number (RFC 8259 grammar), so it may be embedded unquoted.
pub(crate) fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Appends `v` zero-padded to two digits (`v < 100`).
#[inline]
fn two(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Appends `v` zero-padded to `width` digits (`width <= 10`; wider values print in full).
fn padded(out: &mut Vec<u8>, mut v: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut i = digits.len();
    while v > 0 && i > 0 {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = i.min(digits.len().saturating_sub(width));
    out.extend_from_slice(&digits[start..]);
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, valid over the whole `i64` day range we feed it).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    let year = yoe + era * 400 + i128::from(month <= 2);
    // |days| <= i64::MAX, so |year| < i64::MAX / 365: the narrowing is lossless.
    (year as i64, month, day)
}

/// Appends `YYYY-MM-DD` for a day count since 1970-01-01. Years outside 0..=9999 get an explicit
/// sign and at least four digits (ISO 8601 expanded years, as chrono prints them).
pub(crate) fn date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        let y = year as u32; // in 0..=9999
        two(out, y / 100);
        two(out, y % 100);
    } else {
        out.push(if year < 0 { b'-' } else { b'+' });
        let mut buffer = itoa::Buffer::new();
        let digits = buffer.format(year.unsigned_abs()).as_bytes();
        for _ in digits.len()..4 {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    }
    out.push(b'-');
    two(out, month);
    out.push(b'-');
    two(out, day);
}

/// Appends an offset as `+HH:MM` (`+HH:MM:SS` when it has seconds).
pub(crate) fn offset(out: &mut Vec<u8>, offset_seconds: i32) {
    out.push(if offset_seconds < 0 { b'-' } else { b'+' });
    let abs = offset_seconds.unsigned_abs();
    let hours = abs / 3600;
    if hours >= 100 {
        int(out, hours);
    } else {
        two(out, hours);
    }
    out.push(b':');
    two(out, abs / 60 % 60);
    if !abs.is_multiple_of(60) {
        out.push(b':');
        two(out, abs % 60);
    }
}

/// Appends an instant as ISO 8601 local time in the given offset followed by that offset:
/// `2023-09-29T09:08:09+02:00`, with `.ffffff` (or `.fffffffff` when the nanoseconds are not
/// whole microseconds) only when the sub-second part is non-zero.
///
/// `utc_seconds` counts seconds since the Unix epoch, `nanos` is in `0..1_000_000_000`.
pub(crate) fn instant(out: &mut Vec<u8>, utc_seconds: i64, nanos: u32, offset_seconds: i32) {
    let local = i128::from(utc_seconds) + i128::from(offset_seconds);
    // |local| <= i64::MAX + i32::MAX, so the day count fits an i64 comfortably.
    let days = local.div_euclid(SECS_PER_DAY) as i64;
    let secs_of_day = local.rem_euclid(SECS_PER_DAY) as u32; // in 0..86400
    date(out, days);
    out.push(b'T');
    two(out, secs_of_day / 3600);
    out.push(b':');
    two(out, secs_of_day / 60 % 60);
    out.push(b':');
    two(out, secs_of_day % 60);
    if nanos != 0 {
        out.push(b'.');
        let (value, width) =
            if nanos.is_multiple_of(1000) { (nanos / 1000, 6usize) } else { (nanos, 9usize) };
        padded(out, value, width);
    }
    offset(out, offset_seconds);
}

/// Splits a timestamp value of the given unit (units per second) into whole seconds since the
/// epoch and nanoseconds.
#[inline]
pub(crate) fn split_timestamp(value: i64, units_per_second: i64) -> (i64, u32) {
    let secs = value.div_euclid(units_per_second);
    let sub = value.rem_euclid(units_per_second);
    // sub < units_per_second <= 1e9 and units_per_second divides 1e9.
    let nanos = (sub * (1_000_000_000 / units_per_second)) as u32;
    (secs, nanos)
}

/// Whether a CSV field must be quoted (RFC 4180): it contains the delimiter, a quote, CR or LF.
#[inline]
pub(crate) fn csv_needs_quotes(field: &[u8], delimiter: u8) -> bool {
    field.iter().any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
}

/// Appends a CSV field, quoted when `force` or when [`csv_needs_quotes`]; quotes inside are
/// doubled.
pub(crate) fn csv_field(out: &mut Vec<u8>, field: &[u8], delimiter: u8, force: bool) {
    if !force && !csv_needs_quotes(field, delimiter) {
        out.extend_from_slice(field);
        return;
    }
    out.reserve(field.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in field.iter().enumerate() {
        if b == b'"' {
            out.extend_from_slice(&field[start..=i]);
            out.push(b'"');
            start = i + 1;
        }
    }
    out.extend_from_slice(&field[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn json_strings_match_serde_json() {
        for text in ["", "plain", "é ü 漢字 🎉", "a\"b\\c", "\n\r\t\u{8}\u{c}", "\u{0}\u{1f}\u{7f}"]
        {
            let ours = s(|o| json_str(o, text));
            assert_eq!(ours, serde_json::to_string(text).expect("serialisable"));
            assert_eq!(serde_json::from_str::<String>(&ours).expect("parses"), text);
        }
    }

    #[test]
    fn floats_match_serde_json() {
        for v in
            [0.0, -0.0, 12.0, 0.1, 1e21, 1e-7, 48.865983, -2.275725, f64::MAX, f64::MIN_POSITIVE]
        {
            let ours = s(|o| assert!(f64_num(o, v)));
            assert_eq!(ours, serde_json::to_string(&v).expect("serialisable"));
        }
        assert_eq!(s(|o| assert!(!f64_num(o, f64::NAN))), "");
        assert_eq!(s(|o| assert!(!f64_num(o, f64::NEG_INFINITY))), "");
        assert_eq!(s(|o| assert!(f32_num(o, 0.1f32))), "0.1");
    }

    #[test]
    fn json_number_grammar() {
        for ok in ["0", "-0", "12", "12.34", "-0.5", "1e5", "1E-5", "1.5e+10"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "+1", "NaN", "1 ", "12.3.4", "0x10"] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn dates_match_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid");
        let mut days = -800_000i64;
        while days < 3_000_000 {
            let expected = (epoch + chrono::Duration::days(days)).format("%Y-%m-%d").to_string();
            assert_eq!(s(|o| date(o, days)), expected, "day {days}");
            days += 997;
        }
        assert_eq!(s(|o| date(o, 0)), "1970-01-01");
        assert_eq!(s(|o| date(o, -1)), "1969-12-31");
        assert_eq!(s(|o| date(o, 19_631)), "2023-10-01");
        assert_eq!(s(|o| date(o, 11_016)), "2000-02-29");
        // Extreme values render without panicking.
        s(|o| date(o, i64::MAX));
        s(|o| date(o, i64::MIN));
        s(|o| date(o, i64::from(i32::MIN)));
    }

    #[test]
    fn instants_match_chrono() {
        for offset_secs in [0, 7200, -5 * 3600 - 1800, 14 * 3600, -12 * 3600] {
            let tz = FixedOffset::east_opt(offset_secs).expect("valid offset");
            let mut secs = -5_000_000_000i64;
            while secs < 20_000_000_000 {
                let dt: DateTime<FixedOffset> =
                    Utc.timestamp_opt(secs, 0).single().expect("valid").with_timezone(&tz);
                let expected = dt.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
                assert_eq!(s(|o| instant(o, secs, 0, offset_secs)), expected);
                secs += 7_777_777;
            }
        }
    }

    #[test]
    fn instant_details() {
        assert_eq!(s(|o| instant(o, 1_695_971_289, 0, 0)), "2023-09-29T07:08:09+00:00");
        assert_eq!(
            s(|o| instant(o, 1_695_971_289, 656_000_000, 7200)),
            "2023-09-29T09:08:09.656000+02:00"
        );
        assert_eq!(s(|o| instant(o, 0, 1_000, 0)), "1970-01-01T00:00:00.000001+00:00");
        assert_eq!(s(|o| instant(o, 0, 1, 0)), "1970-01-01T00:00:00.000000001+00:00");
        assert_eq!(s(|o| instant(o, -1, 999_999_000, -3600)), "1969-12-31T22:59:59.999999-01:00");
        assert_eq!(s(|o| instant(o, 0, 0, 561)), "1970-01-01T00:09:21+00:09:21");
        s(|o| instant(o, i64::MAX, 999_999_999, i32::MAX));
        s(|o| instant(o, i64::MIN, 0, i32::MIN));
    }

    #[test]
    fn split_units() {
        assert_eq!(split_timestamp(1_500, 1_000), (1, 500_000_000));
        assert_eq!(split_timestamp(-1, 1_000_000), (-1, 999_999_000));
        assert_eq!(split_timestamp(-1, 1), (-1, 0));
        assert_eq!(split_timestamp(i64::MIN, 1_000_000_000).1, 145_224_192);
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(s(|o| csv_field(o, b"plain", b';', false)), "plain");
        assert_eq!(s(|o| csv_field(o, b"plain", b';', true)), "\"plain\"");
        assert_eq!(s(|o| csv_field(o, b"a;b", b';', false)), "\"a;b\"");
        assert_eq!(s(|o| csv_field(o, b"a;b", b',', false)), "a;b");
        assert_eq!(s(|o| csv_field(o, b"say \"hi\"", b',', false)), "\"say \"\"hi\"\"\"");
        assert_eq!(s(|o| csv_field(o, b"l1\nl2", b',', false)), "\"l1\nl2\"");
        assert_eq!(s(|o| csv_field(o, b"l1\rl2", b',', false)), "\"l1\rl2\"");
    }
}
