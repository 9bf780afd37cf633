//! The catalog actions: `package_list`, `package_show`, `package_search`, `resource_show`,
//! `organization_list`, `organization_show`, `group_list`, `tag_list`.
//!
//! Everything is read from the caller's catalog view (`Resolution::catalog`): a dataset the
//! caller may not read is not there, so it is neither listed, counted nor found. Lists and
//! searches show public datasets only, as CKAN does; `package_search`'s `include_private`
//! (and `include_drafts`) widen that to the caller's restricted (and draft) datasets, and
//! widen nothing for a caller who may read none.
//!
//! Full-text search (`q`) goes to the catalog index through [`kleber_app::App::catalog_ids`]
//! (the ranking of Explore's `/catalog/datasets`); CKAN's field queries (`tags:x`,
//! `organization:y`, in `q` or `fq`), sorting and facets are read from the packages.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use kleber_query::RecordsQuery;
use kleber_store::{DatasetRecord, Organization, Visibility};
use serde_json::{Map, Value, json};

use super::Call;
use super::package::{
    format_label, formats, license, meta_list, package, parse_resource_id, resource, slug,
};
use crate::shared::ckan_error::CkanError;

/// Largest `rows` of `package_search` (CKAN's `ckan.search.rows_max` default).
const MAX_ROWS: i64 = 1000;

/// The fields `package_search` filters and facets on, with CKAN's names.
const FIELDS: &[&str] = &[
    "name",
    "id",
    "title",
    "organization",
    "owner_org",
    "tags",
    "groups",
    "license_id",
    "res_format",
    "private",
    "state",
    "capacity",
    "author",
];

/// The values of `field` for `record` (`None`: not a field Kleber knows).
fn values(record: &DatasetRecord, field: &str) -> Option<Vec<String>> {
    Some(match field {
        "name" => vec![record.id.clone()],
        "id" => vec![record.uid.clone()],
        "title" => vec![record.title.clone()],
        "organization" | "owner_org" => vec![record.organization.clone()],
        "tags" => meta_list(record, "keyword"),
        "groups" => meta_list(record, "theme").iter().map(|t| slug(t)).collect(),
        "license_id" => vec![license(record).id],
        "res_format" => formats(record).into_iter().map(|f| format_label(f).to_owned()).collect(),
        "private" => vec![(record.visibility != Visibility::Public).to_string()],
        "capacity" => {
            vec![
                if record.visibility == Visibility::Public { "public" } else { "private" }
                    .to_owned(),
            ]
        }
        "state" => {
            vec![if record.visibility == Visibility::Draft { "draft" } else { "active" }.to_owned()]
        }
        "author" => meta_list(record, "publisher"),
        _ => return None,
    })
}

/// One `field:value` (or `field:(a OR b)`) of a Solr query, possibly negated.
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    field: String,
    /// Any of them matches; `*` matches any value.
    values: Vec<String>,
    negated: bool,
}

impl Clause {
    fn matches(&self, record: &DatasetRecord) -> bool {
        let have = values(record, &self.field).unwrap_or_default();
        let hit = self.values.iter().any(|wanted| {
            if wanted == "*" {
                !have.is_empty()
            } else if self.field == "title" {
                have.iter().any(|h| h.to_lowercase().contains(&wanted.to_lowercase()))
            } else {
                have.iter().any(|h| h == wanted)
            }
        });
        hit != self.negated
    }
}

/// A Solr query as Kleber reads it: words searched in the catalog's full-text index, and
/// field clauses that must all hold.
#[derive(Debug, Default, PartialEq)]
struct SolrQuery {
    words: Vec<String>,
    clauses: Vec<Clause>,
}

/// Reads a quoted text starting after its opening quote; returns it and the rest.
fn quoted(rest: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.extend(chars.next().map(|(_, c)| c)),
            '"' => return Some((out, &rest[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// Parses `q` or `fq` (`parameter` names it in errors): words, `"phrases"`, `field:value`,
/// `field:"a value"`, `field:(a OR b)`, `-field:value`, `AND` (implied), `*:*`.
fn parse_solr(text: &str, parameter: &str) -> Result<SolrQuery, CkanError> {
    let err = |what: String| CkanError::search_query(format!("{parameter}: {what}"));
    let mut query = SolrQuery::default();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (negated, body) = match rest.as_bytes()[0] {
            b'-' => (true, &rest[1..]),
            b'+' => (false, &rest[1..]),
            _ => (false, rest),
        };
        if let Some(after) = body.strip_prefix('"') {
            let (phrase, after) =
                quoted(after).ok_or_else(|| err("a quote is not closed".into()))?;
            if negated {
                return Err(err("negated words are not supported; negate a field clause".into()));
            }
            query.words.extend(phrase.split_whitespace().map(str::to_owned));
            rest = after.trim_start();
            continue;
        }
        let end = body.find(char::is_whitespace).unwrap_or(body.len());
        let token = &body[..end];
        match token.split_once(':') {
            None => {
                match token {
                    "AND" | "&&" => {}
                    "OR" | "||" | "NOT" => {
                        return Err(err(format!(
                            "{token} between terms is not supported: terms are ANDed; use field:(a OR b)"
                        )));
                    }
                    _ if token.starts_with('(') || token.ends_with(')') => {
                        return Err(err("parentheses are only supported after field:".into()));
                    }
                    _ if negated => {
                        return Err(err(
                            "negated words are not supported; negate a field clause".into()
                        ));
                    }
                    _ => query.words.push(token.to_owned()),
                }
                rest = body[end..].trim_start();
            }
            Some(("*", "*")) => rest = body[end..].trim_start(),
            Some((field, _)) => {
                if !FIELDS.contains(&field) {
                    return Err(err(format!(
                        "unknown field {field:?}; the fields are {}",
                        FIELDS.join(", ")
                    )));
                }
                let after_colon = &body[field.len() + 1..];
                let (values, after) = if let Some(inner) = after_colon.strip_prefix('"') {
                    let (value, after) =
                        quoted(inner).ok_or_else(|| err("a quote is not closed".into()))?;
                    (vec![value], after)
                } else if let Some(inner) = after_colon.strip_prefix('(') {
                    let close =
                        inner.find(')').ok_or_else(|| err("a parenthesis is not closed".into()))?;
                    let mut values = Vec::new();
                    let mut group = inner[..close].trim();
                    while !group.is_empty() {
                        if let Some(q) = group.strip_prefix('"') {
                            let (value, after) =
                                quoted(q).ok_or_else(|| err("a quote is not closed".into()))?;
                            values.push(value);
                            group = after.trim_start();
                        } else {
                            let end = group.find(char::is_whitespace).unwrap_or(group.len());
                            match &group[..end] {
                                "OR" | "||" => {}
                                "AND" | "&&" | "NOT" => {
                                    return Err(err(format!(
                                        "{} inside field:( ) is not supported: only OR",
                                        &group[..end]
                                    )));
                                }
                                value => values.push(value.to_owned()),
                            }
                            group = group[end..].trim_start();
                        }
                    }
                    (values, &inner[close + 1..])
                } else {
                    let end = after_colon.find(char::is_whitespace).unwrap_or(after_colon.len());
                    (vec![after_colon[..end].to_owned()], &after_colon[end..])
                };
                if values.iter().all(String::is_empty) {
                    return Err(err(format!("{field}: has no value")));
                }
                query.clauses.push(Clause { field: field.to_owned(), values, negated });
                rest = after.trim_start();
            }
        }
    }
    Ok(query)
}

/// A `sort` key of `package_search`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SortKey {
    Score,
    Name,
    Title,
    Modified,
    Created,
    Resources,
    Tags,
}

fn parse_sort(text: &str) -> Result<Vec<(SortKey, bool)>, CkanError> {
    let mut keys = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mut words = item.split_whitespace();
        let name = words.next().unwrap_or_default();
        let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(CkanError::search_query(format!(
                    "sort: {other:?} after {name}: asc or desc is expected"
                )));
            }
        };
        let key = match name {
            "score" => SortKey::Score,
            "name" => SortKey::Name,
            "title" | "title_string" => SortKey::Title,
            "metadata_modified" => SortKey::Modified,
            "metadata_created" => SortKey::Created,
            "num_resources" => SortKey::Resources,
            "num_tags" => SortKey::Tags,
            other => {
                return Err(CkanError::search_query(format!(
                    "sort: cannot sort on {other:?}; the keys are score, name, title_string, metadata_modified, metadata_created, num_resources, num_tags"
                )));
            }
        };
        keys.push((key, descending));
    }
    Ok(keys)
}

fn compare(a: &Hit<'_>, b: &Hit<'_>, key: SortKey) -> Ordering {
    match key {
        // Rank 0 is the best: a higher score is a lower rank.
        SortKey::Score => b.rank.cmp(&a.rank),
        SortKey::Name => a.record.id.cmp(&b.record.id),
        SortKey::Title => a.record.title.to_lowercase().cmp(&b.record.title.to_lowercase()),
        SortKey::Modified => a.record.modified.cmp(&b.record.modified),
        SortKey::Created => a.record.version.created_at.cmp(&b.record.version.created_at),
        SortKey::Resources => formats(a.record).len().cmp(&formats(b.record).len()),
        SortKey::Tags => {
            meta_list(a.record, "keyword").len().cmp(&meta_list(b.record, "keyword").len())
        }
    }
}

/// A dataset found, with its relevance rank (0 is the best).
struct Hit<'a> {
    record: &'a DatasetRecord,
    rank: usize,
}

/// Whether `record` is listed by default (public), or with `include_private` (restricted)
/// and `include_drafts` (draft): never more than the caller's view holds.
fn listed(record: &DatasetRecord, private: bool, drafts: bool) -> bool {
    match record.visibility {
        Visibility::Public => true,
        Visibility::Restricted => private,
        Visibility::Draft => private && drafts,
    }
}

/// `package_list`: the names of the public datasets, by name.
pub(crate) async fn package_list(call: &Call<'_>) -> Result<Value, CkanError> {
    let limit = call.args.int("limit", i64::MAX, 0, i64::MAX)?;
    let offset = call.args.int("offset", 0, 0, i64::MAX)?;
    let view = call.view().await?;
    let mut names: Vec<&str> =
        view.records().iter().filter(|r| listed(r, false, false)).map(|r| r.id.as_str()).collect();
    names.sort_unstable();
    let page: Vec<&str> = names
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    Ok(json!(page))
}

/// The dataset a package id names: its identifier (`name`) or uid (`id`).
fn find_package<'v>(view: &'v kleber_app::CatalogView, id: &str) -> Option<&'v DatasetRecord> {
    view.record(id).or_else(|| view.records().iter().find(|r| r.uid == id))
}

/// `package_show`: one dataset, by name or id.
pub(crate) async fn package_show(call: &Call<'_>) -> Result<Value, CkanError> {
    let id = match call.args.str("id")?.filter(|s| !s.trim().is_empty()) {
        Some(id) => id.trim().to_owned(),
        None => call.args.required("name_or_id")?,
    };
    let view = call.view().await?;
    let record = find_package(&view, &id)
        .ok_or_else(|| CkanError::not_found(format!("Dataset {id:?} was not found.")))?;
    Ok(package(record, view.organization(&record.organization), call.base))
}

/// `resource_show`: one resource, by id.
pub(crate) async fn resource_show(call: &Call<'_>) -> Result<Value, CkanError> {
    let id = call.args.required("id")?;
    let missing = || CkanError::not_found(format!("Resource {id:?} was not found."));
    let (dataset, format) = parse_resource_id(&id).ok_or_else(missing)?;
    let view = call.view().await?;
    let record = view.record(dataset).ok_or_else(missing)?;
    let position = formats(record).iter().position(|f| *f == format).ok_or_else(missing)?;
    Ok(resource(record, format, position, call.base))
}

/// `package_search`.
pub(crate) async fn package_search(call: &Call<'_>) -> Result<Value, CkanError> {
    let args = &call.args;
    let q = args.str("q")?.unwrap_or_default();
    let mut fqs: Vec<String> = args.str("fq")?.into_iter().collect();
    fqs.extend(args.list("fq_list")?.unwrap_or_default());
    let rows = args.int("rows", 10, 0, MAX_ROWS)?;
    let start = args.int("start", 0, 0, i64::MAX)?;
    let sort_text = args.str("sort")?.filter(|s| !s.trim().is_empty());
    let sort = parse_sort(sort_text.as_deref().unwrap_or("score desc, metadata_modified desc"))?;
    let private = args.bool("include_private", false)?;
    let drafts = args.bool("include_drafts", false)?;
    let want_facets = args.bool("facet", true)?;
    let facet_fields = args.list("facet.field")?.unwrap_or_default();
    let facet_limit = args.int("facet.limit", 50, -1, i64::MAX)?;
    let facet_mincount = args.int("facet.mincount", 1, 0, i64::MAX)?;
    for field in &facet_fields {
        if !FIELDS.contains(&field.as_str()) {
            return Err(CkanError::search_query(format!(
                "facet.field: unknown field {field:?}; the fields are {}",
                FIELDS.join(", ")
            )));
        }
    }
    let mut query = parse_solr(&q, "q")?;
    for fq in &fqs {
        let filter = parse_solr(fq, "fq")?;
        query.words.extend(filter.words);
        query.clauses.extend(filter.clauses);
    }

    let view = call.view().await?;
    let ranked: Vec<Hit<'_>> = if query.words.is_empty() {
        view.records().iter().map(|record| Hit { record, rank: 0 }).collect()
    } else {
        let text = query.words.join(" ");
        let search = RecordsQuery {
            r#where: vec![kleber_odsql::write::string(&text)],
            ..RecordsQuery::default()
        };
        let ctx = call.resolution.context();
        let ids = call.state.app.catalog_ids(&ctx, &view, &search).await?;
        ids.iter()
            .enumerate()
            .filter_map(|(rank, id)| view.record(id).map(|record| Hit { record, rank }))
            .collect()
    };
    let mut hits: Vec<Hit<'_>> = ranked
        .into_iter()
        .filter(|h| listed(h.record, private, drafts))
        .filter(|h| query.clauses.iter().all(|c| c.matches(h.record)))
        .collect();
    hits.sort_by(|a, b| {
        sort.iter()
            .map(|&(key, descending)| {
                let order = compare(a, b, key);
                if descending { order.reverse() } else { order }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.record.id.cmp(&b.record.id))
    });

    let mut facets = Map::new();
    let mut search_facets = Map::new();
    if want_facets {
        for field in &facet_fields {
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for hit in &hits {
                let mut seen = values(hit.record, field).unwrap_or_default();
                seen.sort_unstable();
                seen.dedup();
                for value in seen {
                    *counts.entry(value).or_default() += 1;
                }
            }
            let mut items: Vec<(String, u64)> =
                counts.into_iter().filter(|(_, n)| *n >= facet_mincount.unsigned_abs()).collect();
            items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            if facet_limit >= 0 {
                items.truncate(usize::try_from(facet_limit).unwrap_or(usize::MAX));
            }
            let display = |name: &str| -> String {
                match field.as_str() {
                    "organization" | "owner_org" => {
                        view.organization(name).map_or_else(|| name.to_owned(), |o| o.name.clone())
                    }
                    "groups" => hits
                        .iter()
                        .flat_map(|h| meta_list(h.record, "theme"))
                        .find(|t| slug(t) == name)
                        .unwrap_or_else(|| name.to_owned()),
                    _ => name.to_owned(),
                }
            };
            let counts: Map<String, Value> =
                items.iter().map(|(name, n)| (name.clone(), json!(n))).collect();
            let listed: Vec<Value> = items
                .iter()
                .map(|(name, n)| json!({"name": name, "display_name": display(name), "count": n}))
                .collect();
            facets.insert(field.clone(), Value::Object(counts));
            search_facets.insert(field.clone(), json!({"title": field, "items": listed}));
        }
    }

    let count = hits.len();
    let results: Vec<Value> = hits
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(rows).unwrap_or(usize::MAX))
        .map(|h| package(h.record, view.organization(&h.record.organization), call.base))
        .collect();
    Ok(json!({
        "count": count,
        "sort": sort_text.unwrap_or_else(|| "score desc, metadata_modified desc".to_owned()),
        "facets": facets,
        "search_facets": search_facets,
        "results": results,
    }))
}

/// Whether a list action asks for full objects (`all_fields`).
fn all_fields(call: &Call<'_>) -> Result<bool, CkanError> {
    call.args.bool("all_fields", false)
}

/// Sorts `items` (name, title, count) by a CKAN `sort` of `name`, `title` or
/// `package_count`, `asc` or `desc`.
fn sort_named(items: &mut [(String, String, usize)], sort: Option<&str>) -> Result<(), CkanError> {
    let sort = sort.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("name asc");
    let mut words = sort.split_whitespace();
    let key = words.next().unwrap_or("name");
    let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(CkanError::validation(
                "sort",
                format!("{other:?}: asc or desc is expected"),
            ));
        }
    };
    match key {
        "name" => items.sort_by(|a, b| a.0.cmp(&b.0)),
        "title" | "display_name" => items.sort_by_key(|a| a.1.to_lowercase()),
        "package_count" => items.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(&b.0))),
        other => {
            return Err(CkanError::validation(
                "sort",
                format!("cannot sort on {other:?}: name, title or package_count"),
            ));
        }
    }
    if descending {
        items.reverse();
    }
    Ok(())
}

/// Pages `items` by the `limit` and `offset` parameters.
fn paged<T>(call: &Call<'_>, items: Vec<T>) -> Result<Vec<T>, CkanError> {
    let limit = call.args.int("limit", i64::MAX, 0, i64::MAX)?;
    let offset = call.args.int("offset", 0, 0, i64::MAX)?;
    Ok(items
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect())
}

/// `organization_list`: every organization, with its public datasets counted.
pub(crate) async fn organization_list(call: &Call<'_>) -> Result<Value, CkanError> {
    let full = all_fields(call)?;
    let only = call.args.list("organizations")?;
    let view = call.view().await?;
    let count = |org: &str| {
        view.records().iter().filter(|r| r.organization == org && listed(r, false, false)).count()
    };
    let mut items: Vec<(String, String, usize)> = view
        .organizations()
        .iter()
        .filter(|o| only.as_ref().is_none_or(|names| names.contains(&o.id)))
        .map(|o| (o.id.clone(), o.name.clone(), count(&o.id)))
        .collect();
    sort_named(&mut items, call.args.str("sort")?.as_deref())?;
    let items = paged(call, items)?;
    if !full {
        return Ok(json!(items.into_iter().map(|(name, _, _)| name).collect::<Vec<_>>()));
    }
    Ok(Value::Array(
        items
            .iter()
            .filter_map(|(name, _, n)| view.organization(name).map(|o| (o, *n)))
            .map(|(o, n)| with_count(super::package::organization(o), n))
            .collect(),
    ))
}

fn with_count(mut object: Value, n: usize) -> Value {
    if let Value::Object(map) = &mut object {
        map.insert("package_count".into(), json!(n));
    }
    object
}

/// `organization_show`: one organization, its datasets the caller may read counted (and
/// listed with `include_datasets`).
pub(crate) async fn organization_show(call: &Call<'_>) -> Result<Value, CkanError> {
    let id = call.args.required("id")?;
    let include = call.args.bool("include_datasets", false)?;
    let view = call.view().await?;
    let org: &Organization = view
        .organization(&id)
        .or_else(|| view.organizations().iter().find(|o| o.name == id))
        .ok_or_else(|| CkanError::not_found(format!("Organization {id:?} was not found.")))?;
    let mut datasets: Vec<&DatasetRecord> = view
        .records()
        .iter()
        .filter(|r| r.organization == org.id && listed(r, true, false))
        .collect();
    datasets.sort_by(|a, b| a.id.cmp(&b.id));
    let mut object = with_count(super::package::organization(org), datasets.len());
    if let Value::Object(map) = &mut object {
        let packages: Vec<Value> = if include {
            datasets.iter().take(1000).map(|r| package(r, Some(org), call.base)).collect()
        } else {
            Vec::new()
        };
        map.insert("packages".into(), Value::Array(packages));
        for key in ["users", "extras", "tags", "groups"] {
            map.insert(key.into(), json!([]));
        }
        map.insert("num_followers".into(), json!(0));
    }
    Ok(object)
}

/// `group_list`: the themes of the public datasets, as groups.
pub(crate) async fn group_list(call: &Call<'_>) -> Result<Value, CkanError> {
    let full = all_fields(call)?;
    let only = call.args.list("groups")?;
    let view = call.view().await?;
    let mut themes: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for record in view.records().iter().filter(|r| listed(r, false, false)) {
        let mut seen: Vec<String> = meta_list(record, "theme");
        seen.sort_unstable();
        seen.dedup_by(|a, b| slug(a) == slug(b));
        for theme in seen {
            let entry = themes.entry(slug(&theme)).or_insert_with(|| (theme.clone(), 0));
            entry.1 += 1;
        }
    }
    let mut items: Vec<(String, String, usize)> = themes
        .into_iter()
        .filter(|(name, _)| only.as_ref().is_none_or(|names| names.contains(name)))
        .map(|(name, (title, n))| (name, title, n))
        .collect();
    sort_named(&mut items, call.args.str("sort")?.as_deref())?;
    let items = paged(call, items)?;
    if !full {
        return Ok(json!(items.into_iter().map(|(name, _, _)| name).collect::<Vec<_>>()));
    }
    Ok(Value::Array(
        items
            .iter()
            .map(|(_, title, n)| {
                let mut group = super::package::group(title);
                if let Value::Object(map) = &mut group {
                    map.insert("type".into(), json!("group"));
                    map.insert("is_organization".into(), json!(false));
                    map.insert("state".into(), json!("active"));
                    map.insert("approval_status".into(), json!("approved"));
                }
                with_count(group, *n)
            })
            .collect(),
    ))
}

/// `tag_list`: the keywords of the public datasets (`query`: those containing it).
pub(crate) async fn tag_list(call: &Call<'_>) -> Result<Value, CkanError> {
    let full = all_fields(call)?;
    let filter = call.args.str("query")?.map(|q| q.to_lowercase());
    let view = call.view().await?;
    let mut tags: Vec<String> = view
        .records()
        .iter()
        .filter(|r| listed(r, false, false))
        .flat_map(|r| meta_list(r, "keyword"))
        .filter(|t| filter.as_ref().is_none_or(|q| t.to_lowercase().contains(q)))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    if full {
        return Ok(Value::Array(tags.iter().map(|t| super::package::tag(t)).collect()));
    }
    Ok(json!(tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(field: &str, values: &[&str], negated: bool) -> Clause {
        Clause {
            field: field.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            negated,
        }
    }

    #[test]
    fn solr_queries_split_into_words_and_clauses() {
        let q = parse_solr(
            r#"parking "temps réel" tags:vélo AND -organization:ems groups:(mobilite OR "culture") *:*"#,
            "q",
        )
        .unwrap();
        assert_eq!(q.words, ["parking", "temps", "réel"]);
        assert_eq!(
            q.clauses,
            [
                clause("tags", &["vélo"], false),
                clause("organization", &["ems"], true),
                clause("groups", &["mobilite", "culture"], false),
            ]
        );
        assert_eq!(parse_solr("  ", "q").unwrap(), SolrQuery::default());
    }

    #[test]
    fn unsupported_solr_is_a_search_query_error() {
        for bad in [
            "a OR b",
            "nosuch:x",
            "tags:\"open",
            "groups:(a AND b)",
            "tags:(a",
            "(a b)",
            "-word",
            "tags:",
        ] {
            let e = parse_solr(bad, "fq").unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.error["__type"].as_str()),
                (400, Some("Search Query Error")),
                "{bad}"
            );
            assert!(e.message().starts_with("Search Query is invalid: fq: "), "{}", e.message());
        }
    }

    #[test]
    fn sorts_are_checked() {
        assert_eq!(
            parse_sort("score desc, metadata_modified desc").unwrap(),
            [(SortKey::Score, true), (SortKey::Modified, true)]
        );
        assert_eq!(parse_sort("title_string asc").unwrap(), [(SortKey::Title, false)]);
        assert!(parse_sort("views desc").is_err());
        assert!(parse_sort("name sideways").is_err());
    }
}
