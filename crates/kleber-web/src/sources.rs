//! The remote-source panel of a dataset's edit page (docs/sources.md): the source (URLs,
//! header names, schedule, next run), whether the last run failed, and the last runs. A
//! partial (`_source_runs.html`) the back office includes, or renders alone with
//! [`SourcePanel::render`]; its messages in both languages are kept beside it.

use askama::Template;

use crate::Lang;

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

/// The panel.
#[derive(Debug, Template)]
#[template(path = "_source_runs.html")]
pub struct SourcePanel {
    /// Messages.
    pub m: &'static SourceMessages,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_escapes_and_shows_names_only() {
        let panel = SourcePanel {
            m: SourceMessages::of(Lang::En),
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
    }
}
