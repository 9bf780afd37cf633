//! The remote-source panel of a dataset's edit page, for the back office to include
//! (docs/sources.md): [`source_panel`] renders `kleber_web::sources::SourcePanel` from the
//! application layer's source, refresh state and runs, asked as the page's editor (who may
//! not manage the dataset is refused by `kleber_app::manage`, as everywhere). Not routed on
//! its own: the edit page calls it and embeds the fragment.

use kleber_app::App;
use kleber_app::manage::Editor;
use kleber_web::Lang;
use kleber_web::sources::{RunRow, SourceMessages, SourcePanel};

/// Runs shown on the panel.
pub const PANEL_RUNS: usize = 20;

/// The panel of dataset `id` for `editor` in `lang`, or `None` when the dataset has no
/// source.
pub async fn source_panel(
    app: &App,
    editor: &Editor,
    id: &str,
    lang: Lang,
) -> Result<Option<String>, kleber_app::Error> {
    let Some(view) = app.source(editor, id).await? else {
        return Ok(None);
    };
    let runs = app.source_runs(editor, id, PANEL_RUNS).await?;
    let text = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    let panel = SourcePanel {
        m: SourceMessages::of(lang),
        urls: view.urls,
        header_names: view.header_names,
        schedule: view.schedule,
        timezone: view.timezone,
        next_run: view.next_run,
        failing: view.failing,
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
    panel.html().map(Some).map_err(kleber_app::Error::internal)
}
