//! The derivation panel of a derived dataset's edit page (docs/crossing.md): its query in a
//! form that redefines it, "Recompute now" and "Remove the definition", its inputs with the
//! versions its current version read, the inputs restricting who may read it, and the last
//! failure. Rendered by the server's `web/derive_panel.rs`, embedded by the edit page; the
//! same panel on a page of its own ([`DerivePage`], `bo_derivation.html`) says why a form was
//! refused; [`NewDerivedPage`] (`bo_new_derived.html`) defines a new derived dataset.

use askama::Template;

use crate::Lang;
use crate::admin::Choice;
use crate::view::Layout;

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
    /// The textarea's label.
    pub query_label: &'static str,
    /// Save the query.
    pub save: &'static str,
    /// Recompute now.
    pub refresh: &'static str,
    /// Remove the definition.
    pub clear: &'static str,
    /// What removing does.
    pub clear_hint: &'static str,
    /// Back to the edit page.
    pub back: &'static str,
    /// A refused redefinition keeps the stored query.
    pub kept: &'static str,
    /// The new derived dataset page's heading.
    pub new_heading: &'static str,
    /// What it does.
    pub new_intro: &'static str,
    /// No organization to create in.
    pub no_org: &'static str,
    /// Organization label.
    pub org_label: &'static str,
    /// Identifier label.
    pub id_label: &'static str,
    /// Title label.
    pub title_label: &'static str,
    /// Create it.
    pub create: &'static str,
    /// The organization chosen is not one the session may create in.
    pub bad_org: &'static str,
    /// The query is empty.
    pub empty_query: &'static str,
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
    query_label: "Requête SQL (une seule instruction SELECT sur les jeux nommés par leur identifiant)",
    save: "Enregistrer et recalculer",
    refresh: "Recalculer maintenant",
    clear: "Supprimer la définition",
    clear_hint: "Le jeu reste, avec ses versions, comme un jeu ordinaire.",
    back: "Retour à la page du jeu",
    kept: "Rien n'a changé : la définition enregistrée reste.",
    new_heading: "Nouveau jeu dérivé",
    new_intro: "Un jeu dérivé est calculé par une requête sur d'autres jeux, et recalculé quand l'un d'eux publie une nouvelle version.",
    no_org: "Vous ne pouvez créer de jeu dans aucune organisation.",
    org_label: "Organisation",
    id_label: "Identifiant",
    title_label: "Titre",
    create: "Créer et calculer",
    bad_org: "Choisissez une organisation où vous pouvez publier.",
    empty_query: "La requête est vide : écrivez une instruction SELECT (voir la documentation du croisement de jeux).",
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
    query_label: "SQL query (one SELECT statement over datasets named by their identifier)",
    save: "Save and recompute",
    refresh: "Recompute now",
    clear: "Remove the definition",
    clear_hint: "The dataset stays, with its versions, as an ordinary dataset.",
    back: "Back to the dataset's page",
    kept: "Nothing changed: the stored definition stays.",
    new_heading: "New derived dataset",
    new_intro: "A derived dataset is computed by a query over other datasets, and recomputed when one of them publishes a new version.",
    no_org: "You may not create datasets in any organization.",
    org_label: "Organization",
    id_label: "Identifier",
    title_label: "Title",
    create: "Create and compute",
    bad_org: "Choose an organization where you may publish.",
    empty_query: "The query is empty: write a SELECT statement (see the documentation on crossing datasets).",
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
    /// The dataset.
    pub dataset: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The SQL query stored.
    pub query: String,
    /// The textarea's text (the query stored, or the one typed and refused).
    pub text: String,
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

/// The panel on a page of its own, with why a form was refused.
#[derive(Debug, Template)]
#[template(path = "bo_derivation.html")]
pub struct DerivePage {
    /// The page's frame.
    pub layout: Layout,
    /// Messages.
    pub m: &'static DeriveMessages,
    /// The dataset.
    pub dataset: String,
    /// The page's title.
    pub title: String,
    /// The panel's HTML (rendered by [`DerivePanel`]).
    pub panel: String,
    /// Why a form was refused.
    pub error: Option<String>,
    /// Whether the refusal was a redefinition's (the stored query is kept).
    pub kept: bool,
}

/// The new derived dataset page.
#[derive(Debug, Template)]
#[template(path = "bo_new_derived.html")]
pub struct NewDerivedPage {
    /// The page's frame.
    pub layout: Layout,
    /// Messages.
    pub m: &'static DeriveMessages,
    /// The session's CSRF token.
    pub csrf: String,
    /// Organizations the session may create in.
    pub orgs: Vec<Choice>,
    /// Identifier typed.
    pub id: String,
    /// Title typed.
    pub title: String,
    /// Query typed.
    pub query: String,
    /// Why the form was refused.
    pub error: Option<String>,
}
