//! The back office's harvests pages (docs/harvest.md#from-the-back-office): the harvests the
//! signed-in user manages with their last run, the form creating a CKAN, DCAT-AP or
//! Opendatasoft harvest ([`HarvestsPage`], `bo_harvests.html`), and the run history of one
//! harvest ([`HarvestRunsPage`], `bo_harvest_runs.html`). View models only: the server's
//! `web/harvest_admin.rs` fills them from `kleber_app`'s harvest use cases.

use askama::Template;

use crate::Lang;
use crate::admin::Choice;
use crate::view::Layout;

/// Messages of the harvest pages.
#[derive(Debug)]
pub struct HarvestMessages {
    /// Heading of the list.
    pub heading: &'static str,
    /// What a harvest is.
    pub intro: &'static str,
    /// No harvest yet.
    pub none: &'static str,
    /// Column: name.
    pub name: &'static str,
    /// Column: kind.
    pub kind: &'static str,
    /// Column: source address.
    pub url: &'static str,
    /// Column: organization.
    pub organization: &'static str,
    /// The portal (no organization).
    pub portal: &'static str,
    /// Column: schedule.
    pub schedule: &'static str,
    /// No schedule.
    pub on_demand: &'static str,
    /// Next run.
    pub next_run: &'static str,
    /// Column: datasets.
    pub datasets: &'static str,
    /// Column: last run.
    pub last_run: &'static str,
    /// Never run.
    pub never: &'static str,
    /// Button: run now.
    pub run: &'static str,
    /// Button: delete.
    pub delete: &'static str,
    /// Link: history.
    pub history: &'static str,
    /// The last run failed.
    pub failing: &'static str,
    /// Heading of the form.
    pub new_heading: &'static str,
    /// Kinds.
    pub kind_ckan: &'static str,
    /// Kinds.
    pub kind_dcat: &'static str,
    /// Kinds.
    pub kind_ods: &'static str,
    /// Label: name.
    pub name_hint: &'static str,
    /// Label: query.
    pub query: &'static str,
    /// Hint: query.
    pub query_hint: &'static str,
    /// Label: CKAN's fq.
    pub fq: &'static str,
    /// Hint: fq.
    pub fq_hint: &'static str,
    /// Label: headers.
    pub headers: &'static str,
    /// Hint: headers.
    pub headers_hint: &'static str,
    /// Label: remove the stored headers.
    pub clear_headers: &'static str,
    /// Headers stored (names only).
    pub headers_stored: &'static str,
    /// Label: ids.
    pub ids: &'static str,
    /// Hint: ids.
    pub ids_hint: &'static str,
    /// Label: overrides.
    pub overrides: &'static str,
    /// Hint: overrides.
    pub overrides_hint: &'static str,
    /// Label: delete gone datasets.
    pub delete_missing: &'static str,
    /// Hint: schedule.
    pub schedule_hint: &'static str,
    /// Button: create.
    pub create: &'static str,
    /// Saved.
    pub saved: &'static str,
    /// Deleted.
    pub deleted: &'static str,
    /// A run ended.
    pub ran: &'static str,
    /// Heading of the history.
    pub runs_heading: &'static str,
    /// Column: start.
    pub started: &'static str,
    /// Column: end.
    pub ended: &'static str,
    /// Column: trigger.
    pub trigger: &'static str,
    /// Column: outcome.
    pub outcome: &'static str,
    /// Column: counts.
    pub counts: &'static str,
    /// The counts' words: copied, unchanged, removed, kept, failed, records.
    pub count_words: [&'static str; 6],
    /// Column: error.
    pub error: &'static str,
    /// Back to the list.
    pub back: &'static str,
    /// The datasets' dashboard.
    pub dashboard: &'static str,
    /// Outcomes: running, done, partial, failed.
    pub outcomes: [&'static str; 4],
    /// Triggers: manual, schedule.
    pub triggers: [&'static str; 2],
}

const FR: HarvestMessages = HarvestMessages {
    heading: "Moissonnages",
    intro: "Un moissonnage copie les jeux d'un autre portail (CKAN, catalogue DCAT-AP, Opendatasoft) et les tient à jour, à la demande ou selon une planification. Les jeux qu'il crée sont nommés « nom-du-moissonnage-identifiant ».",
    none: "Aucun moissonnage pour l'instant.",
    name: "Nom",
    kind: "Type",
    url: "Adresse",
    organization: "Organisation",
    portal: "le portail",
    schedule: "Planification",
    on_demand: "à la demande",
    next_run: "prochain",
    datasets: "Jeux",
    last_run: "Dernier passage",
    never: "jamais",
    run: "Lancer maintenant",
    delete: "Supprimer",
    history: "Historique",
    failing: "échec",
    new_heading: "Nouveau moissonnage",
    kind_ckan: "CKAN (API Action)",
    kind_dcat: "Catalogue DCAT-AP",
    kind_ods: "Portail Opendatasoft (portail entier seulement)",
    name_hint: "lettres minuscules, chiffres et « - » ; vide : tiré de l'adresse",
    query: "Requête",
    query_hint: "q de CKAN, mot-clé DCAT, where ODSQL d'Opendatasoft ; vide : tout",
    fq: "Filtre CKAN (fq)",
    fq_hint: "CKAN seulement : requête de filtre Solr de package_search, par exemple organization:ville-de-strasbourg",
    headers: "En-têtes envoyés à la source",
    headers_hint: "un par ligne : Nom: valeur (CKAN : Authorization: jeton d'API ; Opendatasoft : Authorization: Apikey clé) ; chiffrés, jamais réaffichés ; vide : ceux déjà enregistrés sont gardés",
    clear_headers: "Retirer les en-têtes enregistrés",
    headers_stored: "en-têtes",
    ids: "Ou liste d'identifiants",
    ids_hint: "un identifiant de jeu de la source par ligne",
    overrides: "Métadonnées imposées",
    overrides_hint: "une par ligne : clé=valeur (publisher=Ville, license=Licence Ouverte) ; une liste en JSON",
    delete_missing: "Mettre à la corbeille les jeux disparus de la source (sinon ils sont gardés et marqués)",
    schedule_hint: "expression cron à cinq champs (0 3 * * *) ; vide : à la demande",
    create: "Enregistrer le moissonnage",
    saved: "Moissonnage enregistré.",
    deleted: "Moissonnage supprimé (ses jeux restent).",
    ran: "Moissonnage terminé :",
    runs_heading: "Passages",
    started: "Début",
    ended: "Fin",
    trigger: "Déclenchement",
    outcome: "Résultat",
    counts: "Comptes",
    count_words: ["copiés", "inchangés", "retirés", "gardés", "en échec", "enregistrements"],
    error: "Erreur",
    back: "Retour aux moissonnages",
    dashboard: "Tableau de bord des jeux",
    outcomes: ["en cours", "terminé", "partiel", "échec"],
    triggers: ["manuel", "planifié"],
};

const EN: HarvestMessages = HarvestMessages {
    heading: "Harvests",
    intro: "A harvest copies the datasets of another portal (CKAN, a DCAT-AP catalog, Opendatasoft) and keeps them up to date, on demand or on a schedule. The datasets it creates are named \"harvest-name-identifier\".",
    none: "No harvest yet.",
    name: "Name",
    kind: "Kind",
    url: "Address",
    organization: "Organization",
    portal: "the portal",
    schedule: "Schedule",
    on_demand: "on demand",
    next_run: "next",
    datasets: "Datasets",
    last_run: "Last run",
    never: "never",
    run: "Run now",
    delete: "Delete",
    history: "History",
    failing: "failing",
    new_heading: "New harvest",
    kind_ckan: "CKAN (Action API)",
    kind_dcat: "DCAT-AP catalog",
    kind_ods: "Opendatasoft portal (whole portal only)",
    name_hint: "lowercase letters, digits and '-'; empty: from the address",
    query: "Query",
    query_hint: "CKAN's q, a DCAT keyword, Opendatasoft's ODSQL where; empty: everything",
    fq: "CKAN filter (fq)",
    fq_hint: "CKAN only: package_search's Solr filter query, e.g. organization:ville-de-strasbourg",
    headers: "Headers sent to the source",
    headers_hint: "one per line: Name: value (CKAN: Authorization: API token; Opendatasoft: Authorization: Apikey key); encrypted, never shown back; empty: the stored ones are kept",
    clear_headers: "Remove the stored headers",
    headers_stored: "headers",
    ids: "Or a list of ids",
    ids_hint: "one dataset id of the source per line",
    overrides: "Metadata overrides",
    overrides_hint: "one per line: key=value (publisher=City, license=Open Licence); a list as JSON",
    delete_missing: "Move datasets gone from the source to the trash (else they are kept and marked)",
    schedule_hint: "five-field cron expression (0 3 * * *); empty: on demand",
    create: "Save the harvest",
    saved: "Harvest saved.",
    deleted: "Harvest deleted (its datasets stay).",
    ran: "Harvest run ended:",
    runs_heading: "Runs",
    started: "Start",
    ended: "End",
    trigger: "Trigger",
    outcome: "Outcome",
    counts: "Counts",
    count_words: ["copied", "unchanged", "removed", "kept", "failed", "records"],
    error: "Error",
    back: "Back to the harvests",
    dashboard: "Datasets dashboard",
    outcomes: ["running", "done", "partial", "failed"],
    triggers: ["manual", "schedule"],
};

impl HarvestMessages {
    /// The messages in `lang`.
    pub fn of(lang: Lang) -> &'static HarvestMessages {
        match lang {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }

    /// A run's outcome (`running`, `done`, `partial`, `failed`) in words; another as it is.
    pub fn outcome<'a>(&self, outcome: &'a str) -> &'a str {
        match outcome {
            "running" => self.outcomes[0],
            "done" => self.outcomes[1],
            "partial" => self.outcomes[2],
            "failed" => self.outcomes[3],
            other => other,
        }
    }

    /// A run's trigger (`manual`, `schedule`) in words; another as it is.
    pub fn trigger<'a>(&self, trigger: &'a str) -> &'a str {
        match trigger {
            "manual" => self.triggers[0],
            "schedule" => self.triggers[1],
            other => other,
        }
    }
}

/// One run, as the pages show it.
#[derive(Debug, Clone, Default)]
pub struct HarvestRunRow {
    /// Start.
    pub started: String,
    /// End (empty while running).
    pub ended: String,
    /// `manual` or `schedule`, in words.
    pub trigger: String,
    /// `running`, `done`, `partial`, `failed` (a class name).
    pub outcome: String,
    /// The outcome in words.
    pub outcome_text: String,
    /// "copied 2, unchanged 0, ..." (empty when the run has none).
    pub counts: String,
    /// What failed.
    pub error: String,
}

/// One harvest of the list.
#[derive(Debug, Clone, Default)]
pub struct HarvestRow {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// The source's address.
    pub url: String,
    /// Its organization's name (empty: the portal).
    pub organization: String,
    /// Its schedule.
    pub schedule: String,
    /// The names of the headers it sends (values never shown), comma-separated.
    pub header_names: String,
    /// Its next run.
    pub next_run: String,
    /// Datasets it created.
    pub datasets: usize,
    /// Whether its last run failed.
    pub failing: bool,
    /// Its last run.
    pub last: Option<HarvestRunRow>,
}

impl HarvestRow {
    /// The address in pieces ending at each `/`, `?` or `&`, so a page may let it wrap there.
    pub fn url_parts(&self) -> Vec<&str> {
        let mut parts = Vec::new();
        let mut start = 0;
        for (i, c) in self.url.char_indices() {
            if matches!(c, '/' | '?' | '&') {
                parts.push(&self.url[start..=i]);
                start = i + 1;
            }
        }
        if start < self.url.len() {
            parts.push(&self.url[start..]);
        }
        parts
    }
}

/// What the creation form holds (typed values after a refusal).
#[derive(Debug, Clone, Default)]
pub struct HarvestForm {
    /// Kinds offered.
    pub kinds: Vec<Choice>,
    /// Organizations offered.
    pub orgs: Vec<Choice>,
    /// Name.
    pub name: String,
    /// Address.
    pub url: String,
    /// Query.
    pub query: String,
    /// CKAN's fq.
    pub fq: String,
    /// Remove the stored headers (header values are never typed back into the form).
    pub clear_headers: bool,
    /// Ids, one per line.
    pub ids: String,
    /// Overrides, `key=value` per line.
    pub overrides: String,
    /// Delete gone datasets.
    pub delete_missing: bool,
    /// Schedule.
    pub schedule: String,
}

/// The harvests page.
#[derive(Debug, Template)]
#[template(path = "bo_harvests.html")]
pub struct HarvestsPage {
    /// The page's frame.
    pub layout: Layout,
    /// Messages.
    pub m: &'static HarvestMessages,
    /// The session's CSRF token.
    pub csrf: String,
    /// The harvests.
    pub rows: Vec<HarvestRow>,
    /// The form.
    pub form: HarvestForm,
    /// Saved, deleted or run.
    pub saved: Option<String>,
    /// Why a form was refused.
    pub error: Option<String>,
}

/// The run history of one harvest.
#[derive(Debug, Template)]
#[template(path = "bo_harvest_runs.html")]
pub struct HarvestRunsPage {
    /// The page's frame.
    pub layout: Layout,
    /// Messages.
    pub m: &'static HarvestMessages,
    /// The session's CSRF token.
    pub csrf: String,
    /// The harvest.
    pub harvest: HarvestRow,
    /// Its runs, newest first.
    pub runs: Vec<HarvestRunRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_cut_after_each_separator_and_outcomes_are_words() {
        let row =
            HarvestRow { url: "https://x.org/api/3?q=a&b=c".to_owned(), ..HarvestRow::default() };
        assert_eq!(row.url_parts(), ["https:/", "/", "x.org/", "api/", "3?", "q=a&", "b=c"]);
        assert_eq!(row.url_parts().concat(), row.url);
        let fr = HarvestMessages::of(Lang::Fr);
        assert_eq!((fr.outcome("done"), fr.trigger("schedule")), ("terminé", "planifié"));
        assert_eq!(HarvestMessages::of(Lang::En).outcome("partial"), "partial");
        assert_eq!(fr.outcome("unknown"), "unknown");
    }
}
