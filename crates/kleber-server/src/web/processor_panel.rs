//! The processors panel of a dataset's edit page and its forms (docs/sources.md#processors):
//! [`processor_panel`] renders the panel the edit page embeds (the stored pipeline as JSON in
//! a textarea, the kinds of steps, an example); `POST /admin/datasets/{id}/processors/preview`
//! shows the first rows before and after the typed pipeline and the fields it adds and
//! removes (changing nothing), `.../save` stores it (a refused pipeline keeps the old one and
//! the page says why), `.../clear` removes it; `GET /admin/datasets/{id}/processors` is the
//! panel on a page of its own. Every form's origin and CSRF token are checked by
//! [`CsrfForm`]; every use case is `kleber_app`'s, asked as the session's editor, so who may
//! not edit the dataset gets the missing page, as on the rest of the back office.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use kleber_app::App;
use kleber_app::manage::Editor;
use kleber_app::processors::{Pipeline, Preview, PreviewBase};
use kleber_types::Field;
use kleber_web::Lang;
use kleber_web::processors::{PreviewView, ProcessorMessages, ProcessorPage, ProcessorPanel};
use serde_json::Value;

use super::PageError;
use super::auth::{CsrfForm, redirect};
use super::backoffice::{Failure, Signed, form_refusal, layout, managed, render};
use crate::state::AppState;

/// The panel's routes.
pub fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    [
        ("/admin/datasets/{id}/processors", get(get_page)),
        ("/admin/datasets/{id}/processors/preview", post(post_preview)),
        ("/admin/datasets/{id}/processors/save", post(post_save)),
        ("/admin/datasets/{id}/processors/clear", post(post_clear)),
    ]
    .into_iter()
    .map(|(path, handler)| (path.to_owned(), handler))
    .collect()
}

/// The pipeline as the textarea shows it: pretty JSON, one step a line.
fn pipeline_text(pipeline: &Pipeline) -> String {
    let steps: Vec<String> = pipeline
        .steps
        .iter()
        .map(|s| format!("    {}", serde_json::to_string(s).unwrap_or_default()))
        .collect();
    if steps.is_empty() {
        return format!("{{\"version\": {}, \"steps\": []}}", pipeline.version);
    }
    format!("{{\"version\": {}, \"steps\": [\n{}\n]}}", pipeline.version, steps.join(",\n"))
}

/// The panel of dataset `id` for `editor` in `lang`, its textarea holding `typed` when given
/// (else the stored pipeline).
pub async fn processor_panel(
    app: &App,
    editor: &Editor,
    id: &str,
    lang: Lang,
    csrf: String,
    typed: Option<String>,
) -> Result<String, kleber_app::Error> {
    let stored = app.processors(editor, id).await?;
    let panel = ProcessorPanel {
        m: ProcessorMessages::of(lang),
        dataset: id.to_owned(),
        csrf,
        text: typed.unwrap_or_else(|| stored.as_ref().map(pipeline_text).unwrap_or_default()),
        steps: stored
            .as_ref()
            .map(|p| {
                p.steps
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("{}. {}", i + 1, s.summary()))
                    .collect()
            })
            .unwrap_or_default(),
        stored: stored.is_some(),
    };
    panel.html().map_err(kleber_app::Error::internal)
}

fn field_names(fields: &[Field]) -> Vec<String> {
    fields.iter().map(|f| f.name.clone()).collect()
}

fn preview_view(p: Preview) -> PreviewView {
    let cells = |rows: Vec<Vec<Option<String>>>| -> Vec<Vec<String>> {
        rows.into_iter().map(|r| r.into_iter().map(Option::unwrap_or_default).collect()).collect()
    };
    let added = p
        .fields_after
        .iter()
        .filter(|f| !p.fields_before.iter().any(|b| b.name == f.name))
        .map(|f| format!("{} ({})", f.name, f.field_type))
        .collect();
    let removed = p
        .fields_before
        .iter()
        .filter(|f| !p.fields_after.iter().any(|a| a.name == f.name))
        .map(|f| f.name.clone())
        .collect();
    PreviewView {
        on_source_file: p.base == PreviewBase::SourceFile,
        columns_before: field_names(&p.fields_before),
        columns_after: field_names(&p.fields_after),
        rows_before: cells(p.rows_before),
        rows_after: cells(p.rows_after),
        added,
        removed,
    }
}

/// What the page shows besides the panel.
#[derive(Default)]
struct Outcome {
    preview: Option<PreviewView>,
    error: Option<String>,
    save_refused: bool,
}

/// The processors page of dataset `id`, with `typed` in the textarea and `outcome`.
async fn page(
    state: &AppState,
    signed: &Signed,
    id: &str,
    status: StatusCode,
    typed: Option<String>,
    outcome: Outcome,
) -> Result<Response, PageError> {
    let ctx = &signed.ctx;
    let m = ProcessorMessages::of(ctx.lang);
    let d = managed(state, signed, id).await?;
    let panel = processor_panel(
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
    let page = ProcessorPage {
        layout: layout(ctx, &title, &format!("/admin/datasets/{id}/processors")),
        m,
        dataset: d.id,
        title,
        panel,
        preview: outcome.preview,
        error: outcome.error,
        save_refused: outcome.save_refused,
    };
    render(state, ctx, status, &page)
}

/// `GET /admin/datasets/{id}/processors`.
async fn get_page(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    page(&state, &signed, &id, StatusCode::OK, None, Outcome::default()).await
}

/// The typed pipeline: its text, and its JSON or why it is not JSON.
fn typed(form: &CsrfForm) -> (String, Result<Value, String>) {
    let text = form.get("pipeline").unwrap_or_default().to_owned();
    let json = if text.trim().is_empty() {
        Err("the pipeline is empty: write {\"version\": 1, \"steps\": [...]} (see the example), or use Clear".to_owned())
    } else {
        serde_json::from_str(&text).map_err(|e| format!("the pipeline is not JSON: {e}"))
    };
    (text, json)
}

/// `POST /admin/datasets/{id}/processors/preview` (`pipeline`): the first rows before and
/// after it; nothing is stored.
async fn post_preview(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    let (text, json) = typed(&form);
    let answer = match json {
        Err(message) => Err((StatusCode::BAD_REQUEST, message)),
        Ok(json) => {
            match state.app.preview_processors(&signed.editor(), &id, Some(json), None).await {
                Ok(p) => Ok(p),
                Err(e) => Err(form_refusal(&signed.ctx, e)?),
            }
        }
    };
    let (status, outcome) = match answer {
        Ok(p) => (StatusCode::OK, Outcome { preview: Some(preview_view(p)), ..Outcome::default() }),
        Err((status, message)) => (status, Outcome { error: Some(message), ..Outcome::default() }),
    };
    page(&state, &signed, &id, status, Some(text), outcome).await
}

/// `POST /admin/datasets/{id}/processors/save` (`pipeline`): stores it, checked against the
/// dataset's fields; back to the edit page, or this page with why it was refused.
async fn post_save(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    let (text, json) = typed(&form);
    let refused = match json {
        Err(message) => (StatusCode::BAD_REQUEST, message),
        Ok(json) => match state.app.set_processors(&signed.editor(), &id, json).await {
            Ok(_) => return Ok(redirect(&format!("/admin/datasets/{id}/?saved=1#processors"))),
            Err(e) => form_refusal(&signed.ctx, e)?,
        },
    };
    let (status, message) = refused;
    let outcome = Outcome { error: Some(message), save_refused: true, ..Outcome::default() };
    page(&state, &signed, &id, status, Some(text), outcome).await
}

/// `POST /admin/datasets/{id}/processors/clear`: removes the pipeline.
async fn post_clear(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
    _form: CsrfForm,
) -> Result<Response, PageError> {
    managed(&state, &signed, &id).await?;
    match state.app.clear_processors(&signed.editor(), &id).await {
        Ok(_) => Ok(redirect(&format!("/admin/datasets/{id}/?saved=1#processors"))),
        Err(e) => {
            let (status, message) = form_refusal(&signed.ctx, e)?;
            let outcome = Outcome { error: Some(message), ..Outcome::default() };
            page(&state, &signed, &id, status, None, outcome).await
        }
    }
}
