//! From catalog records to what pages show: cards, dates, publisher slugs, theme links.

use kleber_store::DatasetRecord;
use kleber_web::Lang;
use kleber_web::url::Query;
use kleber_web::view::{DatasetCard, Link};
use serde_json::Value;

/// The text values of a metadata key (a list, or one comma-separated string).
pub(crate) fn meta_list(record: &DatasetRecord, key: &str) -> Vec<String> {
    match record.metas.get(key) {
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        Some(Value::String(s)) => {
            s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// A text metadata value.
pub(crate) fn meta_text<'a>(record: &'a DatasetRecord, key: &str) -> Option<&'a str> {
    record.metas.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// The URL slug of a publisher's name (`Ville de Strasbourg` → `ville-de-strasbourg`).
pub(crate) fn slug(name: &str) -> String {
    kleber_types::technical_name(name).replace('_', "-")
}

/// A link to the page of the organization that publishes `record`, labelled with its
/// `publisher` (which defaults to the organization's name).
pub(crate) fn publisher_link(record: &DatasetRecord) -> Option<Link> {
    meta_text(record, "publisher").map(|name| Link {
        label: name.to_owned(),
        href: super::organizations::organization_path(&record.organization),
    })
}

/// A link to the catalog refined by one facet value.
pub(crate) fn refine_link(facet: &str, value: &str) -> Link {
    Link {
        label: value.to_owned(),
        href: Query::default().add(&format!("refine.{facet}"), value).href("/explore/"),
    }
}

/// An RFC 3339 instant as a date in the reader's language (`26/11/2026`, `2026-11-26`), the
/// day it is in the portal's time zone.
pub(crate) fn format_date(rfc3339: &str, lang: Lang) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(d) => kleber_web::format::date(
            d.with_timezone(&super::cells::DEFAULT_TIME_ZONE).date_naive(),
            lang,
        ),
        Err(_) => rfc3339.to_owned(),
    }
}

/// The card of a dataset.
pub(crate) fn card(record: &DatasetRecord, lang: Lang) -> DatasetCard {
    let t = lang.messages();
    let geo = record.version.fields.iter().any(|f| {
        matches!(
            f.field_type,
            kleber_types::FieldType::GeoPoint2d | kleber_types::FieldType::GeoShape
        )
    });
    DatasetCard {
        id: record.id.clone(),
        title: record.title.clone(),
        summary: record
            .description
            .as_deref()
            .map(|d| kleber_web::plain_text(d, 220))
            .unwrap_or_default(),
        publisher: publisher_link(record),
        themes: meta_list(record, "theme").iter().map(|th| refine_link("theme", th)).collect(),
        modified: format_date(&record.modified, lang),
        records: t.records(record.version.records_count),
        geo,
    }
}
