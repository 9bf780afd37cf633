//! The remote-source panel of a dataset's edit page and its forms
//! (docs/sources.md#from-the-back-office): [`source_panel`] renders
//! `kleber_web::sources::SourcePanel` from the application layer's source and runs, asked as
//! the page's editor, with the forms: `POST /admin/datasets/{id}/source/save` sets or replaces
//! the source (URLs one a line, headers `Name: value` one a line, the schedule, the unique-id
//! fields; an empty headers field keeps the stored headers, `remove_headers` clears them, as
//! the management API's omitted or empty `headers`), `.../source/run` runs it now,
//! `.../source/clear` removes it; `GET /admin/datasets/{id}/source` is the panel on a page of
//! its own, which also says why a form was refused (nothing is then changed). Every form's
//! origin and CSRF token are checked by [`CsrfForm`]; every use case is `kleber_app`'s (the
//! management API's), asked as the session's editor, so who may not manage the dataset gets
//! the missing page.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use kleber_app::App;
use kleber_app::manage::Editor;
use kleber_app::sources::{SourceSpec, check_header};
use kleber_web::Lang;
use kleber_web::sources::{RunRow, SourceForm, SourceMessages, SourcePage, SourcePanel};

use super::PageError;
use super::auth::{CsrfForm, redirect};
use super::backoffice::{Failure, Signed, form_refusal, layout, managed, render};
use crate::state::AppState;

/// Runs shown on the panel.
pub const PANEL_RUNS: usize = 20;

/// The panel's routes.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    [
        ("/admin/datasets/{id}/source", get(get_page)),
        ("/admin/datasets/{id}/source/save", post(post_save)),
        ("/admin/datasets/{id}/source/run", post(post_run)),
        ("/admin/datasets/{id}/source/clear", post(post_clear)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

/// The panel of dataset `id` for `editor` in `lang`, with its forms (holding `typed` when
/// given, else the stored source).
pub async fn source_panel(
    app: &App,
    editor: &Editor,
    id: &str,
    lang: Lang,
    csrf: String,
    typed: Option<SourceForm>,
) -> Result<String, kleber_app::Error> {
    let view = app.source(editor, id).await?;
    let runs = match view {
        Some(_) => app.source_runs(editor, id, PANEL_RUNS).await?,
        None => Vec::new(),
    };
    let text = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let stored_form = view.as_ref().map(|v| SourceForm {
        urls: v.urls.join("\n"),
        schedule: v.schedule.clone().unwrap_or_default(),
        unique_id: v.unique_id.join(", "),
    });
    let timezone = app.source_settings().timezone.name().to_owned();
    let panel = SourcePanel {
        m: SourceMessages::of(lang),
        dataset: id.to_owned(),
        csrf,
        stored: view.is_some(),
        form: typed.or(stored_form).unwrap_or_default(),
        urls: view.as_ref().map(|v| v.urls.clone()).unwrap_or_default(),
        header_names: view.as_ref().map(|v| v.header_names.clone()).unwrap_or_default(),
        schedule: view.as_ref().and_then(|v| v.schedule.clone()),
        timezone: view.as_ref().map_or(timezone, |v| v.timezone.clone()),
        next_run: view.as_ref().and_then(|v| v.next_run.clone()),
        failing: view.as_ref().is_some_and(|v| v.failing),
        runs: runs
            .into_iter()
            .map(|r| RunRow {
                started_at: r.started_at,
                trigger: r.trigger,
                outcome: r.outcome,
                records: text(r.records),
                rejected: text(r.rejected),
                version: text(r.version),
                error: r.error.unwrap_or_default(),
            })
            .collect(),
    };
    panel.html().map_err(kleber_app::Error::internal)
}

/// The source page of dataset `id`: the panel (its fields holding `typed`), and `error`.
async fn page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    status: StatusCode,
    typed: Option<SourceForm>,
    error: Option<String>,
    save_refused: bool,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = SourceMessages::of(ctx.lang);
    let d = managed(state, signed, id).await?;
    let panel = source_panel(
        &state.app,
        &signed.editor(),
        id,
        ctx.lang,
        signed.session.csrf_token(),
        typed,
    )
    .await
    .map_err(|e| Failure::from(e).page(ctx))?;
    let title = format!("{} – {}", m.heading, d.title);
    let page = SourcePage {
        layout: layout(ctx, &title, &format!("/admin/datasets/{id}/source")),
        m,
        dataset: d.id,
        title,
        panel,
        error,
        save_refused,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/datasets/{id}/source`.
async fn get_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page(&state, &signed, &id, StatusCode::OK, None, None, false).await
}

/// The headers typed, one `Name: value` a line (blank lines skipped), or why a line is not
/// one.
fn typed_headers(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut headers = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "headers, line {}: expected 'Name: value' (e.g. 'Authorization: Bearer abc'), found no ':'",
                n + 1
            ));
        };
        let (name, value) = (name.trim(), value.trim());
        check_header(name, value).map_err(|e| format!("headers, line {}: {e}", n + 1))?;
        headers.insert(name.to_owned(), value.to_owned());
    }
    Ok(headers)
}

/// The source the form asks for, or why it cannot be one. The size and time limits are the
/// stored source's when it has its own (the form does not show them).
async fn spec_of(
    state: &AppState,
    signed: &Signed,
    id: &str,
    form: &CsrfForm,
) -> Result<Result<SourceSpec, String>, PageError> {
    let urls: Vec<String> = form
        .get("urls")
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let headers_text = form.get("headers").unwrap_or_default();
    let headers = if form.get("remove_headers").is_some() {
        if !headers_text.trim().is_empty() {
            return Ok(Err("give new headers or remove the stored ones, not both: empty the headers field or untick \"remove the stored headers\"".to_owned()));
        }
        Some(BTreeMap::new())
    } else if headers_text.trim().is_empty() {
        None
    } else {
        match typed_headers(headers_text) {
            Ok(h) => Some(h),
            Err(e) => return Ok(Err(e)),
        }
    };
    let schedule = Some(form.get("schedule").unwrap_or_default().trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let unique_id = form
        .get("unique_id")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let stored = match state.app.source(&signed.editor(), id).await {
        Ok(v) => v,
        Err(e) => return Ok(Err(form_refusal(&signed.ctx, e)?.1)),
    };
    let settings = state.app.source_settings();
    let (default_mb, default_secs) =
        (settings.limits.max_bytes >> 20, settings.limits.timeout.as_secs());
    let max_mb = stored.as_ref().map(|v| v.max_mb).filter(|&n| n != default_mb);
    let timeout_secs = stored.as_ref().map(|v| v.timeout_secs).filter(|&n| n != default_secs);
    Ok(Ok(SourceSpec { urls, headers, schedule, unique_id, max_mb, timeout_secs }))
}

/// `POST /admin/datasets/{id}/source/save` (`urls`, `headers`, `remove_headers`, `schedule`,
/// `unique_id`): sets the source; back to the edit page, or this page with why it was
/// refused (the stored source kept).
async fn post_save(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    let typed = SourceForm {
        urls: form.get("urls").unwrap_or_default().to_owned(),
        schedule: form.get("schedule").unwrap_or_default().to_owned(),
        unique_id: form.get("unique_id").unwrap_or_default().to_owned(),
    };
    let (status, message) = match spec_of(&state, &signed, &id, &form).await? {
        Err(message) => (StatusCode::BAD_REQUEST, message),
        Ok(spec) => match state.app.set_source(&signed.editor(), &id, spec).await {
            Ok(_) => return Ok(redirect(&format!("/admin/datasets/{id}/?saved=1#source-runs"))),
            Err(e) => form_refusal(&signed.ctx, e)?,
        },
    };
    page(&state, &signed, &id, status, Some(typed), Some(message), true).await
}

/// `POST /admin/datasets/{id}/source/run`: runs the source now; back to the edit page, whose
/// runs show how it ended (a failed run too), or this page with why it could not start.
async fn post_run(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    match state.app.run_source(&signed.editor(), &id).await {
        Ok(_) => Ok(redirect(&format!("/admin/datasets/{id}/#source-runs"))),
        Err(e) => {
            let (status, message) = form_refusal(&signed.ctx, e)?;
            page(&state, &signed, &id, status, None, Some(message), false).await
        }
    }
}

/// `POST /admin/datasets/{id}/source/clear`: removes the source and its runs.
async fn post_clear(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    match state.app.clear_source(&signed.editor(), &id).await {
        Ok(_) => Ok(redirect(&format!("/admin/datasets/{id}/?saved=1#source-runs"))),
        Err(e) => {
            let (status, message) = form_refusal(&signed.ctx, e)?;
            page(&state, &signed, &id, status, None, Some(message), false).await
        }
    }
}
