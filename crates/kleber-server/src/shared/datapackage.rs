//! What a Frictionless Data Package says about a dataset ([`package_info`]), shared by the
//! `datapackage.json` route and the `datapackage` export of every front end, and the few
//! metadata readers the catalog feeds (RSS, data.json) share with it.

use kleber_app::DatasetVersion;
use kleber_export::{PackageInfo, PackageLicense, PackageParty};
use kleber_store::DatasetRecord;
use serde_json::Value;

use crate::http::PublicUrl;

/// Where Explore v2.1 is mounted (the URLs packages point into).
const EXPLORE: &str = "/api/explore/v2.1";

/// A metadata value as text, trimmed, if not empty.
pub fn meta_text<'a>(record: &'a DatasetRecord, key: &str) -> Option<&'a str> {
    record.metas.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// A metadata value as a list of texts (a JSON list, or text separated by commas).
pub fn meta_list(record: &DatasetRecord, key: &str) -> Vec<String> {
    match record.metas.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => {
            s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// Whether `text` is an absolute http(s) address.
pub fn is_web_address(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// The dataset's API URL: `{base}/api/explore/v2.1/catalog/datasets/{id}`.
pub fn dataset_url(base: &PublicUrl, id: &str) -> String {
    base.url(&format!("{EXPLORE}/catalog/datasets/{}", encode_segment(id)))
}

/// The dataset's page on the portal.
pub fn dataset_page(base: &PublicUrl, id: &str) -> String {
    base.url(&format!("/explore/dataset/{}/", encode_segment(id)))
}

/// `id` as one path segment (ids are slugs; anything else is percent-encoded).
fn encode_segment(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2D", "-")
        .replace("%5F", "_")
        .replace("%2E", ".")
}

/// The licence of a record, as a Data Package names it: the identifier the management API
/// stored (`license_id`, e.g. `odbl-1.0`), the URL and the title.
pub fn package_license(record: &DatasetRecord) -> Option<PackageLicense> {
    let title = meta_text(record, "license")?;
    let name = meta_text(record, "license_id").filter(|id| *id != "custom").map(str::to_owned);
    let path = meta_text(record, "license_url").filter(|u| is_web_address(u)).map(str::to_owned);
    Some(PackageLicense { name, path, title: title.to_owned() })
}

/// The package of `version` as the caller sees it (its fields are the caller's view), its
/// data the CSV export at its absolute URL on `base` (no BOM, `;`).
pub fn package_info(version: &DatasetVersion, base: &PublicUrl) -> PackageInfo {
    let record = version.record();
    let id = version.id();
    let mut sources = Vec::new();
    for reference in meta_list(record, "references") {
        let path = is_web_address(&reference).then(|| reference.clone());
        sources.push(PackageParty { title: reference, path, email: None, role: None });
    }
    for attribution in meta_list(record, "attributions") {
        sources.push(PackageParty { title: attribution, path: None, email: None, role: None });
    }
    let mut contributors = Vec::new();
    if let Some(publisher) = meta_text(record, "publisher") {
        contributors.push(PackageParty {
            title: publisher.to_owned(),
            path: None,
            email: None,
            role: Some("publisher".to_owned()),
        });
    }
    let contact_email = meta_text(record, "contact_email").map(str::to_owned);
    if let Some(name) = meta_text(record, "contact_name").or(contact_email.as_deref()) {
        contributors.push(PackageParty {
            title: name.to_owned(),
            path: None,
            email: contact_email.clone(),
            role: Some("contact".to_owned()),
        });
    }
    PackageInfo {
        name: id.to_owned(),
        title: record.title.clone(),
        description: record.description.clone(),
        homepage: Some(dataset_page(base, id)),
        modified: Some(record.modified.clone()),
        keywords: meta_list(record, "keyword"),
        licenses: package_license(record).into_iter().collect(),
        sources,
        contributors,
        fields: version.fields().to_vec(),
        data_path: format!("{}/exports/csv?with_bom=false", dataset_url(base, id)),
        delimiter: b';',
    }
}
