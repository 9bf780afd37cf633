//! The derivation panel of a derived dataset's edit page (docs/crossing.md): renders
//! `kleber_web::derive::DerivePanel` from the application layer's derivation, asked with the
//! page's principal. Not routed on its own: the edit page embeds the fragment.

use kleber_app::App;
use kleber_app::manage::Editor;
use kleber_web::Lang;
use kleber_web::derive::{DeriveMessages, DerivePanel};

/// The panel of dataset `id` as `editor` sees it, or `None` when it is not derived (or not
/// readable by `editor`).
pub async fn derive_panel(
    app: &App,
    editor: &Editor,
    id: &str,
    lang: Lang,
) -> Result<Option<String>, kleber_app::Error> {
    let info = match app.derivation(editor, id).await {
        Ok(Some(info)) => info,
        Ok(None) | Err(kleber_app::Error::DatasetNotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let panel = DerivePanel {
        m: DeriveMessages::of(lang),
        inputs: info
            .inputs
            .iter()
            .map(|i| {
                let version = info.input_versions.get(i).map(ToString::to_string);
                (i.clone(), version.unwrap_or_default())
            })
            .collect(),
        query: info.query,
        restricted_by: info.restricted_by,
        allowed_by: info.allowed_by,
        last_error: info.last_error,
        last_error_at: info.last_error_at,
    };
    panel.html().map(Some).map_err(kleber_app::Error::internal)
}
