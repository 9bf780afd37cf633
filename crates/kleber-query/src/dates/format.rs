//! `date_format(d, 'pattern')`: a date or datetime as text, after a Joda-like pattern, in the
//! request's time zone, with month and day names in the request's language.
//!
//! A pattern is a sequence of letters, quoted text and other characters. A run of one letter
//! repeated is one field; its length chooses the form:
//!
//! | Letters | Meaning | Example (Tuesday 2021-03-02 08:05:09 in `fr`) |
//! |---|---|---|
//! | `yyyy` `yyy` `y`, `YYYY` … | year, zero-padded to the run's length | `2021` |
//! | `yy`, `YY` | year on two digits | `21` |
//! | `xxxx` `x`, `xx` | ISO week-year (two digits for `xx`) | `2021`, `21` |
//! | `w` `ww` | ISO week of the week-year | `9`, `09` |
//! | `e` | day of week, 1 (Monday) to 7 (Sunday) | `2` |
//! | `E` `EE` `EEE` | short day name | `mar.` |
//! | `EEEE` | full day name | `mardi` |
//! | `D` `DDD` | day of year | `61`, `061` |
//! | `M` `MM` | month number | `3`, `03` |
//! | `MMM` | short month name | `mars` |
//! | `MMMM` | month name | `mars` |
//! | `d` `dd` | day of month | `2`, `02` |
//! | `H` `HH` | hour 0-23 | `8`, `08` |
//! | `h` `hh` / `K` / `k` | hour 1-12 / 0-11 / 1-24 | `8` |
//! | `a` | `AM` / `PM` | `AM` |
//! | `m` `mm` | minute | `5`, `05` |
//! | `s` `ss` | second | `9`, `09` |
//! | `S`… | fraction of second, as many digits as letters | `000` |
//! | `Z` / `ZZ` / `ZZZ` | offset `+0100` / `+01:00` / zone id `Europe/Paris` | `+0100` |
//!
//! Text between single quotes is copied (`'T'`), `''` is a quote (inside or outside quoted
//! text), and any other character that is not a letter (`- / : . , ?` space, digits…) is
//! copied. Any other letter is an error, so that a typo is reported rather than printed.

use std::fmt::Write;
use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime, Offset, TimeZone, Timelike};
use chrono_tz::Tz;
use datafusion::arrow::array::StringBuilder;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::local::{Temporal, instant_of_local};

/// One piece of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Piece {
    /// Copied as is.
    Text(String),
    /// A letter repeated `count` times.
    Field { letter: char, count: usize },
}

/// The letters a pattern may use.
const LETTERS: &str = "yYxweEDMdHhKkamsSZ";

/// Parses a pattern; the error names the first unsupported letter or the unclosed quote.
pub(crate) fn parse_pattern(pattern: &str) -> std::result::Result<Vec<Piece>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                text.push('\'');
                i += 2;
                continue;
            }
            // Quoted text, through the next lone quote.
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(format!(
                            "the pattern '{pattern}' has an unclosed quote; write '' for a quote character."
                        ));
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        text.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&other) => {
                        text.push(other);
                        i += 1;
                    }
                }
            }
            continue;
        }
        if c.is_ascii_alphabetic() {
            if !LETTERS.contains(c) {
                return Err(format!(
                    "unsupported letter '{c}' in the date_format pattern '{pattern}'; the letters are y Y x w e E D M d H h K k a m s S Z, and text to copy goes between single quotes."
                ));
            }
            let mut count = 1;
            while chars.get(i + count) == Some(&c) {
                count += 1;
            }
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Field { letter: c, count });
            i += count;
            continue;
        }
        if c.is_alphabetic() {
            return Err(format!(
                "unsupported letter '{c}' in the date_format pattern '{pattern}'; put text to copy between single quotes."
            ));
        }
        text.push(c);
        i += 1;
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Month and day names of one language.
pub(crate) struct Names {
    months: [&'static str; 12],
    short_months: [&'static str; 12],
    days: [&'static str; 7],
    short_days: [&'static str; 7],
}

const FR: Names = Names {
    months: kleber_types::calendar::MONTHS_FR,
    short_months: [
        "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
        "déc.",
    ],
    days: ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    short_days: ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."],
};

const EN: Names = Names {
    months: kleber_types::calendar::MONTHS_EN,
    short_months: [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ],
    days: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    short_days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
};

const DE: Names = Names {
    months: [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
    short_months: [
        "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.",
        "Dez.",
    ],
    days: ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    short_days: ["Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."],
};

const ES: Names = Names {
    months: [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    short_months: [
        "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
    ],
    days: ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    short_days: ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
};

const IT: Names = Names {
    months: [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ],
    short_months: [
        "gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic",
    ],
    days: ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"],
    short_days: ["lun", "mar", "mer", "gio", "ven", "sab", "dom"],
};

const NL: Names = Names {
    months: [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ],
    short_months: [
        "jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.",
        "dec.",
    ],
    days: ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
    short_days: ["ma", "di", "wo", "do", "vr", "za", "zo"],
};

/// The names of a language (`fr`, `en`, `de`, `es`, `it`, `nl`, also as `fr-FR` or `en_GB`);
/// other languages get English names.
pub(crate) fn names(lang: &str) -> &'static Names {
    let primary = lang.split(['-', '_']).next().unwrap_or("").trim().to_ascii_lowercase();
    match primary.as_str() {
        "fr" => &FR,
        "de" => &DE,
        "es" => &ES,
        "it" => &IT,
        "nl" => &NL,
        _ => &EN,
    }
}

fn pad(out: &mut String, value: i64, width: usize) {
    if value < 0 {
        let _ = write!(out, "-{:0width$}", value.unsigned_abs());
    } else {
        let _ = write!(out, "{value:0width$}");
    }
}

/// Writes `t` (wall-clock time in `tz`) after `pieces`.
pub(crate) fn format_into(
    out: &mut String,
    pieces: &[Piece],
    t: &NaiveDateTime,
    tz: Tz,
    names: &Names,
) {
    for piece in pieces {
        let (letter, count) = match piece {
            Piece::Text(s) => {
                out.push_str(s);
                continue;
            }
            Piece::Field { letter, count } => (*letter, *count),
        };
        let n = |v: u32| i64::from(v);
        match letter {
            'y' | 'Y' if count == 2 => pad(out, i64::from(t.year()).rem_euclid(100), 2),
            'y' | 'Y' => pad(out, i64::from(t.year()), count),
            'x' if count == 2 => pad(out, i64::from(t.iso_week().year()).rem_euclid(100), 2),
            'x' => pad(out, i64::from(t.iso_week().year()), count),
            'w' => pad(out, n(t.iso_week().week()), count),
            'e' => pad(out, n(t.weekday().number_from_monday()), count),
            'E' => {
                let i = t.weekday().num_days_from_monday() as usize;
                out.push_str(if count >= 4 { names.days[i] } else { names.short_days[i] });
            }
            'D' => pad(out, n(t.ordinal()), count),
            'M' if count >= 4 => out.push_str(names.months[t.month0() as usize]),
            'M' if count == 3 => out.push_str(names.short_months[t.month0() as usize]),
            'M' => pad(out, n(t.month()), count),
            'd' => pad(out, n(t.day()), count),
            'H' => pad(out, n(t.hour()), count),
            'k' => pad(out, n(if t.hour() == 0 { 24 } else { t.hour() }), count),
            'K' => pad(out, n(t.hour() % 12), count),
            'h' => pad(out, n((t.hour() + 11) % 12 + 1), count),
            'a' => out.push_str(if t.hour() < 12 { "AM" } else { "PM" }),
            'm' => pad(out, n(t.minute()), count),
            's' => pad(out, n(t.second()), count),
            'S' => {
                let digits = format!("{:09}", t.nanosecond() % 1_000_000_000);
                for i in 0..count {
                    out.push(digits.as_bytes().get(i).map_or('0', |b| char::from(*b)));
                }
            }
            'Z' if count >= 3 => out.push_str(tz.name()),
            'Z' => {
                let offset = instant_of_local(tz, *t)
                    .and_then(chrono::DateTime::from_timestamp_micros)
                    .map_or(0, |utc| {
                        tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc()
                    });
                let sign = if offset < 0 { '-' } else { '+' };
                let (h, m) = (offset.unsigned_abs() / 3600, offset.unsigned_abs() % 3600 / 60);
                let sep = if count == 2 { ":" } else { "" };
                let _ = write!(out, "{sign}{h:02}{sep}{m:02}");
            }
            _ => {}
        }
    }
}

/// `date_format(d, 'pattern')` in a time zone and a language: `Utf8`, null for null.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct DateFormatUdf {
    pattern: String,
    pieces: Vec<Piece>,
    tz: Tz,
    lang: String,
    signature: Signature,
}

impl DateFormatUdf {
    pub(crate) fn new(pattern: &str, pieces: Vec<Piece>, tz: Tz, lang: &str) -> Self {
        DateFormatUdf {
            pattern: pattern.to_owned(),
            pieces,
            tz,
            lang: lang.to_owned(),
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for DateFormatUdf {
    fn name(&self) -> &str {
        "date_format"
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        let arg = args.first().map(|a| a.schema_name().to_string()).unwrap_or_default();
        Ok(format!("date_format({arg}, '{}')", self.pattern.replace('\'', "''")))
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let array = args.args[0].to_array(args.number_rows)?;
        let values = Temporal::new(&array)?;
        let names = names(&self.lang);
        let mut out = StringBuilder::with_capacity(values.len(), values.len() * 16);
        let mut text = String::new();
        for i in 0..values.len() {
            match values.local(i, self.tz) {
                Some(t) => {
                    text.clear();
                    format_into(&mut text, &self.pieces, &t, self.tz, names);
                    out.append_value(&text);
                }
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(pattern: &str, at: &str, lang: &str) -> String {
        let t = NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").unwrap();
        let mut out = String::new();
        format_into(&mut out, &parse_pattern(pattern).unwrap(), &t, chrono_tz::UTC, names(lang));
        out
    }

    #[test]
    fn letters_and_quotes() {
        let at = "2021-03-02 08:05:09";
        assert_eq!(fmt("yyyy-MM-dd'T'HH:mm:ss", at, "fr"), "2021-03-02T08:05:09");
        assert_eq!(fmt("yy y M d H m s", at, "fr"), "21 2021 3 2 8 5 9");
        assert_eq!(fmt("E EEEE d MMMM MMM", at, "fr"), "mar. mardi 2 mars mars");
        assert_eq!(fmt("E EEEE d MMMM MMM", at, "en"), "Tue Tuesday 2 March Mar");
        assert_eq!(fmt("E EEEE", at, "pt"), "Tue Tuesday");
        assert_eq!(
            fmt("'It''s' h a, 'week' ww xxxx, e, DDD", at, "en"),
            "It's 8 AM, week 09 2021, 2, 061"
        );
        assert_eq!(fmt("''dd''", at, "en"), "'02'");
        assert_eq!(fmt("xxxx-'W'ww", "2021-01-01 00:00:00", "en"), "2020-W53");
        assert_eq!(fmt("Z ZZ ZZZ", at, "en"), "+0000 +00:00 UTC");
        assert_eq!(fmt("SSS", "2021-01-01 00:00:00", "en"), "000");
    }

    #[test]
    fn bad_patterns() {
        assert!(parse_pattern("yyyy-QQ").unwrap_err().contains("'Q'"));
        assert!(parse_pattern("yyyy 'x").unwrap_err().contains("unclosed"));
        assert!(parse_pattern("é").is_err());
        assert!(parse_pattern("W").is_err());
    }
}
