//! Numbers, dates and field labels as a reader of the page's language writes them.
//!
//! - Numbers: French groups thousands with a narrow no-break space and writes a decimal
//!   comma (`1 389 081`, `14,8`); English uses a comma and a decimal point (`1,389,081`).
//! - Dates: French `26/11/2026` and `26/11/2026 14:05`; English ISO 8601, `2026-11-26` and
//!   `2026-11-26 14:05`, read the same way by British and American readers. A date-time is
//!   shown at the wall-clock time of the offset it carries (the server encodes it in the
//!   dataset's time zone).
//! - Date facet values (`2025/01`, `2025/01/15`) become `janvier 2025`, `15 janvier 2025`.
//! - A label that is an identifier (`temperature_moyenne`) is written as words.

use chrono::{DateTime, NaiveDate, Timelike};

use kleber_types::calendar::{MONTHS_EN, MONTHS_FR};

use crate::i18n::{Lang, format_int};

/// Beyond this magnitude a number is written as Rust prints it (no grouping, no rounding).
const LARGEST_GROUPED: f64 = 1e15;

/// The name of month `month` (1 to 12) in `lang`.
pub fn month_name(month: u32, lang: Lang) -> Option<&'static str> {
    let names = match lang {
        Lang::Fr => &MONTHS_FR,
        Lang::En => &MONTHS_EN,
    };
    names.get((month as usize).checked_sub(1)?).copied()
}

/// An integer with the language's thousands separator.
pub fn integer(n: i64, lang: Lang) -> String {
    format_int(n, lang)
}

/// A decimal number with at most `max_decimals` decimals (trailing zeros dropped), grouped
/// and with the language's decimal separator.
pub fn decimal(f: f64, max_decimals: usize, lang: Lang) -> String {
    grouped(f, max_decimals, true, lang)
}

/// A decimal number with exactly `decimals` decimals (`12,0 km`), grouped and with the
/// language's decimal separator.
pub fn fixed(f: f64, decimals: usize, lang: Lang) -> String {
    grouped(f, decimals, false, lang)
}

fn grouped(f: f64, decimals: usize, trim: bool, lang: Lang) -> String {
    if !f.is_finite() || f.abs() >= LARGEST_GROUPED {
        return f.to_string();
    }
    let fixed = format!("{f:.decimals$}");
    let (int_part, frac) = match fixed.split_once('.') {
        Some((i, d)) if trim => (i, d.trim_end_matches('0')),
        Some((i, d)) => (i, d),
        None => (fixed.as_str(), ""),
    };
    let negative = int_part.starts_with('-');
    let digits = int_part.trim_start_matches('-');
    let Ok(n) = digits.parse::<i64>() else { return f.to_string() };
    // `-0.001` rounded to two decimals is zero, without a sign.
    let sign = if negative && (n != 0 || frac.chars().any(|c| c != '0')) { "-" } else { "" };
    let mut out = format!("{sign}{}", format_int(n, lang));
    if !frac.is_empty() {
        out.push(match lang {
            Lang::Fr => ',',
            Lang::En => '.',
        });
        out.push_str(frac);
    }
    out
}

/// A calendar date (`26/11/2026`, `2026-11-26`).
pub fn date(d: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::Fr => d.format("%d/%m/%Y").to_string(),
        Lang::En => d.format("%Y-%m-%d").to_string(),
    }
}

/// A `YYYY-MM-DD` text as a date, or `None` when it is not one.
pub fn iso_date(text: &str, lang: Lang) -> Option<String> {
    let day = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
    (text.len() == 10).then(|| date(day, lang))
}

/// An RFC 3339 date-time at the wall-clock time of its offset (`26/11/2026 14:05`; seconds
/// only when they are not zero), or `None` when it is not one.
pub fn datetime(text: &str, lang: Lang) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(text).ok()?;
    let time = if t.second() == 0 { t.format("%H:%M") } else { t.format("%H:%M:%S") };
    Some(format!("{} {time}", date(t.date_naive(), lang)))
}

/// The label of a date facet value: `2025`, `janvier 2025` (`2025/01`), `15 janvier 2025`
/// (`2025/01/15`); any other text is returned as it is.
pub fn date_path(path: &str, lang: Lang) -> String {
    let parts: Vec<&str> = path.split(['/', '-']).collect();
    let number = |s: &str| s.parse::<u32>().ok();
    match parts.as_slice() {
        [year, month] => match (number(year), number(month).and_then(|m| month_name(m, lang))) {
            (Some(_), Some(name)) => format!("{name} {year}"),
            _ => path.to_owned(),
        },
        [year, month, day] => {
            let valid = number(year)
                .zip(number(month))
                .zip(number(day))
                .and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y as i32, m, d));
            match (valid, number(month).and_then(|m| month_name(m, lang))) {
                (Some(d), Some(name)) => format!("{} {name} {year}", d.format("%-d")),
                _ => path.to_owned(),
            }
        }
        _ => path.to_owned(),
    }
}

/// A field label for readers: a label that is an identifier (no space, with underscores, or
/// all lowercase: `temperature_moyenne`, `compteur`) is written as words with a capital
/// (`Temperature moyenne`, `Compteur`); any other label is kept as published.
pub fn field_label(label: &str) -> String {
    let identifier = !label.is_empty()
        && !label.contains(char::is_whitespace)
        && (label.contains('_') || !label.chars().any(char::is_uppercase));
    if !identifier {
        return label.to_owned();
    }
    let words = label.split('_').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => label.to_owned(),
    }
}

/// A label inside a phrase (`Somme de comptage`, `Année de date de début`): its capital
/// lowered unless the next letter is a capital too (`INSEE` stays).
pub fn in_phrase(label: &str) -> String {
    let mut chars = label.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            first.to_lowercase().chain(label.chars().skip(1)).collect()
        }
        _ => label.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_language() {
        assert_eq!(decimal(1_389_081.0, 2, Lang::Fr), "1\u{202f}389\u{202f}081");
        assert_eq!(decimal(1_389_081.0, 2, Lang::En), "1,389,081");
        assert_eq!(decimal(14.8, 6, Lang::Fr), "14,8");
        assert_eq!(decimal(14.8, 6, Lang::En), "14.8");
        assert_eq!(decimal(-1234.567, 2, Lang::Fr), "-1\u{202f}234,57");
        assert_eq!(decimal(-0.001, 2, Lang::En), "0");
        assert_eq!(decimal(2e20, 2, Lang::Fr), "200000000000000000000");
        assert_eq!(fixed(12.0, 1, Lang::Fr), "12,0");
        assert_eq!(fixed(-0.01, 1, Lang::En), "0.0");
        assert_eq!(fixed(1234.56, 1, Lang::En), "1,234.6");
        assert_eq!(integer(-1234, Lang::En), "-1,234");
    }

    #[test]
    fn dates_follow_the_language() {
        assert_eq!(iso_date("2026-11-26", Lang::Fr).as_deref(), Some("26/11/2026"));
        assert_eq!(iso_date("2026-11-26", Lang::En).as_deref(), Some("2026-11-26"));
        assert_eq!(iso_date("2026-13-01", Lang::Fr), None);
        assert_eq!(iso_date("2026-11-26T08:00:00Z", Lang::Fr), None);
        assert_eq!(
            datetime("2026-11-26T14:05:00+01:00", Lang::Fr).as_deref(),
            Some("26/11/2026 14:05")
        );
        assert_eq!(
            datetime("2026-11-26T14:05:09+00:00", Lang::En).as_deref(),
            Some("2026-11-26 14:05:09")
        );
        assert_eq!(datetime("yesterday", Lang::En), None);
    }

    #[test]
    fn date_facet_values_name_their_month() {
        assert_eq!(date_path("2025", Lang::Fr), "2025");
        assert_eq!(date_path("2025/01", Lang::Fr), "janvier 2025");
        assert_eq!(date_path("2025/12", Lang::En), "December 2025");
        assert_eq!(date_path("2025/08/05", Lang::Fr), "5 août 2025");
        assert_eq!(date_path("2025-08", Lang::En), "August 2025");
        assert_eq!(date_path("2025/02/30", Lang::Fr), "2025/02/30");
        assert_eq!(date_path("2025/13", Lang::Fr), "2025/13");
    }

    #[test]
    fn identifier_labels_become_words() {
        assert_eq!(field_label("temperature_moyenne"), "Temperature moyenne");
        assert_eq!(field_label("compteur"), "Compteur");
        assert_eq!(field_label("Etat_descriptif"), "Etat descriptif");
        assert_eq!(field_label("Date de début"), "Date de début");
        assert_eq!(field_label("Horodatage"), "Horodatage");
        assert_eq!(field_label("Tarif (€)"), "Tarif (€)");
        assert_eq!(field_label("_"), "_");
        assert_eq!(in_phrase("Date de début"), "date de début");
        assert_eq!(in_phrase("INSEE"), "INSEE");
        assert_eq!(in_phrase("Écart"), "écart");
        assert_eq!(in_phrase("x"), "x");
    }
}
