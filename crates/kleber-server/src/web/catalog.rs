//! `/explore/`: the catalog, searched and refined through the same catalog table and search
//! index as `/api/explore/v2.1/catalog/datasets`.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use kleber_query::facets::FacetValue;
use kleber_store::DatasetRecord;
use kleber_web::Lang;
use kleber_web::pages::CatalogPage;
use kleber_web::view::{Hidden, Pagination, SelectOption};

use super::filters::{self, Filters};
use super::{Framing, PageContext, PageError, page};
use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::state::AppState;

/// Datasets per page.
pub const PAGE_SIZE: usize = 20;
/// The catalog facets shown, in order.
pub const FACETS: &[&str] =
    &["theme", "keyword", "organization", "publisher", "license", "features", "modified"];
/// Sort choices: (value of `sort`, ODSQL `order_by`).
const SORTS: &[(&str, &str)] = &[
    ("", ""),
    ("title", "title asc"),
    ("-modified", "modified desc"),
    ("-records_count", "records_count desc"),
];

/// The title of a catalog facet.
pub fn facet_title(name: &str, lang: Lang) -> String {
    let t = lang.messages();
    match name {
        "theme" => t.facet_theme,
        "keyword" => t.facet_keyword,
        "organization" => t.organization_heading,
        "publisher" => t.facet_publisher,
        "license" => t.facet_license,
        "features" => t.facet_features,
        "modified" => t.facet_modified,
        other => other,
    }
    .to_owned()
}

/// The label of a catalog facet value (feature names are translated, months named).
pub fn facet_label(name: &str, value: &FacetValue, lang: Lang) -> String {
    refined_label(name, &value.value, lang).unwrap_or_else(|| value.name.clone())
}

/// The label of a refined value of a catalog facet, when it differs from the value.
fn refined_label(name: &str, value: &str, lang: Lang) -> Option<String> {
    let t = lang.messages();
    match (name, value) {
        ("features", "geo") => Some(t.feature_geo.to_owned()),
        ("features", "analyze") => Some(t.feature_analyze.to_owned()),
        ("features", "timeserie") => Some(t.feature_timeserie.to_owned()),
        ("modified", v) => Some(kleber_web::format::date_path(v, lang)),
        _ => None,
    }
}

/// The page number of `page=` (from 1) or `start=` (an offset), checked.
pub fn page_number(ctx: &PageContext, page_size: usize) -> Result<u64, PageError> {
    let bad = |name: &str, v: &str| {
        PageError::bad_request(
            ctx,
            format!("Invalid {name}: {v:?}; a positive whole number is expected."),
        )
    };
    if let Some(v) = ctx.query.get("page") {
        return match v.trim().parse::<u64>() {
            Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
            _ => Err(bad("page", v)),
        };
    }
    if let Some(v) = ctx.query.get("start") {
        return match v.trim().parse::<u64>() {
            Ok(n) if n <= 1_000_000_000 => Ok(n / page_size as u64 + 1),
            _ => Err(bad("start", v)),
        };
    }
    Ok(1)
}

/// `GET /explore/`.
pub async fn get_catalog(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    let t = ctx.lang.messages();
    let api = |e: kleber_app::Error| PageError::from_api(&ctx, e);
    let fields = kleber_query::catalog::catalog_fields();
    let filters = Filters::parse(&ctx, &ctx.query, &fields)?;
    let sort = ctx.query.get("sort").unwrap_or("");
    let Some((_, order_by)) = SORTS.iter().find(|(value, _)| *value == sort) else {
        return Err(PageError::bad_request(&ctx, format!("Unknown sort: {sort:?}.")));
    };
    let number = page_number(&ctx, PAGE_SIZE)?;

    let app_ctx = ctx.request();
    let snapshot = state.app.catalog(&app_ctx).await.map_err(api)?;
    let mut query = filters.records_query();
    query.order_by = (!order_by.is_empty()).then(|| (*order_by).to_owned());
    // The catalog only changes with its generation, and each audience sees its own part of
    // it: searches and facets are cached by both (the view's stamp).
    let key = super::cache::key(
        &snapshot.stamp(),
        0,
        &[&super::cache::list(&query.r#where), &super::cache::list(&query.refine), order_by],
    );
    let cached = match state.web.catalog.get(&key) {
        Some(found) => found,
        None => {
            let ids = state.app.catalog_ids(&app_ctx, &snapshot, &query).await.map_err(api)?;
            let requests = filters::requests(FACETS.iter().map(|s| {
                let limit = if *s == "modified" { filters::DATE_FACET_LIMIT } else { 12 };
                ((*s).to_owned(), limit)
            }));
            let groups =
                state.app.facets(&app_ctx, &snapshot, &query, &requests).await.map_err(api)?;
            state.web.catalog.put(key, (ids, groups))
        }
    };
    let (ids, groups) = (&cached.0, &cached.1);
    let total = ids.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1) as u64;
    let number = number.min(pages);
    let by_id: HashMap<&str, &DatasetRecord> =
        snapshot.records().iter().map(|r| (r.id.as_str(), r)).collect();
    let cards = ids
        .iter()
        .skip((number as usize - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .filter_map(|id| by_id.get(id.as_str()))
        .map(|r| super::cards::card(r, ctx.lang))
        .collect::<Vec<_>>();
    let lang = ctx.lang;
    // Themes are faceted by identifier and shown by their label in the page's language.
    let portal_themes = state.app.portal_themes().await.map_err(api)?;
    let cards = super::portal_admin::label_card_themes(cards, &portal_themes, lang);
    let theme_name =
        |n: &str, v: &str| (n == "theme").then(|| portal_themes.label(v, lang.code()).to_owned());
    // Organizations are faceted by identifier and shown by name.
    let org_name = |n: &str, v: &str| {
        (n == "organization").then(|| snapshot.organization(v).map(|o| o.name.clone())).flatten()
    };
    let facets = filters::blocks(
        groups,
        &ctx.query,
        "/explore/",
        lang,
        |n| facet_title(n, lang),
        |n, v| {
            org_name(n, &v.value)
                .or_else(|| theme_name(n, &v.value))
                .unwrap_or_else(|| facet_label(n, v, lang))
        },
    );
    let active = filters::active(
        &ctx.query,
        "/explore/",
        |n| facet_title(n, lang),
        |n, v| {
            org_name(n, v)
                .or_else(|| theme_name(n, v))
                .or_else(|| refined_label(n, v, lang))
                .unwrap_or_else(|| v.to_owned())
        },
    );
    let base = ctx.query.without(&["page", "start", "lang"]);
    let pagination = Pagination::new(number, pages, |p| {
        if p == 1 {
            base.href("/explore/")
        } else {
            base.set("page", &p.to_string()).href("/explore/")
        }
    });
    let sort_labels = [t.sort_relevance, t.sort_title, t.sort_modified, t.sort_records];
    let sorts = SORTS
        .iter()
        .zip(sort_labels)
        .map(|((value, _), label)| SelectOption {
            value: (*value).to_owned(),
            label: label.to_owned(),
            selected: *value == sort,
        })
        .collect();
    let title = match &filters.q {
        Some(q) => format!("{} – « {q} »", t.catalog_heading),
        None => t.catalog_heading.to_owned(),
    };
    let mut layout = ctx.layout(title, "/explore/");
    layout.nav = "catalog";
    let catalog = CatalogPage {
        layout,
        q: filters.q.clone().unwrap_or_default(),
        sorts,
        hidden: Hidden::keep(&ctx.query, &["q", "sort", "page", "start", "lang"]),
        total: t.datasets(total as i64),
        cards,
        facets,
        active,
        clear_href: "/explore/".to_owned(),
        pagination,
    };
    page(&state, &ctx, &catalog, Framing::SameOrigin)
}
