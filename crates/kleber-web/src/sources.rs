//! The remote-source panel of a dataset's edit page (docs/sources.md#from-the-back-office):
//! the source (URLs, header names, schedule, next run), whether the last run failed, the last
//! runs, and the forms that set, run and clear it. A partial (`_source_runs.html`) the back
//! office includes, or renders alone with [`SourcePanel::render`]; a refused form answers the
//! source page ([`SourcePage`], `bo_source.html`): the panel with why. Its messages in both
//! languages are kept beside it.

use askama::Template;

use crate::Lang;
use crate::view::Layout;

/// Messages of the panel.
#[derive(Debug)]
pub struct SourceMessages {
    /// Heading.
    pub heading: &'static str,
    /// The last run failed.
    pub failing: &'static str,
    /// A URL.
    pub url: &'static str,
    /// Header names.
    pub headers: &'static str,
    /// Values are encrypted.
    pub encrypted: &'static str,
    /// Schedule.
    pub schedule: &'static str,
    /// No schedule.
    pub no_schedule: &'static str,
    /// Next run.
    pub next_run: &'static str,
    /// No run yet.
    pub no_runs: &'static str,
    /// Caption of the runs.
    pub runs: &'static str,
    /// Column: start.
    pub started: &'static str,
    /// Column: trigger.
    pub trigger: &'static str,
    /// Column: outcome.
    pub outcome: &'static str,
    /// Column: records.
    pub records: &'static str,
    /// Column: rejected rows.
    pub rejected: &'static str,
    /// Column: version.
    pub version: &'static str,
    /// Column: error.
    pub error: &'static str,
    /// No source yet.
    pub none: &'static str,
    /// Label: URLs.
    pub urls_label: &'static str,
    /// Label: headers.
    pub headers_label: &'static str,
    /// Hint: headers stored are kept when the field is empty.
    pub headers_hint: &'static str,
    /// Label: remove the stored headers.
    pub remove_headers: &'static str,
    /// Label: schedule.
    pub schedule_label: &'static str,
    /// Hint: schedule.
    pub schedule_hint: &'static str,
    /// Label: unique-id fields.
    pub unique_id_label: &'static str,
    /// Button: save.
    pub save: &'static str,
    /// Button: run now.
    pub run: &'static str,
    /// Button: clear.
    pub clear: &'static str,
    /// A refused form kept the stored source.
    pub kept: &'static str,
    /// Back to the edit page.
    pub back: &'static str,
}

const FR: SourceMessages = SourceMessages {
    heading: "Source distante",
    failing: "La dernière mise à jour a échoué : la version publiée reste celle d'avant.",
    url: "Adresse",
    headers: "En-têtes",
    encrypted: "valeurs chiffrées, jamais affichées",
    schedule: "Planification",
    no_schedule: "aucune : mise à jour à la demande",
    next_run: "Prochaine mise à jour",
    no_runs: "Aucune mise à jour pour l'instant.",
    runs: "Dernières mises à jour",
    started: "Début",
    trigger: "Déclenchement",
    outcome: "Résultat",
    records: "Enregistrements",
    rejected: "Lignes rejetées",
    version: "Version",
    error: "Erreur",
    none: "Aucune source distante : les données sont publiées par import.",
    urls_label: "Adresses (une par ligne, http ou https)",
    headers_label: "En-têtes (« Nom: valeur », un par ligne)",
    headers_hint: "Laisser vide pour garder les en-têtes enregistrés ; les valeurs ne sont jamais réaffichées.",
    remove_headers: "Supprimer les en-têtes enregistrés",
    schedule_label: "Planification (cron, 5 champs, minute d'abord ; vide : à la demande)",
    schedule_hint: "Fuseau horaire du portail :",
    unique_id_label: "Champs identifiant un enregistrement (séparés par des virgules)",
    save: "Enregistrer la source",
    run: "Mettre à jour maintenant",
    clear: "Supprimer la source",
    kept: "Source refusée : la source enregistrée reste la précédente.",
    back: "Retour à la fiche du jeu",
};

const EN: SourceMessages = SourceMessages {
    heading: "Remote source",
    failing: "The last refresh failed: the published version is still the previous one.",
    url: "URL",
    headers: "Headers",
    encrypted: "values encrypted, never shown",
    schedule: "Schedule",
    no_schedule: "none: refreshed on demand",
    next_run: "Next refresh",
    no_runs: "No refresh yet.",
    runs: "Last refreshes",
    started: "Start",
    trigger: "Trigger",
    outcome: "Outcome",
    records: "Records",
    rejected: "Rejected rows",
    version: "Version",
    error: "Error",
    none: "No remote source: the data is published by imports.",
    urls_label: "URLs (one per line, http or https)",
    headers_label: "Headers ('Name: value', one per line)",
    headers_hint: "Leave empty to keep the stored headers; values are never shown back.",
    remove_headers: "Remove the stored headers",
    schedule_label: "Schedule (cron, 5 fields, minute first; empty: on demand)",
    schedule_hint: "Portal time zone:",
    unique_id_label: "Fields identifying a record (comma-separated)",
    save: "Save the source",
    run: "Run now",
    clear: "Clear the source",
    kept: "Source refused: the stored source is the previous one.",
    back: "Back to the dataset",
};

impl SourceMessages {
    /// The messages in `lang`.
    pub fn of(lang: Lang) -> &'static SourceMessages {
        match lang {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }
}

/// One run, as the panel shows it (empty strings for what it lacks).
#[derive(Debug, Clone, Default)]
pub struct RunRow {
    /// Start (RFC 3339).
    pub started_at: String,
    /// `manual` or `schedule`.
    pub trigger: String,
    /// `published`, `unchanged`, `failed`, `running`.
    pub outcome: String,
    /// Records.
    pub records: String,
    /// Rejected rows.
    pub rejected: String,
    /// Version published.
    pub version: String,
    /// Why it failed.
    pub error: String,
}

/// What the form's fields hold: the stored source, or what was typed (never a header
/// value).
#[derive(Debug, Clone, Default)]
pub struct SourceForm {
    /// URLs, one per line.
    pub urls: String,
    /// Cron schedule.
    pub schedule: String,
    /// Unique-id fields, comma-separated.
    pub unique_id: String,
}

/// The panel.
#[derive(Debug, Template)]
#[template(path = "_source_runs.html")]
pub struct SourcePanel {
    /// Messages.
    pub m: &'static SourceMessages,
    /// The dataset.
    pub dataset: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// Whether a source is stored (the facts, runs, Run and Clear are shown).
    pub stored: bool,
    /// The form's fields.
    pub form: SourceForm,
    /// URLs.
    pub urls: Vec<String>,
    /// Header names (never values).
    pub header_names: Vec<String>,
    /// Cron schedule.
    pub schedule: Option<String>,
    /// Its time zone.
    pub timezone: String,
    /// Next run.
    pub next_run: Option<String>,
    /// Whether the last run failed.
    pub failing: bool,
    /// Last runs, newest first.
    pub runs: Vec<RunRow>,
}

impl SourcePanel {
    /// The HTML fragment.
    pub fn html(&self) -> Result<String, askama::Error> {
        self.render()
    }
}

/// The source page: the panel, and why a form was refused.
#[derive(Debug, Template)]
#[template(path = "bo_source.html")]
pub struct SourcePage {
    /// The page's frame.
    pub layout: Layout,
    /// Messages.
    pub m: &'static SourceMessages,
    /// The dataset.
    pub dataset: String,
    /// Its title.
    pub title: String,
    /// The panel's HTML (rendered by [`SourcePanel`]).
    pub panel: String,
    /// Why the form was refused.
    pub error: Option<String>,
    /// Whether the refusal was a save's (the stored source is kept).
    pub save_refused: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_escapes_and_shows_names_only() {
        let panel = SourcePanel {
            m: SourceMessages::of(Lang::En),
            dataset: "velib".to_owned(),
            csrf: "tok".to_owned(),
            stored: true,
            form: SourceForm {
                urls: "https://example.org/a.csv?x=<b>".to_owned(),
                ..SourceForm::default()
            },
            urls: vec!["https://example.org/a.csv?x=<b>".to_owned()],
            header_names: vec!["Authorization".to_owned()],
            schedule: Some("*/5 * * * *".to_owned()),
            timezone: "Europe/Paris".to_owned(),
            next_run: Some("2026-01-01T00:05:00Z".to_owned()),
            failing: true,
            runs: vec![RunRow {
                outcome: "failed".to_owned(),
                error: "HTTP 500 <x>".to_owned(),
                ..RunRow::default()
            }],
        };
        let html = panel.html().unwrap();
        assert!(html.contains("id=\"source-failing\""), "{html}");
        assert!(
            html.contains("a.csv?x=&#60;b&#62;") || html.contains("a.csv?x=&lt;b&gt;"),
            "{html}"
        );
        assert!(html.contains("Authorization") && html.contains("class=\"run-failed\""), "{html}");
        assert!(!html.contains("<x>"), "{html}");
        assert!(html.contains("action=\"/admin/datasets/velib/source/save\""), "{html}");
        assert!(html.contains("action=\"/admin/datasets/velib/source/run\""), "{html}");
        assert!(html.contains("name=\"csrf\" value=\"tok\""), "{html}");
    }
}
