//! The derivation panel of a derived dataset's edit page (docs/crossing.md): its query, its
//! inputs with the versions its current version read, the inputs restricting who may read it,
//! and the last failure. Rendered by the server's `web/derive_panel.rs`, embedded by the edit
//! page.

use askama::Template;

use crate::Lang;

/// Messages of the panel.
#[derive(Debug)]
pub struct DeriveMessages {
    /// Heading.
    pub heading: &'static str,
    /// What a derived dataset is.
    pub intro: &'static str,
    /// The last recomputation failed.
    pub failing: &'static str,
    /// Caption of the inputs.
    pub inputs: &'static str,
    /// Column: dataset.
    pub dataset: &'static str,
    /// Column: version read.
    pub version: &'static str,
    /// Readers are bounded by these inputs.
    pub restricted: &'static str,
    /// Who allowed wider reading.
    pub allowed: &'static str,
}

const FR: DeriveMessages = DeriveMessages {
    heading: "Jeu dérivé",
    intro: "Ce jeu est calculé par la requête ci-dessous et recalculé quand un de ses jeux sources publie une nouvelle version.",
    failing: "Le dernier recalcul a échoué : la version publiée reste la dernière bonne.",
    inputs: "Jeux sources et versions lues",
    dataset: "Jeu",
    version: "Version",
    restricted: "Lisible seulement par qui lit aussi :",
    allowed: "élargi par",
};

const EN: DeriveMessages = DeriveMessages {
    heading: "Derived dataset",
    intro: "This dataset is computed by the query below and recomputed when one of its inputs publishes a new version.",
    failing: "The last recomputation failed: the published version is still the last good one.",
    inputs: "Inputs and versions read",
    dataset: "Dataset",
    version: "Version",
    restricted: "Readable only by those who also read:",
    allowed: "widened by",
};

impl DeriveMessages {
    /// The messages in `lang`.
    pub fn of(lang: Lang) -> &'static DeriveMessages {
        match lang {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }
}

/// The panel.
#[derive(Debug, Template)]
#[template(path = "_derive_panel.html")]
pub struct DerivePanel {
    /// Messages.
    pub m: &'static DeriveMessages,
    /// The SQL query.
    pub query: String,
    /// Inputs, with the version read (empty when unknown).
    pub inputs: Vec<(String, String)>,
    /// Inputs restricting who may read it.
    pub restricted_by: Vec<String>,
    /// Who allowed wider reading.
    pub allowed_by: Option<String>,
    /// Why the last recomputation failed.
    pub last_error: Option<String>,
    /// When.
    pub last_error_at: Option<String>,
}

impl DerivePanel {
    /// The panel's HTML fragment.
    pub fn html(&self) -> askama::Result<String> {
        self.render()
    }
}
