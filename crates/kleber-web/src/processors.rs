//! The processors panel of a dataset's edit page (docs/sources.md#processors): the stored
//! pipeline as JSON in a textarea, the kinds of steps with a short example in the page's
//! language, and the Preview, Save and Clear forms. The edit page embeds the fragment
//! ([`ProcessorPanel`], `_processor_panel.html`); the answers of those forms are the
//! processors page ([`ProcessorPage`], `bo_processors.html`): the same panel, with the first
//! rows before and after the pipeline and the fields it adds and removes, or why it was
//! refused.

use askama::Template;

use crate::Lang;
use crate::view::Layout;

/// Messages of the panel and its page.
#[derive(Debug)]
pub struct ProcessorMessages {
    /// Heading.
    pub heading: &'static str,
    /// What processors do.
    pub intro: &'static str,
    /// The textarea's label.
    pub pipeline_label: &'static str,
    /// No pipeline stored.
    pub none: &'static str,
    /// Caption of the stored steps.
    pub stored_steps: &'static str,
    /// Heading of the kinds of steps.
    pub kinds_heading: &'static str,
    /// Each kind and what it does.
    pub kinds: &'static [(&'static str, &'static str)],
    /// Heading of the example.
    pub example_heading: &'static str,
    /// The example's explanation.
    pub example_text: &'static str,
    /// The example pipeline.
    pub example: &'static str,
    /// Button: preview.
    pub preview: &'static str,
    /// Button: save.
    pub save: &'static str,
    /// Button: clear.
    pub clear: &'static str,
    /// Heading of the preview.
    pub preview_heading: &'static str,
    /// The preview ran on the last file the source read.
    pub base_source: &'static str,
    /// The preview ran on the current version.
    pub base_current: &'static str,
    /// Caption: before.
    pub before: &'static str,
    /// Caption: after.
    pub after: &'static str,
    /// Fields added.
    pub added: &'static str,
    /// Fields removed.
    pub removed: &'static str,
    /// No field.
    pub no_field: &'static str,
    /// The preview changed nothing stored.
    pub nothing_changed: &'static str,
    /// A refused save keeps the old pipeline.
    pub kept: &'static str,
    /// Saved.
    pub saved: &'static str,
    /// Cleared.
    pub cleared: &'static str,
    /// Back to the edit page.
    pub back: &'static str,
}

const FR_KINDS: &[(&str, &str)] = &[
    ("rename", "renomme un champ (field, to)"),
    ("cast", "change le type d'un champ (field, to : text, int, double, boolean, date, datetime)"),
    ("drop", "retire des champs (fields)"),
    ("reorder", "place des champs en premier, dans cet ordre (fields)"),
    ("compute", "calcule un champ d'une expression ODSQL (field, expression, label)"),
    ("split", "découpe un texte en champ multivalué (field, separator)"),
    (
        "geo_point",
        "construit un geo_point_2d de champs latitude et longitude, ou d'un texte « lat, lon » (field, latitude, longitude ou text)",
    ),
    ("skip", "écarte les enregistrements qui vérifient une condition ODSQL (condition)"),
    ("normalize_date", "lit une date selon un format (field, format, to, timezone)"),
    ("join", "ajoute des champs d'un autre jeu par clé (dataset, key, other_key, fields, prefix)"),
    (
        "spatial_join",
        "ajoute des champs du polygone d'un autre jeu qui contient chaque point (dataset, point, shape, fields, prefix)",
    ),
];

const EN_KINDS: &[(&str, &str)] = &[
    ("rename", "renames a field (field, to)"),
    ("cast", "changes a field's type (field, to: text, int, double, boolean, date, datetime)"),
    ("drop", "removes fields (fields)"),
    ("reorder", "puts fields first, in this order (fields)"),
    ("compute", "computes a field from an ODSQL expression (field, expression, label)"),
    ("split", "splits a text into a multivalued field (field, separator)"),
    (
        "geo_point",
        "builds a geo_point_2d from latitude and longitude fields, or from a \"lat, lon\" text (field, latitude, longitude or text)",
    ),
    ("skip", "leaves out the records matching an ODSQL condition (condition)"),
    ("normalize_date", "reads a date with a format (field, format, to, timezone)"),
    ("join", "adds fields of another dataset by key (dataset, key, other_key, fields, prefix)"),
    (
        "spatial_join",
        "adds fields of the polygon of another dataset that contains each point (dataset, point, shape, fields, prefix)",
    ),
];

const FR: ProcessorMessages = ProcessorMessages {
    heading: "Traitements",
    intro: "Les traitements s'appliquent, dans l'ordre, à chaque fichier lu pour ce jeu (mise à jour de la source distante, nouvelle version) avant sa publication. L'aperçu ne change rien.",
    pipeline_label: "Chaîne de traitements (JSON)",
    none: "Aucun traitement enregistré : les fichiers sont publiés tels qu'ils sont lus.",
    stored_steps: "Étapes enregistrées",
    kinds_heading: "Étapes possibles (kind)",
    kinds: FR_KINDS,
    example_heading: "Exemple",
    example_text: "Renommer « nom » en « nom_station », construire « position » à partir de « lat » et « lon », et écarter les stations sans capacité :",
    example: r#"{"version": 1, "steps": [
  {"kind": "rename", "field": "nom", "to": "nom_station"},
  {"kind": "geo_point", "field": "position", "latitude": "lat", "longitude": "lon"},
  {"kind": "skip", "condition": "capacite = 0"}
]}"#,
    preview: "Aperçu",
    save: "Enregistrer",
    clear: "Supprimer les traitements",
    preview_heading: "Aperçu avant / après",
    base_source: "Sur le dernier fichier lu de la source distante, avant tout traitement (ce que la chaîne verra à la prochaine mise à jour).",
    base_current: "Sur la version publiée (les traitements déjà enregistrés y ont été appliqués).",
    before: "Avant : premières lignes",
    after: "Après : les mêmes lignes traitées",
    added: "Champs ajoutés",
    removed: "Champs retirés",
    no_field: "aucun",
    nothing_changed: "Rien n'a été enregistré : utilisez « Enregistrer » pour garder cette chaîne.",
    kept: "Chaîne refusée : les traitements enregistrés restent ceux d'avant.",
    saved: "Traitements enregistrés.",
    cleared: "Traitements supprimés.",
    back: "Retour à la fiche du jeu",
};

const EN: ProcessorMessages = ProcessorMessages {
    heading: "Processors",
    intro: "Processors apply, in order, to every file read for this dataset (remote source refresh, new version) before it is published. The preview changes nothing.",
    pipeline_label: "Pipeline (JSON)",
    none: "No processors stored: files are published as they are read.",
    stored_steps: "Stored steps",
    kinds_heading: "Step kinds (kind)",
    kinds: EN_KINDS,
    example_heading: "Example",
    example_text: "Rename \"name\" to \"station_name\", build \"position\" from \"lat\" and \"lon\", and leave out the stations without capacity:",
    example: r#"{"version": 1, "steps": [
  {"kind": "rename", "field": "name", "to": "station_name"},
  {"kind": "geo_point", "field": "position", "latitude": "lat", "longitude": "lon"},
  {"kind": "skip", "condition": "capacity = 0"}
]}"#,
    preview: "Preview",
    save: "Save",
    clear: "Clear the processors",
    preview_heading: "Preview before / after",
    base_source: "On the last file read from the remote source, before any processor (what the pipeline will see at the next refresh).",
    base_current: "On the published version (the processors already stored were applied to it).",
    before: "Before: first rows",
    after: "After: the same rows processed",
    added: "Fields added",
    removed: "Fields removed",
    no_field: "none",
    nothing_changed: "Nothing was stored: use \"Save\" to keep this pipeline.",
    kept: "Pipeline refused: the stored processors are the previous ones.",
    saved: "Processors saved.",
    cleared: "Processors cleared.",
    back: "Back to the dataset",
};

impl ProcessorMessages {
    /// The messages in `lang`.
    pub fn of(lang: Lang) -> &'static ProcessorMessages {
        match lang {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }
}

/// The panel: the pipeline's text and the forms.
#[derive(Debug, Template)]
#[template(path = "_processor_panel.html")]
pub struct ProcessorPanel {
    /// Messages.
    pub m: &'static ProcessorMessages,
    /// The dataset.
    pub dataset: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// The textarea's text: the stored pipeline, or what was typed.
    pub text: String,
    /// The stored steps, one line each (empty: none stored).
    pub steps: Vec<String>,
    /// Whether a pipeline is stored (Clear is offered).
    pub stored: bool,
}

impl ProcessorPanel {
    /// The HTML fragment.
    pub fn html(&self) -> askama::Result<String> {
        self.render()
    }
}

/// A preview, as the page shows it.
#[derive(Debug, Clone, Default)]
pub struct PreviewView {
    /// Whether it ran on the source's last file (else the current version).
    pub on_source_file: bool,
    /// Column names before.
    pub columns_before: Vec<String>,
    /// Rows before.
    pub rows_before: Vec<Vec<String>>,
    /// Column names after.
    pub columns_after: Vec<String>,
    /// Rows after.
    pub rows_after: Vec<Vec<String>>,
    /// Fields added (name and type).
    pub added: Vec<String>,
    /// Fields removed.
    pub removed: Vec<String>,
}

/// The processors page: the panel, and a preview or why the pipeline was refused.
#[derive(Debug, Template)]
#[template(path = "bo_processors.html")]
pub struct ProcessorPage {
    /// The page's frame.
    pub layout: Layout,
    /// Messages.
    pub m: &'static ProcessorMessages,
    /// The dataset.
    pub dataset: String,
    /// Its title.
    pub title: String,
    /// The panel's HTML (rendered by [`ProcessorPanel`]).
    pub panel: String,
    /// A preview.
    pub preview: Option<PreviewView>,
    /// Why the pipeline was refused (a preview or a save).
    pub error: Option<String>,
    /// Whether the refusal was a save's (the stored pipeline is kept).
    pub save_refused: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_escapes_the_pipeline_and_lists_every_kind() {
        let panel = ProcessorPanel {
            m: ProcessorMessages::of(Lang::En),
            dataset: "velib".to_owned(),
            csrf: "t0k".to_owned(),
            text: "{\"steps\": [\"</textarea><script>\"]}".to_owned(),
            steps: vec!["rename a → b".to_owned()],
            stored: true,
        };
        let html = panel.html().unwrap();
        assert!(!html.contains("</textarea><script>"), "{html}");
        assert!(html.contains("action=\"/admin/datasets/velib/processors/preview\""), "{html}");
        assert!(html.contains("name=\"csrf\" value=\"t0k\""), "{html}");
        for (kind, _) in EN_KINDS {
            assert!(html.contains(&format!("<code>{kind}</code>")), "{kind}: {html}");
        }
        let fr = ProcessorPanel { m: ProcessorMessages::of(Lang::Fr), ..panel }.html().unwrap();
        assert!(fr.contains("Aperçu") && fr.contains("nom_station"), "{fr}");
    }
}
