//! The CKAN harvester: a portal's Action API (`/api/3/action/package_search`, paged with
//! `rows`/`start`, with the harvest's `q` and `fq`; `package_show` for a list of ids) turned
//! into `Item`s (docs/harvest.md#ckan).
//!
//! A package becomes a dataset: `title`; `notes` (Markdown) → `description` (rendered as the
//! back office renders it); `tags` → `keyword`; `groups` → `theme`; `license_title` (else
//! `license_id`) → `license`, `license_url`; `organization.title` → `publisher`; the extras
//! `language`, `references`, `attributions` and `timezone` → the metadata of that name (other
//! extras are reported as not carried over). Its resources are its files: the ones in a
//! format Kleber reads (by `format`, `mimetype`, then the URL's extension) may be its data
//! (the first one read is), every other one is an attachment.

use serde_json::{Map, Value};

use crate::harvest::{Fetcher, HarvestConfig, Item, MAX_PAGES, Resource, SourceFailure};

/// Packages asked per page.
const ROWS: usize = 100;
/// Extras copied as metadata of the same name.
const EXTRAS: &[&str] = &["language", "references", "attributions", "timezone"];

/// The Action API's base (`…/api/3/action`) of a portal address given with or without it.
fn action_base(url: &str) -> String {
    let mut base = url.trim().trim_end_matches('/').to_owned();
    for suffix in ["/action", "/3", "/api"] {
        if let Some(b) = base.strip_suffix(suffix) {
            base = b.to_owned();
        }
    }
    format!("{base}/api/3/action")
}

/// The portal's home (for dataset pages).
fn portal_base(url: &str) -> String {
    action_base(url).trim_end_matches("/api/3/action").to_owned()
}

/// Calls an action; its `result`, or `Ok(Err(message))` when CKAN says it failed (`success:
/// false`, e.g. "Not found").
async fn call(fetcher: &Fetcher, url: &str) -> Result<Result<Value, (u16, String)>, SourceFailure> {
    let (status, body, _) = fetcher.document(url, "application/json").await?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        SourceFailure(format!(
            "{url} does not answer as CKAN's Action API (HTTP {status}, not JSON: {e}); give the portal's address, e.g. https://demo.ckan.org"
        ))
    })?;
    match value.get("success").and_then(Value::as_bool) {
        Some(true) => value
            .get("result")
            .cloned()
            .map(Ok)
            .ok_or_else(|| SourceFailure(format!("{url} answered success without a result"))),
        Some(false) => {
            let error = value.get("error");
            let message = error
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| error.map(Value::to_string))
                .unwrap_or_else(|| format!("HTTP {status}"));
            Ok(Err((status, message)))
        }
        None => Err(SourceFailure(format!(
            "{url} does not answer as CKAN's Action API (HTTP {status}, no `success`); give the portal's address, e.g. https://demo.ckan.org"
        ))),
    }
}

/// The packages of the selection as items, and the ids asked that the portal does not have.
pub(crate) async fn collect(
    fetcher: &Fetcher,
    url: &str,
    config: &HarvestConfig,
) -> Result<(Vec<Item>, Vec<String>), SourceFailure> {
    let base = action_base(url);
    let portal = portal_base(url);
    let mut items = Vec::new();
    let mut missing = Vec::new();
    if !config.ids.is_empty() {
        for id in &config.ids {
            let mut show = url::Url::parse(&format!("{base}/package_show"))
                .map_err(|e| SourceFailure(format!("{url}: {e}")))?;
            show.query_pairs_mut().append_pair("id", id);
            match call(fetcher, show.as_str()).await? {
                Ok(package) => items.push(item(&portal, &package)),
                Err((404, _)) => missing.push(id.clone()),
                Err((_, m)) if m.to_ascii_lowercase().contains("not found") => {
                    missing.push(id.clone());
                }
                Err((status, m)) => {
                    return Err(SourceFailure(format!("{show} refused (HTTP {status}): {m}")));
                }
            }
        }
        return Ok((items, missing));
    }
    let mut start = 0usize;
    for _ in 0..MAX_PAGES {
        let mut search = url::Url::parse(&format!("{base}/package_search"))
            .map_err(|e| SourceFailure(format!("{url} is not a portal address: {e}")))?;
        {
            let mut q = search.query_pairs_mut();
            q.append_pair("rows", &ROWS.to_string());
            q.append_pair("start", &start.to_string());
            q.append_pair("sort", "name asc");
            if let Some(query) = &config.query {
                q.append_pair("q", query);
            }
            if let Some(fq) = &config.fq {
                q.append_pair("fq", fq);
            }
        }
        let result = match call(fetcher, search.as_str()).await? {
            Ok(r) => r,
            Err((status, m)) => {
                return Err(SourceFailure(format!("{search} refused (HTTP {status}): {m}")));
            }
        };
        let (Some(count), Some(results)) = (
            result.get("count").and_then(Value::as_u64),
            result.get("results").and_then(Value::as_array),
        ) else {
            return Err(SourceFailure(format!(
                "{search} is not a package_search answer (no count and results)"
            )));
        };
        let n = results.len();
        items.extend(results.iter().map(|p| item(&portal, p)));
        start += n;
        if n == 0 || start as u64 >= count {
            break;
        }
    }
    Ok((items, missing))
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A package as an item.
fn item(portal: &str, package: &Value) -> Item {
    let source_id = text(package, "name").or_else(|| text(package, "id")).unwrap_or_default();
    let mut metas = Map::new();
    let mut notes = Vec::new();
    metas.insert(
        "title".to_owned(),
        Value::from(text(package, "title").unwrap_or_else(|| source_id.clone())),
    );
    if let Some(n) = text(package, "notes") {
        metas.insert("description".to_owned(), Value::from(crate::manage::render_markdown(&n)));
    }
    let names = |key: &str, fields: &[&str]| -> Vec<Value> {
        package
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| fields.iter().find_map(|f| text(t, f)))
            .map(Value::from)
            .collect()
    };
    let keywords = names("tags", &["display_name", "name"]);
    if !keywords.is_empty() {
        metas.insert("keyword".to_owned(), Value::Array(keywords));
    }
    let themes = names("groups", &["title", "display_name", "name"]);
    if !themes.is_empty() {
        metas.insert("theme".to_owned(), Value::Array(themes));
    }
    if let Some(l) = text(package, "license_title").or_else(|| text(package, "license_id")) {
        metas.insert("license".to_owned(), Value::from(l));
    }
    if let Some(u) = text(package, "license_url") {
        metas.insert("license_url".to_owned(), Value::from(u));
    }
    if let Some(org) = package.get("organization").filter(|o| o.is_object())
        && let Some(p) = text(org, "title").or_else(|| text(org, "name"))
    {
        metas.insert("publisher".to_owned(), Value::from(p));
    }
    let mut other_extras = Vec::new();
    for extra in package.get("extras").and_then(Value::as_array).into_iter().flatten() {
        let (Some(key), Some(value)) = (text(extra, "key"), extra.get("value")) else { continue };
        if EXTRAS.contains(&key.as_str()) {
            metas.insert(key, value.clone());
        } else {
            other_extras.push(key);
        }
    }
    if !other_extras.is_empty() {
        notes.push(format!(
            "extras not carried over (no Kleber metadata of that meaning): {}",
            other_extras.join(", ")
        ));
    }
    let mut data = Vec::new();
    let mut attachments = Vec::new();
    for r in package.get("resources").and_then(Value::as_array).into_iter().flatten() {
        let Some(url) = text(r, "url") else { continue };
        let resource = Resource {
            url,
            title: text(r, "name").or_else(|| text(r, "description")),
            format: text(r, "format"),
            mimetype: text(r, "mimetype"),
        };
        if resource.readable().is_some() {
            data.push(resource);
        } else {
            attachments.push(resource);
        }
    }
    Item {
        source_url: (!source_id.is_empty()).then(|| format!("{portal}/dataset/{source_id}")),
        source_id,
        metas,
        data,
        attachments,
        links: Vec::new(),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_base_is_found_from_any_address() {
        for url in [
            "https://demo.ckan.org",
            "https://demo.ckan.org/",
            "https://demo.ckan.org/api/3",
            "https://demo.ckan.org/api/3/action/",
        ] {
            assert_eq!(action_base(url), "https://demo.ckan.org/api/3/action", "{url}");
        }
        assert_eq!(portal_base("http://x/portal/api/3"), "http://x/portal");
    }
}
