//! `/explore/dataset/{id}/` and its tabs: information, table, map, analyze, api, export.
//!
//! The information tab shows the metadata and schema; the others are in `table.rs` (table and
//! map), `analyze.rs` and `api_tab.rs`; the export tab is here. Every tab carries the
//! schema.org `Dataset` JSON-LD and Open Graph tags.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use kleber_app::DatasetVersion;
use kleber_app::sessions::Session;
use kleber_export::ExportFormat;
use kleber_store::DatasetRecord;
use kleber_types::FieldType;
use kleber_web::pages::{
    DatasetHeader, ExportFormat as ExportLink, ExportPage, Fact, InformationPage, SchemaField, Tab,
    VersionRow, VersionsPage,
};
use kleber_web::url::Query;
use kleber_web::view::{Layout, script_json};
use serde_json::{Value, json};

use super::cards::{format_date, meta_list, meta_text, publisher_link, refine_link};
use super::filters::Filters;
use super::{Framing, PageContext, PageError, V2_1, page};
use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::state::AppState;

/// The tabs, in order.
pub const TABS: &[&str] = &["information", "table", "map", "analyze", "api", "export", "versions"];

/// True when the dataset has a geographic field (it then has a map tab).
pub fn is_geo(record: &DatasetRecord) -> bool {
    record
        .version
        .fields
        .iter()
        .any(|f| matches!(f.field_type, FieldType::GeoPoint2d | FieldType::GeoShape))
}

/// The query pairs a tab keeps when switching to another: the filters and the sort.
pub fn filter_query(query: &Query) -> Query {
    Query::from_pairs(
        query
            .pairs()
            .iter()
            .filter(|(k, _)| k == "q" || k == "sort" || k == "version" || k.starts_with("refine."))
            .cloned()
            .collect(),
    )
}

/// The URL of a tab.
pub fn tab_path(id: &str, tab: &str, embed: bool) -> String {
    if embed {
        format!("/explore/embed/dataset/{id}/{tab}/")
    } else {
        format!("/explore/dataset/{id}/{tab}/")
    }
}

/// The header every tab shows.
pub fn header(record: &DatasetRecord, ctx: &PageContext, current: &str) -> DatasetHeader {
    let t = ctx.lang.messages();
    let kept = filter_query(&ctx.query);
    // Only an earlier version stays in the query ([`render_tab`] drops the current one).
    let old_version = ctx.query.get("version").and_then(|v| v.parse::<i64>().ok());
    let as_of = Query::from_pairs(
        ctx.query.pairs().iter().filter(|(k, _)| k == "version").cloned().collect(),
    );
    let labels = [
        t.tab_information,
        t.tab_table,
        t.tab_map,
        t.tab_analyze,
        t.tab_api,
        t.tab_export,
        t.tab_versions,
    ];
    let geo = is_geo(record);
    let tabs = TABS
        .iter()
        .zip(labels)
        .filter(|(key, _)| **key != "map" || geo)
        .map(|(key, label)| Tab {
            key,
            label,
            href: match *key {
                "versions" => tab_path(&record.id, key, false),
                "information" | "api" => as_of.href(&tab_path(&record.id, key, false)),
                _ => kept.href(&tab_path(&record.id, key, false)),
            },
            current: *key == current,
        })
        .collect();
    DatasetHeader {
        id: record.id.clone(),
        title: record.title.clone(),
        publisher: publisher_link(record),
        modified: format_date(&record.modified, ctx.lang),
        records: t.records(record.version.records_count),
        tabs,
        full_page_href: kept.href(&tab_path(&record.id, current, false)),
        old_version,
        current_href: kept.without(&["version"]).href(&tab_path(&record.id, current, false)),
        follow: ctx.follow.clone(),
    }
}

/// The layout of a dataset tab: title, description, JSON-LD, Open Graph.
pub fn layout(record: &DatasetRecord, ctx: &PageContext, tab: &str, embed: bool) -> Layout {
    let t = ctx.lang.messages();
    let tab_name = match tab {
        "table" => t.tab_table,
        "map" => t.tab_map,
        "analyze" => t.tab_analyze,
        "api" => t.tab_api,
        "export" => t.tab_export,
        "versions" => t.tab_versions,
        _ => t.tab_information,
    };
    let title = if tab == "information" {
        record.title.clone()
    } else {
        format!("{} – {tab_name}", record.title)
    };
    let mut layout = ctx.layout(title, tab_path(&record.id, tab, embed));
    layout.chrome = !embed;
    layout.og_type = "article";
    layout.nav = "catalog";
    if let Some(d) = record.description.as_deref() {
        let text = kleber_web::plain_text(d, 300);
        if !text.is_empty() {
            layout.description = text;
        }
    }
    layout.json_ld = Some(script_json(&json_ld(record, ctx)));
    layout
}

/// The schema.org `Dataset` of a dataset, with a `DataDownload` per export format.
pub fn json_ld(record: &DatasetRecord, ctx: &PageContext) -> Value {
    let url = ctx.url(&format!("/explore/dataset/{}/", record.id));
    let distribution: Vec<Value> = formats(record)
        .into_iter()
        .map(|f| {
            json!({
                "@type": "DataDownload",
                "name": f.name().to_uppercase(),
                "encodingFormat": f.content_type().split(';').next().unwrap_or("").trim(),
                "contentUrl": ctx.url(&format!("{}/catalog/datasets/{}/exports/{}", super::V2_1, record.id, f.name())),
            })
        })
        .collect();
    let mut ld = json!({
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": url,
        "name": record.title,
        "description": record.description.as_deref().map(|d| kleber_web::plain_text(d, 5000)).filter(|d| !d.is_empty()).unwrap_or_else(|| record.title.clone()),
        "url": url,
        "identifier": record.id,
        "keywords": meta_list(record, "keyword"),
        "inLanguage": meta_text(record, "language").unwrap_or("fr"),
        "dateModified": record.modified,
        "isAccessibleForFree": true,
        "variableMeasured": record.version.fields.iter().map(|f| f.label.clone()).collect::<Vec<_>>(),
        "distribution": distribution,
    });
    if let Some(p) = meta_text(record, "publisher") {
        ld["publisher"] = json!({"@type": "Organization", "name": p});
        ld["creator"] = json!({"@type": "Organization", "name": p});
    }
    if let Some(l) = meta_text(record, "license_url").or_else(|| meta_text(record, "license")) {
        ld["license"] = json!(l);
    }
    let themes = meta_list(record, "theme");
    if !themes.is_empty() {
        ld["about"] = json!(themes);
    }
    ld
}

/// The export formats offered for a dataset (geographic ones only when it has a geometry).
pub fn formats(record: &DatasetRecord) -> Vec<ExportFormat> {
    let geo = is_geo(record);
    ExportFormat::ALL.into_iter().filter(|f| geo || !f.needs_geometry()).collect()
}

/// `GET /explore/dataset/{id}/`: the information tab.
pub async fn get_dataset_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
    session: Option<Extension<Session>>,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    render_tab_for(&state, ctx, &id, "information", false, session.map(|s| s.0)).await
}

/// `GET /explore/dataset/{id}/{tab}/`.
pub async fn get_dataset_tab(
    State(state): State<AppState>,
    Path((id, tab)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
    session: Option<Extension<Session>>,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    render_tab_for(&state, ctx, &id, &tab, false, session.map(|s| s.0)).await
}

/// Renders one tab of a dataset, full page or embedded, as a signed-out visitor sees it.
pub async fn render_tab(
    state: &AppState,
    ctx: PageContext,
    id: &str,
    tab: &str,
    embed: bool,
) -> Result<Response, PageError> {
    render_tab_for(state, ctx, id, tab, embed, None).await
}

/// Renders one tab of a dataset; with a `session`, the information tab has the follow button.
async fn render_tab_for(
    state: &AppState,
    ctx: PageContext,
    id: &str,
    tab: &str,
    embed: bool,
    session: Option<Session>,
) -> Result<Response, PageError> {
    if !TABS.contains(&tab) {
        return Err(PageError::not_found(&ctx));
    }
    let mut ctx = ctx;
    // `version=N`: the page shows that version (docs/versions.md); the current one is the
    // page without it.
    let asked = ctx.query.get("version").map(str::to_owned).filter(|_| tab != "versions");
    let version = match &asked {
        Some(number) => state.app.dataset_at(&ctx.request(), id, number).await,
        None => state.app.dataset(&ctx.request(), id).await,
    }
    .map_err(|e| PageError::from_api(&ctx, e))?;
    if (asked.is_some() && !version.is_old()) || tab == "versions" {
        ctx.query = ctx.query.without(&["version"]);
    }
    let record = version.record();
    if tab == "map" && !is_geo(record) {
        return Err(PageError::not_found(&ctx));
    }
    // The follow button (docs/feeds.md#following-a-dataset), in the header of every tab:
    // signed-in users only, who read the dataset since they see its page.
    if let Some(session) = session.filter(|_| !embed) {
        let following = state
            .app
            .follows(&ctx.request(), &record.id)
            .await
            .map_err(|e| PageError::from_api(&ctx, e))?;
        let next = follow_next(&record.id, tab, &ctx.query);
        ctx.follow = Some(kleber_web::notifications::FollowButton::new(
            ctx.lang,
            &record.id,
            following,
            session.csrf_token(),
            next,
        ));
    }
    let ctx = ctx;
    if !embed {
        state.web.count_view(&record.id);
    }
    let framing = if embed { Framing::Anywhere } else { Framing::SameOrigin };
    match tab {
        "table" => super::table::table_tab(state, &ctx, &version, embed).await,
        "map" => super::table::map_tab(state, &ctx, &version, embed).await,
        "analyze" => super::analyze::analyze_tab(state, &ctx, &version, embed).await,
        "api" => {
            let api = super::api_tab::api_page(state, &ctx, &version).await?;
            page(state, &ctx, &api, framing)
        }
        "export" => export_tab(state, &ctx, &version).await,
        "versions" => versions_tab(state, &ctx, &version).await,
        _ => {
            let mut info =
                information(&ctx, record, version.catalog().organization(&record.organization));
            lineage_facts(&ctx, record, &version.catalog(), &mut info.facts);
            // Themes under their labels in the page's language (links keep the id).
            let themes =
                state.app.portal_themes().await.map_err(|e| PageError::from_api(&ctx, e))?;
            for link in &mut info.themes {
                link.label = themes.label(&link.label, ctx.lang.code()).to_owned();
            }
            page(state, &ctx, &info, framing)
        }
    }
}

/// Where the follow form comes back to: the tab shown, with its query (filters, sort, record,
/// version) when the whole address stays short enough for `POST /account/follow/{id}` to
/// accept it; the information tab is the dataset's own address.
fn follow_next(id: &str, tab: &str, query: &Query) -> String {
    let path = if tab == "information" {
        format!("/explore/dataset/{id}/")
    } else {
        tab_path(id, tab, false)
    };
    let full = query.without(&["lang"]).href(&path);
    if full.len() <= 2048 && !full.contains(['\\', '#']) { full } else { path }
}

/// The lineage of a dataset (docs/crossing.md#lineage): the inputs of a derived dataset, and
/// the datasets derived from this one, each linked. Both lists come from the caller's catalog
/// (`derived_from` and `derived_datasets` in the record's metas, already narrowed to the
/// datasets the caller sees).
fn lineage_facts(
    ctx: &PageContext,
    record: &DatasetRecord,
    catalog: &kleber_app::CatalogView,
    facts: &mut Vec<Fact>,
) {
    let (from, derived) = match ctx.lang {
        kleber_web::Lang::Fr => ("Dérivé de", "Jeux de données dérivés de celui-ci"),
        kleber_web::Lang::En => ("Derived from", "Datasets derived from this one"),
    };
    let versions = record.metas.get("derived_from_versions");
    for input in meta_list(record, "derived_from") {
        let Some(found) = catalog.record(&input) else { continue };
        let read = versions.and_then(|v| v.get(&input)).and_then(Value::as_i64);
        let value = match read {
            Some(n) => format!("{} (version {n})", found.title),
            None => found.title.clone(),
        };
        facts.push(Fact { term: from, value, href: Some(format!("/explore/dataset/{input}/")) });
    }
    for other in meta_list(record, "derived_datasets") {
        let Some(found) = catalog.record(&other) else { continue };
        facts.push(Fact {
            term: derived,
            value: found.title.clone(),
            href: Some(format!("/explore/dataset/{other}/")),
        });
    }
}

fn information(
    ctx: &PageContext,
    record: &DatasetRecord,
    organization: Option<&kleber_store::Organization>,
) -> InformationPage {
    let t = ctx.lang.messages();
    let text = |v: Option<&str>| v.map_or_else(|| t.not_set.to_owned(), str::to_owned);
    let license = meta_text(record, "license");
    let mut facts = vec![
        Fact {
            term: t.publisher,
            value: text(meta_text(record, "publisher")),
            href: publisher_link(record).map(|l| l.href),
        },
        Fact {
            term: t.organization_heading,
            value: organization.map_or_else(|| record.organization.clone(), |o| o.name.clone()),
            href: Some(super::organizations::organization_path(&record.organization)),
        },
        Fact {
            term: t.license,
            value: text(license),
            href: meta_text(record, "license_url").map(str::to_owned),
        },
        Fact { term: t.last_update, value: format_date(&record.modified, ctx.lang), href: None },
        Fact {
            term: t.data_processed,
            value: format_date(&record.version.created_at, ctx.lang),
            href: None,
        },
        Fact { term: t.records_count, value: t.number(record.version.records_count), href: None },
        Fact { term: t.identifier, value: record.id.clone(), href: None },
        Fact { term: t.version, value: record.version.number.to_string(), href: None },
        Fact {
            term: t.language_of_data,
            value: meta_text(record, "language").unwrap_or("fr").to_owned(),
            href: None,
        },
    ];
    // A harvested dataset's source (docs/harvest.md#provenance): its page at the source,
    // linked when it is an http(s) URL (checked below), escaped by the template.
    if let Some(h) = record.metas.get("harvest").and_then(Value::as_object) {
        let at = |k: &str| h.get(k).and_then(Value::as_str);
        if let Some(source) = at("source_url").or_else(|| at("source")) {
            facts.push(Fact {
                term: t.harvest_source,
                value: source.to_owned(),
                href: Some(source.to_owned()),
            });
        }
    }
    if record.metas.get("archived").and_then(Value::as_bool) == Some(true) {
        facts.push(Fact { term: t.archived, value: t.archived_value.to_owned(), href: None });
    }
    // A licence URL that is not http(s) is not linked.
    for f in &mut facts {
        if f.href.as_deref().is_some_and(|h| {
            !(h.starts_with("https://") || h.starts_with("http://") || h.starts_with('/'))
        }) {
            f.href = None;
        }
    }
    InformationPage {
        layout: layout(record, ctx, "information", false),
        ds: header(record, ctx, "information"),
        description_html: record
            .description
            .as_deref()
            .map(kleber_web::sanitize_html)
            .unwrap_or_default(),
        facts,
        themes: meta_list(record, "theme").iter().map(|th| refine_link("theme", th)).collect(),
        keywords: meta_list(record, "keyword").iter().map(|k| refine_link("keyword", k)).collect(),
        fields: record
            .version
            .fields
            .iter()
            .map(|f| SchemaField {
                name: f.name.clone(),
                label: super::cells::label(f, ctx.lang),
                field_type: f.field_type.name().to_owned(),
                description: f.description.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

async fn export_tab(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
) -> Result<Response, PageError> {
    let record = version.record();
    let t = ctx.lang.messages();
    let filters = Filters::parse(ctx, &ctx.query, &record.version.fields)?;
    let path = tab_path(&record.id, "export", false);
    let filtered_total = if filters.is_empty() {
        record.version.records_count
    } else {
        super::table::count(state, ctx, version, &filters).await?
    };
    let api_query = Query::from_pairs(filters.api_pairs());
    let base = format!("{V2_1}/catalog/datasets/{}/exports", record.id);
    let as_of = Query::from_pairs(
        filters.version.iter().map(|v| ("version".to_owned(), v.clone())).collect(),
    );
    let formats = formats(record)
        .into_iter()
        .map(|f| ExportLink {
            name: f.name().to_owned(),
            all_href: as_of.href(&format!("{base}/{}", f.name())),
            filtered_href: (!filters.is_empty())
                .then(|| api_query.href(&format!("{base}/{}", f.name()))),
        })
        .collect();
    let fields = &record.version.fields;
    let export = ExportPage {
        layout: layout(record, ctx, "export", false),
        ds: header(record, ctx, "export"),
        active: super::filters::active(
            &ctx.query.without(&["sort"]),
            &path,
            |name| super::cells::label_of(fields, name, ctx.lang),
            |name, value| refined_value_label(fields, name, value, ctx.lang),
        ),
        formats,
        filtered_total: t.records(filtered_total),
        clear_href: path.clone(),
    };
    page(state, ctx, &export, Framing::SameOrigin)
}

/// The versions tab: every version, newest first, with what changed, its table, its CSV and
/// its changes from the previous version (docs/versions.md).
async fn versions_tab(
    state: &AppState,
    ctx: &PageContext,
    version: &DatasetVersion,
) -> Result<Response, PageError> {
    let record = version.record();
    let t = ctx.lang.messages();
    let versions =
        state.app.public_versions(version).await.map_err(|e| PageError::from_api(ctx, e))?;
    let api = format!("{V2_1}/catalog/datasets/{}", record.id);
    let rows = versions
        .iter()
        .map(|v| {
            let mut changes = Vec::new();
            if let Some(s) = v.summary {
                changes.push(format!(
                    "{} {}, {} {}, {} {}",
                    t.number(s.added),
                    t.version_added,
                    t.number(s.removed),
                    t.version_removed,
                    t.number(s.changed),
                    t.version_changed
                ));
            }
            if !v.fields_changed.is_empty() {
                changes.push(format!("{}: {}", t.version_fields, v.fields_changed.join(", ")));
            }
            let as_of = |path: &str| {
                if v.current { path.to_owned() } else { format!("{path}?version={}", v.number) }
            };
            VersionRow {
                number: v.number,
                published: format_date(&v.published_at, ctx.lang),
                records: v.records_count.map(|n| t.records(n)).unwrap_or_default(),
                changes: changes.join(" ; "),
                comment: v.comment.clone().unwrap_or_default(),
                current: v.current,
                pruned: v.pruned,
                view_href: as_of(&tab_path(&record.id, "table", false)),
                download_href: format!("{api}/exports/csv?version={}", v.number),
                diff_href: v
                    .summary
                    .and_then(|s| s.previous)
                    .map(|p| format!("{api}/changes?from={p}&to={}&format=csv", v.number)),
            }
        })
        .collect();
    let versions = VersionsPage {
        layout: layout(record, ctx, "versions", false),
        ds: header(record, ctx, "versions"),
        versions: rows,
    };
    page(state, ctx, &versions, Framing::SameOrigin)
}

/// A refined value of a dataset's field as a filter shows it (a date facet value names its
/// month: `janvier 2025`).
pub(crate) fn refined_value_label(
    fields: &[kleber_types::Field],
    name: &str,
    value: &str,
    lang: kleber_web::Lang,
) -> String {
    let date = fields
        .iter()
        .any(|f| f.name == name && matches!(f.field_type, FieldType::Date | FieldType::Datetime));
    if date { kleber_web::format::date_path(value, lang) } else { value.to_owned() }
}
