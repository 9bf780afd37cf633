//! The back office's harvests pages (docs/harvest.md#from-the-back-office), for portal admins
//! and organizations' admins: `GET /admin/harvests/` lists the harvests the signed-in user
//! manages (a portal admin: all; an organization's admin: those of their organizations)
//! with their last run, and the form creating a CKAN, DCAT-AP or Opendatasoft harvest
//! (`POST /admin/harvests/`); `GET /admin/harvests/{harvest}/` is one harvest's run history;
//! `POST .../run` runs it now and `POST .../delete` deletes it (its datasets stay).
//!
//! Every decision is `kleber_app::harvest`'s, asked as the session's editor: who manages no
//! harvest at all, and a harvest of another organization, get the portal's missing page, as
//! everywhere in the back office. Every form's origin and CSRF token are checked by
//! [`CsrfForm`]; a refused form shows the page again with the reason, changing nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use kleber_app::Error;
use kleber_app::harvest::{HarvestRunView, HarvestSpec, HarvestView};
use kleber_web::admin::Choice;
use kleber_web::harvests::{
    HarvestForm, HarvestMessages, HarvestRow, HarvestRunRow, HarvestRunsPage, HarvestsPage,
};
use serde_json::{Map, Value};

use super::auth::{CsrfForm, redirect};
use super::backoffice::{Failure, Signed, form_refusal, layout, render};
use super::{PageContext, PageError};
use crate::state::AppState;

/// How long "Run now" waits for the run to end before showing its history (the run goes on).
const RUN_WAIT: Duration = Duration::from_secs(20);

/// The pages' routes.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    [
        ("/admin/harvests", get(get_list).post(post_create)),
        ("/admin/harvests/", get(get_list).post(post_create)),
        ("/admin/harvests/{harvest}", get(get_runs)),
        ("/admin/harvests/{harvest}/", get(get_runs)),
        ("/admin/harvests/{harvest}/run", post(post_run)),
        ("/admin/harvests/{harvest}/delete", post(post_delete)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

fn date(ctx: &PageContext, text: &str) -> String {
    kleber_web::format::datetime(text, ctx.lang).unwrap_or_else(|| text.to_owned())
}

fn counts_text(m: &HarvestMessages, counts: Option<&Value>) -> String {
    let Some(c) = counts else { return String::new() };
    let n = |k: &str| c.get(k).and_then(Value::as_u64).unwrap_or(0);
    let keys = ["copied", "unchanged", "removed", "kept", "failed"];
    let mut parts: Vec<String> =
        keys.iter().zip(m.count_words).map(|(k, w)| format!("{w} {}", n(k))).collect();
    let records = format!("{} {}", m.count_words[5], n("records"));
    parts.push(records);
    parts.join(", ")
}

fn run_row(ctx: &PageContext, m: &HarvestMessages, r: &HarvestRunView) -> HarvestRunRow {
    HarvestRunRow {
        started: date(ctx, &r.started_at),
        ended: r.ended_at.as_deref().map(|t| date(ctx, t)).unwrap_or_default(),
        trigger: m.trigger(&r.trigger).to_owned(),
        outcome: r.outcome.clone(),
        outcome_text: m.outcome(&r.outcome).to_owned(),
        counts: counts_text(m, r.counts.as_ref()),
        error: r.error.clone().unwrap_or_default(),
    }
}

/// The organizations' names, by id.
async fn org_names(state: &AppState, signed: &Signed) -> Vec<(String, String)> {
    state.app.harvest_orgs(&signed.editor()).await.unwrap_or_default()
}

fn harvest_row(
    ctx: &PageContext,
    h: &HarvestView,
    orgs: &[(String, String)],
    last: Option<HarvestRunRow>,
) -> HarvestRow {
    let organization = h
        .organization
        .as_ref()
        .map(|o| orgs.iter().find(|(id, _)| id == o).map_or_else(|| o.clone(), |(_, n)| n.clone()))
        .unwrap_or_default();
    HarvestRow {
        name: h.name.clone(),
        kind: h.kind.clone(),
        url: h.url.clone(),
        organization,
        schedule: h.schedule.clone().unwrap_or_default(),
        header_names: h.config.header_names.join(", "),
        next_run: h.next_run.as_deref().map(|t| date(ctx, t)).unwrap_or_default(),
        datasets: h.datasets,
        failing: h.failing,
        last,
    }
}

/// The form as typed (or empty), with its choices.
fn form_of(
    m: &HarvestMessages,
    orgs: &[(String, String)],
    portal_admin: bool,
    typed: Option<&CsrfForm>,
) -> HarvestForm {
    let get = |k: &str| typed.and_then(|f| f.get(k)).unwrap_or_default().to_owned();
    let kind = typed.and_then(|f| f.get("kind")).unwrap_or("ckan").to_owned();
    let mut kinds = vec![("ckan", m.kind_ckan), ("dcat", m.kind_dcat)];
    if portal_admin {
        kinds.push(("ods", m.kind_ods));
    }
    let org = get("organization");
    let mut org_choices = Vec::new();
    if portal_admin {
        org_choices.push(Choice {
            value: String::new(),
            label: m.portal.to_owned(),
            selected: org.is_empty(),
        });
    }
    org_choices.extend(orgs.iter().map(|(id, name)| Choice {
        value: id.clone(),
        label: name.clone(),
        selected: *id == org,
    }));
    HarvestForm {
        kinds: kinds
            .into_iter()
            .map(|(v, l)| Choice { value: v.to_owned(), label: l.to_owned(), selected: v == kind })
            .collect(),
        orgs: org_choices,
        name: get("name"),
        url: get("url"),
        query: get("query"),
        fq: get("fq"),
        ids: get("ids"),
        clear_headers: typed.and_then(|f| f.get("clear_headers")).is_some(),
        overrides: get("overrides"),
        delete_missing: typed.and_then(|f| f.get("delete_missing")).is_some(),
        schedule: get("schedule"),
    }
}

/// The list page, with `notice` (saved) or `error`, and the form as `typed`.
async fn list_page(
    state: &AppState,
    signed: &Signed,
    status: StatusCode,
    saved: Option<String>,
    error: Option<String>,
    typed: Option<&CsrfForm>,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = HarvestMessages::of(ctx.lang);
    let editor = signed.editor();
    let harvests = state.app.harvests(&editor).await.map_err(|e| Failure::from(e).page(ctx))?;
    let orgs = org_names(state, signed).await;
    let mut rows = Vec::new();
    for h in &harvests {
        let last = state
            .app
            .harvest_runs(&editor, &h.name)
            .await
            .ok()
            .and_then(|runs| runs.first().map(|r| run_row(ctx, m, r)));
        rows.push(harvest_row(ctx, h, &orgs, last));
    }
    let portal_admin = kleber_app::policy::may_admin_portal(editor.principal());
    let page = HarvestsPage {
        layout: layout(ctx, m.heading, "/admin/harvests/"),
        m,
        csrf: signed.session.csrf_token(),
        rows,
        form: form_of(m, &orgs, portal_admin, typed),
        saved,
        error,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/harvests/`.
async fn get_list(State(state): State<AppState>, signed: Signed) -> Result<Response, PageError> {
    let m = HarvestMessages::of(signed.ctx.lang);
    let saved = match signed.ctx.query.get("saved") {
        Some("deleted") => Some(m.deleted.to_owned()),
        Some(_) => Some(m.saved.to_owned()),
        None => None,
    };
    list_page(&state, &signed, StatusCode::OK, saved, None, None).await
}

/// Ids typed one per line (or separated by commas).
fn ids_of(text: &str) -> Vec<String> {
    text.split(['\n', ',']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Overrides typed `key=value`, one per line: a value in `[...]` or `{...}` is JSON, an empty
/// one removes the source's value (`null`), any other is text.
fn overrides_of(text: &str) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "metadata overrides, line {}: {line:?} has no '=': write key=value, e.g. publisher=Ville de Strasbourg",
                n + 1
            ));
        };
        let value = value.trim();
        let value = if value.is_empty() {
            Value::Null
        } else if value.starts_with(['[', '{']) {
            serde_json::from_str(value).map_err(|e| {
                format!("metadata overrides, line {}: the value is not JSON: {e}", n + 1)
            })?
        } else {
            Value::String(value.to_owned())
        };
        out.insert(key.trim().to_owned(), value);
    }
    Ok(out)
}

/// Headers typed `Name: value`, one per line; `None` when none is typed (the stored ones
/// are kept).
fn headers_of(text: &str) -> Result<Option<BTreeMap<String, String>>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) = kleber_app::sources::parse_header_arg(line)
            .map_err(|e| format!("headers, line {}: {e}", n + 1))?;
        out.insert(name, value);
    }
    Ok((!out.is_empty()).then_some(out))
}

/// A use case's refusal as the page shows it; the rest fails the page.
fn refusal(ctx: &PageContext, e: Error) -> Result<(StatusCode, String), PageError> {
    match e {
        // A harvest of another organization, or of the portal, is not offered: say why on the
        // form rather than answering the missing page to someone who may manage harvests.
        Error::Forbidden(message) => Ok((StatusCode::FORBIDDEN, message)),
        e => form_refusal(ctx, e),
    }
}

/// `POST /admin/harvests/` (`kind`, `url`, `name`, `organization`, `query`, `fq`, `ids`,
/// `overrides`, `delete_missing`, `schedule`, `headers`, `clear_headers`): creates (or
/// replaces) a harvest. Headers typed replace the stored ones; none typed keeps them, unless
/// `clear_headers` is ticked. Their values are never shown back (the form comes back empty).
async fn post_create(
    State(state): State<AppState>,
    signed: Signed,
    form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    // Who manages no harvest gets the missing page before anything is read.
    state.app.harvests(&signed.editor()).await.map_err(|e| Failure::from(e).page(ctx))?;
    let text = |k: &str| form.get(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let parsed = overrides_of(form.get("overrides").unwrap_or_default()).and_then(|o| {
        let headers = if form.get("clear_headers").is_some() {
            Some(BTreeMap::new())
        } else {
            headers_of(form.get("headers").unwrap_or_default())?
        };
        Ok((o, headers))
    });
    let (overrides, headers) = match parsed {
        Ok(o) => o,
        Err(message) => {
            return list_page(
                &state,
                &signed,
                StatusCode::BAD_REQUEST,
                None,
                Some(message),
                Some(&form),
            )
            .await;
        }
    };
    let spec = HarvestSpec {
        name: text("name"),
        kind: form.get("kind").unwrap_or_default().to_owned(),
        url: form.get("url").unwrap_or_default().to_owned(),
        query: text("query"),
        fq: text("fq"),
        ids: ids_of(form.get("ids").unwrap_or_default()),
        overrides,
        delete_missing: form.get("delete_missing").is_some(),
        schedule: text("schedule"),
        organization: text("organization"),
        headers,
        apikey: None,
    };
    match state.app.set_harvest(&signed.editor(), spec).await {
        Ok(_) => Ok(redirect("/admin/harvests/?saved=1")),
        Err(e) => {
            let (status, message) = refusal(ctx, e)?;
            list_page(&state, &signed, status, None, Some(message), Some(&form)).await
        }
    }
}

/// `GET /admin/harvests/{harvest}/`: the harvest and its runs.
async fn get_runs(
    State(state): State<AppState>,
    signed: Signed,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = HarvestMessages::of(ctx.lang);
    let editor = signed.editor();
    let not_found = |e: Error| match e {
        Error::NotFound(_) => PageError::not_found(ctx),
        e => Failure::from(e).page(ctx),
    };
    let harvest = state.app.harvest(&editor, &name).await.map_err(not_found)?;
    let runs = state.app.harvest_runs(&editor, &name).await.map_err(not_found)?;
    let orgs = org_names(&state, &signed).await;
    let rows: Vec<HarvestRunRow> = runs.iter().map(|r| run_row(ctx, m, r)).collect();
    let page = HarvestRunsPage {
        layout: layout(ctx, &format!("{} – {}", m.heading, harvest.name), "/admin/harvests/"),
        m,
        csrf: signed.session.csrf_token(),
        harvest: harvest_row(ctx, &harvest, &orgs, rows.first().cloned()),
        runs: rows,
    };
    render(&state, ctx, StatusCode::OK, &page)
}

/// `POST /admin/harvests/{harvest}/run`: runs it now; the list with the run's outcome when
/// it ends within [`RUN_WAIT`], else its history (the run goes on and shows as `running`).
async fn post_run(
    State(state): State<AppState>,
    signed: Signed,
    Path(name): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = HarvestMessages::of(ctx.lang);
    let editor = signed.editor();
    // Not managed (or unknown): the missing page, before anything runs.
    state.app.harvest(&editor, &name).await.map_err(|e| match e {
        Error::NotFound(_) => PageError::not_found(ctx),
        e => Failure::from(e).page(ctx),
    })?;
    let (app, n) = (state.app.clone(), name.clone());
    let run = tokio::spawn(async move { app.run_harvest(&editor, &n).await });
    match tokio::time::timeout(RUN_WAIT, run).await {
        Err(_) => Ok(redirect(&format!("/admin/harvests/{name}/"))),
        Ok(Err(join)) => Err(PageError::internal(ctx, join)),
        Ok(Ok(Ok((view, _report)))) => {
            let saved = format!(
                "{} {name}: {} ({})",
                m.ran,
                m.outcome(&view.outcome),
                counts_text(m, view.counts.as_ref())
            );
            list_page(&state, &signed, StatusCode::OK, Some(saved), view.error, None).await
        }
        Ok(Ok(Err(e))) => {
            let (status, message) = refusal(ctx, e)?;
            list_page(&state, &signed, status, None, Some(format!("{name}: {message}")), None).await
        }
    }
}

/// `POST /admin/harvests/{harvest}/delete`: deletes it (its datasets stay).
async fn post_delete(
    State(state): State<AppState>,
    signed: Signed,
    Path(name): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    match state.app.delete_harvest(&signed.editor(), &name).await {
        Ok(()) => Ok(redirect("/admin/harvests/?saved=deleted")),
        Err(Error::NotFound(_)) => Err(PageError::not_found(ctx)),
        Err(e) => Err(Failure::from(e).page(ctx)),
    }
}
