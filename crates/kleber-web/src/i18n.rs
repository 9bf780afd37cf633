//! The portal's two languages and their messages.
//!
//! The catalog is typed: [`Messages`] has one field per message and [`FR`] and [`EN`] are two
//! constants of it, so a message missing in one language is a compile error and templates
//! refer to messages by field (`t.search_label`), checked by askama at compile time.
//! Messages with a number go through methods ([`Messages::datasets`], [`Messages::records`])
//! that pick the plural and format the number the language's way.

/// A language of the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// French, the default.
    #[default]
    Fr,
    /// English.
    En,
}

impl Lang {
    /// Every language, French first.
    pub const ALL: [Lang; 2] = [Lang::Fr, Lang::En];

    /// The BCP 47 code (`fr`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    /// The language named by a code (`fr`, `en-GB`, `EN`), if it is one of ours.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The messages of this language.
    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }

    /// The language's own name, as the switcher shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Fr => "Français",
            Lang::En => "English",
        }
    }

    /// Picks the preferred language of an `Accept-Language` header (French when none fits).
    pub fn negotiate(accept_language: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for item in accept_language.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_code(tag)
                && quality > 0.0
                && best.is_none_or(|(q, _)| quality > q)
            {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::Fr, |(_, lang)| lang)
    }
}

/// Formats an integer with the language's thousands separator (a narrow no-break space in
/// French, a comma in English).
pub fn format_int(n: i64, lang: Lang) -> String {
    let digits = n.unsigned_abs().to_string();
    let sep = match lang {
        Lang::Fr => "\u{202f}",
        Lang::En => ",",
    };
    let mut out = String::new();
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// What a count counts, for [`Messages::count_parts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Datasets.
    Datasets,
    /// Records.
    Records,
    /// Publishers.
    Publishers,
}

/// Every message of the portal, in one language.
#[derive(Debug)]
pub struct Messages {
    /// The portal's name.
    pub site_name: &'static str,
    /// Its tagline on the home page.
    pub tagline: &'static str,
    /// The skip link.
    pub skip_to_content: &'static str,
    /// The label of the language switcher.
    pub language: &'static str,
    /// The main navigation's label.
    pub main_nav: &'static str,
    /// Home link.
    pub home: &'static str,
    /// Catalog link.
    pub catalog: &'static str,
    /// About link.
    pub about: &'static str,
    /// API documentation link.
    pub api_docs: &'static str,
    /// Main navigation: the account page (sign-in when signed out).
    pub account: &'static str,
    /// Header link to the notifications (signed in only).
    pub notifications: &'static str,
    /// After the badge's number: "unread" (read by screen readers).
    pub unread_notifications: &'static str,
    /// Search field label.
    pub search_label: &'static str,
    /// Search field placeholder.
    pub search_placeholder: &'static str,
    /// Search button.
    pub search_button: &'static str,
    /// Home: count headings.
    pub stats_heading: &'static str,
    /// Home: themes heading.
    pub themes_heading: &'static str,
    /// Home: featured datasets heading.
    pub featured_heading: &'static str,
    /// Home: latest datasets heading.
    pub latest_heading: &'static str,
    /// Home: most viewed datasets heading.
    pub popular_heading: &'static str,
    /// Catalog: heading.
    pub catalog_heading: &'static str,
    /// Catalog: the filters' heading.
    pub filters_heading: &'static str,
    /// Catalog: active filters label.
    pub active_filters: &'static str,
    /// Remove a filter (prefix of the filter's name).
    pub remove_filter: &'static str,
    /// Clear every filter.
    pub clear_filters: &'static str,
    /// Sort label.
    pub sort_label: &'static str,
    /// Sort: relevance.
    pub sort_relevance: &'static str,
    /// Sort: title.
    pub sort_title: &'static str,
    /// Sort: last modified.
    pub sort_modified: &'static str,
    /// Sort: most records.
    pub sort_records: &'static str,
    /// Apply button.
    pub apply: &'static str,
    /// No result.
    pub no_results: &'static str,
    /// Facet titles.
    pub facet_theme: &'static str,
    /// Facet: keyword.
    pub facet_keyword: &'static str,
    /// Facet: publisher.
    pub facet_publisher: &'static str,
    /// Facet: licence.
    pub facet_license: &'static str,
    /// Facet: features.
    pub facet_features: &'static str,
    /// Facet: modified.
    pub facet_modified: &'static str,
    /// Feature names.
    pub feature_geo: &'static str,
    /// Feature: analyze.
    pub feature_analyze: &'static str,
    /// Feature: time series.
    pub feature_timeserie: &'static str,
    /// Pagination label.
    pub pagination: &'static str,
    /// Previous page.
    pub previous: &'static str,
    /// Next page.
    pub next: &'static str,
    /// "Page".
    pub page: &'static str,
    /// "of" in "page 2 of 5".
    pub of: &'static str,
    /// Dataset card: modified on.
    pub modified_on: &'static str,
    /// Dataset tabs label.
    pub tabs_label: &'static str,
    /// Tab names.
    pub tab_information: &'static str,
    /// Tab: table.
    pub tab_table: &'static str,
    /// Tab: map.
    pub tab_map: &'static str,
    /// Tab: analyze.
    pub tab_analyze: &'static str,
    /// Tab: API.
    pub tab_api: &'static str,
    /// Tab: export.
    pub tab_export: &'static str,
    /// Tab: versions (docs/versions.md).
    pub tab_versions: &'static str,
    /// Versions tab: the table's caption.
    pub versions_caption: &'static str,
    /// Versions tab: column of the version number.
    pub version_column: &'static str,
    /// Versions tab: column of the publication date.
    pub version_published: &'static str,
    /// Versions tab: column of what changed.
    pub version_changes: &'static str,
    /// Versions tab: column of the links.
    pub version_links: &'static str,
    /// Versions tab: column of the publisher's comment.
    pub version_comment: &'static str,
    /// Versions tab: the current version's mark.
    pub version_current: &'static str,
    /// Versions tab: a pruned version's note.
    pub version_pruned: &'static str,
    /// Versions tab: records added.
    pub version_added: &'static str,
    /// Versions tab: records removed.
    pub version_removed: &'static str,
    /// Versions tab: records changed.
    pub version_changed: &'static str,
    /// Versions tab: fields added, removed or retyped.
    pub version_fields: &'static str,
    /// Versions tab: the link to the table as of a version.
    pub version_view: &'static str,
    /// Versions tab: the link to the changes from the previous version (CSV).
    pub version_diff: &'static str,
    /// Versions tab: the link to the version's CSV.
    pub version_download: &'static str,
    /// The banner of a page showing an earlier version: before its number.
    pub version_banner: &'static str,
    /// The banner's link to the current version.
    pub version_banner_current: &'static str,
    /// Information: metadata heading.
    pub metadata_heading: &'static str,
    /// Information: publisher.
    pub publisher: &'static str,
    /// Information: licence.
    pub license: &'static str,
    /// Where a harvested dataset comes from (the information tab).
    pub harvest_source: &'static str,
    /// Information: themes.
    pub themes: &'static str,
    /// Information: keywords.
    pub keywords: &'static str,
    /// Information: language.
    pub language_of_data: &'static str,
    /// The information tab's fact of an archived dataset (read-only, still downloadable).
    pub archived: &'static str,
    /// Its value.
    pub archived_value: &'static str,
    /// Information: last update.
    pub last_update: &'static str,
    /// Information: last data processing.
    pub data_processed: &'static str,
    /// Information: identifier.
    pub identifier: &'static str,
    /// Information: version.
    pub version: &'static str,
    /// Information: records count.
    pub records_count: &'static str,
    /// Information: schema heading.
    pub schema_heading: &'static str,
    /// Schema caption.
    pub schema_caption: &'static str,
    /// Schema columns.
    pub field_name: &'static str,
    /// Schema: label.
    pub field_label: &'static str,
    /// Schema: type.
    pub field_type: &'static str,
    /// Schema: description.
    pub field_description: &'static str,
    /// Attachments heading.
    pub attachments_heading: &'static str,
    /// No attachment.
    pub no_attachments: &'static str,
    /// Not set.
    pub not_set: &'static str,
    /// Table: filter heading / label.
    pub filter_records: &'static str,
    /// Table: caption prefix.
    pub records_caption: &'static str,
    /// Table: sort ascending.
    pub sort_ascending: &'static str,
    /// Table: sort descending.
    pub sort_descending: &'static str,
    /// Table: sorted ascending (state).
    pub sorted_ascending: &'static str,
    /// Table: sorted descending (state).
    pub sorted_descending: &'static str,
    /// Table: details link.
    pub details: &'static str,
    /// Table: details column header.
    pub details_column: &'static str,
    /// Record detail heading.
    pub record_heading: &'static str,
    /// Close the record detail.
    pub close: &'static str,
    /// Record not found.
    pub record_not_found: &'static str,
    /// No record matches.
    pub no_records: &'static str,
    /// Window limit note.
    pub window_note: &'static str,
    /// Map: heading.
    pub map_heading: &'static str,
    /// Map: instructions for keyboard use.
    pub map_help: &'static str,
    /// Map: list of located records caption.
    pub map_records_caption: &'static str,
    /// Map: location column (points).
    pub location: &'static str,
    /// Map: shape column (lines and areas).
    pub shape: &'static str,
    /// Map: the map's accessible name.
    pub map_label: &'static str,
    /// Map: the name of a cluster's button, `{n}` its count.
    pub map_cluster: &'static str,
    /// Map: the zoom-in button (after its visible `+`).
    pub zoom_in: &'static str,
    /// Map: the zoom-out button (after its visible `−`).
    pub zoom_out: &'static str,
    /// Analyze: heading.
    pub chart_heading: &'static str,
    /// Analyze: x axis.
    pub chart_x: &'static str,
    /// Analyze: y axis.
    pub chart_y: &'static str,
    /// Analyze: type.
    pub chart_type: &'static str,
    /// Chart types.
    pub chart_bar: &'static str,
    /// Line chart.
    pub chart_line: &'static str,
    /// Pie chart.
    pub chart_pie: &'static str,
    /// Draw button.
    pub chart_draw: &'static str,
    /// Count of records.
    pub count_records: &'static str,
    /// Average of.
    pub agg_avg: &'static str,
    /// Sum of.
    pub agg_sum: &'static str,
    /// Minimum of.
    pub agg_min: &'static str,
    /// Maximum of.
    pub agg_max: &'static str,
    /// Year of.
    pub bucket_year: &'static str,
    /// Month of.
    pub bucket_month: &'static str,
    /// Chart data table caption.
    pub chart_data_caption: &'static str,
    /// Nothing to chart.
    pub chart_empty: &'static str,
    /// Empty value.
    pub empty_value: &'static str,
    /// Api: intro.
    pub api_intro: &'static str,
    /// Api: curl heading.
    pub api_curl: &'static str,
    /// Api: ODSQL heading.
    pub api_odsql: &'static str,
    /// Api: JavaScript heading.
    pub api_js: &'static str,
    /// Api: Python heading.
    pub api_python: &'static str,
    /// Copy button.
    pub copy: &'static str,
    /// Copied confirmation.
    pub copied: &'static str,
    /// Export: intro.
    pub export_intro: &'static str,
    /// Export: whole dataset.
    pub export_all: &'static str,
    /// Export: filtered.
    pub export_filtered: &'static str,
    /// Export: current filters heading.
    pub export_current_filters: &'static str,
    /// Export: format column.
    pub export_format: &'static str,
    /// Export: caption.
    pub export_caption: &'static str,
    /// Publisher page: heading prefix.
    pub publisher_heading: &'static str,
    /// Publisher page: datasets heading.
    pub publisher_datasets: &'static str,
    /// Organizations index: heading.
    pub organizations_heading: &'static str,
    /// Organizations index: introduction.
    pub organizations_intro: &'static str,
    /// Organizations index: none to show.
    pub organizations_none: &'static str,
    /// Organization page: eyebrow, facet title and the dataset page's term.
    pub organization_heading: &'static str,
    /// Organization page: kind term.
    pub organization_kind: &'static str,
    /// Organization page: web site term.
    pub organization_website: &'static str,
    /// Organization page: text of the logo (followed by the name).
    pub organization_logo: &'static str,
    /// Organization kinds, in the order of `OrgKind::ALL`: city, metropolis, commune, public
    /// body, company, association.
    pub organization_kinds: [&'static str; 6],
    /// About: heading.
    pub about_heading: &'static str,
    /// About: body paragraphs.
    pub about_body: &'static [&'static str],
    /// Error: not found heading.
    pub not_found_heading: &'static str,
    /// Error: not found text.
    pub not_found_text: &'static str,
    /// Error: bad request heading.
    pub bad_request_heading: &'static str,
    /// Error: server error heading.
    pub server_error_heading: &'static str,
    /// Error: server error text.
    pub server_error_text: &'static str,
    /// Error: where to go.
    pub error_help: &'static str,
    /// Footer text.
    pub footer: &'static str,
    /// Feed title.
    pub feed_title: &'static str,
    /// Open in a full page (embeds).
    pub open_full_page: &'static str,
    /// "Yes".
    pub yes: &'static str,
    /// "No".
    pub no: &'static str,
    dataset_one: &'static str,
    dataset_many: &'static str,
    record_one: &'static str,
    record_many: &'static str,
    publisher_one: &'static str,
    publisher_many: &'static str,
}

impl Messages {
    /// "1 dataset", "2 345 datasets" (no number for zero: "0 datasets").
    pub fn datasets(&self, n: i64) -> String {
        self.plural(n, self.dataset_one, self.dataset_many)
    }

    /// "1 record", "2 345 records".
    pub fn records(&self, n: i64) -> String {
        self.plural(n, self.record_one, self.record_many)
    }

    /// A number formatted in this language.
    pub fn number(&self, n: i64) -> String {
        format_int(n, self.lang())
    }

    /// The language of these messages.
    pub fn lang(&self) -> Lang {
        if std::ptr::eq(self, &EN) { Lang::En } else { Lang::Fr }
    }

    /// A count split into its number and its unit, for pages that set the number apart:
    /// `("4 870", "enregistrements")`.
    pub fn count_parts(&self, n: i64, what: Counted) -> (String, &'static str) {
        let (one, many) = match what {
            Counted::Datasets => (self.dataset_one, self.dataset_many),
            Counted::Records => (self.record_one, self.record_many),
            Counted::Publishers => (self.publisher_one, self.publisher_many),
        };
        (self.number(n), if self.singular(n) { one } else { many })
    }

    /// A geometry of `n` points.
    pub fn points(&self, n: i64) -> String {
        match self.lang() {
            Lang::Fr => format!("{} point{}", self.number(n), if n.abs() < 2 { "" } else { "s" }),
            Lang::En => format!("{} point{}", self.number(n), if n.abs() == 1 { "" } else { "s" }),
        }
    }

    /// A line of the given length (`5,2 km`).
    pub fn line_length(&self, length: &str) -> String {
        match self.lang() {
            Lang::Fr => format!("Ligne de {length}"),
            Lang::En => format!("Line of {length}"),
        }
    }

    /// `n` lines of the given total length.
    pub fn lines_length(&self, n: i64, length: &str) -> String {
        match self.lang() {
            Lang::Fr => format!("{} lignes, {length} au total", self.number(n)),
            Lang::En => format!("{} lines, {length} in all", self.number(n)),
        }
    }

    /// An area of the given surface (`3,4 ha`).
    pub fn area(&self, surface: &str) -> String {
        match self.lang() {
            Lang::Fr => format!("Zone de {surface}"),
            Lang::En => format!("Area of {surface}"),
        }
    }

    fn singular(&self, n: i64) -> bool {
        // French uses the singular for 0 and 1, English only for 1.
        match self.lang() {
            Lang::Fr => n.abs() < 2,
            Lang::En => n.abs() == 1,
        }
    }

    fn plural(&self, n: i64, one: &str, many: &str) -> String {
        format!("{} {}", self.number(n), if self.singular(n) { one } else { many })
    }
}

/// French, the default language.
pub static FR: Messages = Messages {
    site_name: "Kleber, données ouvertes",
    tagline: "Les données publiques de la ville et de ses partenaires, à consulter, cartographier et réutiliser librement.",
    skip_to_content: "Aller au contenu",
    language: "Langue",
    main_nav: "Navigation principale",
    home: "Accueil",
    catalog: "Catalogue",
    about: "À propos",
    api_docs: "API",
    account: "Mon compte",
    notifications: "Notifications",
    unread_notifications: "non lues",
    search_label: "Rechercher un jeu de données",
    search_placeholder: "vélo, parkings, culture…",
    search_button: "Rechercher",
    stats_heading: "Le portail en chiffres",
    themes_heading: "Thèmes",
    featured_heading: "À la une",
    latest_heading: "Dernières mises à jour",
    popular_heading: "Les plus consultés",
    catalog_heading: "Catalogue des données",
    filters_heading: "Filtrer",
    active_filters: "Filtres actifs",
    remove_filter: "Retirer le filtre",
    clear_filters: "Tout effacer",
    sort_label: "Trier par",
    sort_relevance: "Pertinence",
    sort_title: "Titre (A à Z)",
    sort_modified: "Dernière modification",
    sort_records: "Nombre d'enregistrements",
    apply: "Appliquer",
    no_results: "Aucun jeu de données ne correspond à cette recherche. Essayez d'autres mots ou retirez des filtres.",
    facet_theme: "Thème",
    facet_keyword: "Mot-clé",
    facet_publisher: "Producteur",
    facet_license: "Licence",
    facet_features: "Caractéristiques",
    facet_modified: "Modifié",
    feature_geo: "Géographique (geo)",
    feature_analyze: "Analysable",
    feature_timeserie: "Série temporelle",
    pagination: "Pagination",
    previous: "Page précédente",
    next: "Page suivante",
    page: "Page",
    of: "sur",
    modified_on: "Modifié le",
    tabs_label: "Vues du jeu de données",
    tab_information: "Informations",
    tab_table: "Tableau",
    tab_map: "Carte",
    tab_analyze: "Analyse",
    tab_api: "API",
    tab_export: "Export",
    tab_versions: "Versions",
    versions_caption: "Versions publiées, de la plus récente à la plus ancienne",
    version_column: "Version",
    version_published: "Publiée le",
    version_changes: "Changements",
    version_links: "Liens",
    version_comment: "Commentaire",
    version_current: "actuelle",
    version_pruned: "données supprimées (rétention) : seule cette entrée reste",
    version_added: "ajoutés",
    version_removed: "supprimés",
    version_changed: "modifiés",
    version_fields: "champs modifiés",
    version_view: "Tableau à cette version",
    version_diff: "Changements (CSV)",
    version_download: "Télécharger (CSV)",
    version_banner: "Vous consultez une version antérieure du jeu de données : version",
    version_banner_current: "Voir la version actuelle",
    metadata_heading: "Métadonnées",
    publisher: "Producteur",
    license: "Licence",
    harvest_source: "Source",
    themes: "Thèmes",
    keywords: "Mots-clés",
    language_of_data: "Langue",
    archived: "Archivé",
    archived_value: "Oui : ce jeu n'est plus mis à jour, il reste téléchargeable",
    last_update: "Dernière modification",
    data_processed: "Données traitées le",
    identifier: "Identifiant",
    version: "Version",
    records_count: "Nombre d'enregistrements",
    schema_heading: "Schéma des données",
    schema_caption: "Champs du jeu de données, avec leur type",
    field_name: "Nom technique",
    field_label: "Libellé",
    field_type: "Type",
    field_description: "Description",
    attachments_heading: "Pièces jointes",
    no_attachments: "Ce jeu de données n'a pas de pièce jointe.",
    not_set: "Non renseigné",
    filter_records: "Rechercher dans les données",
    records_caption: "Enregistrements",
    sort_ascending: "trier par ordre croissant",
    sort_descending: "trier par ordre décroissant",
    sorted_ascending: "trié par ordre croissant",
    sorted_descending: "trié par ordre décroissant",
    details: "Détails",
    details_column: "Fiche",
    record_heading: "Détail de l'enregistrement",
    close: "Fermer",
    record_not_found: "Cet enregistrement n'existe pas (ou plus) dans ce jeu de données.",
    no_records: "Aucun enregistrement ne correspond à ces filtres.",
    window_note: "Seuls les 10 000 premiers enregistrements sont consultables page par page ; affinez la recherche ou utilisez l'export pour le reste.",
    map_heading: "Carte",
    map_help: "La carte se déplace au clavier avec les flèches et se zoome avec + et −. Les enregistrements proches sont regroupés : un groupe montre leur nombre, et Entrée zoome dessus. Chaque point est aussi listé dans le tableau ci-dessous.",
    map_records_caption: "Enregistrements localisés",
    location: "Position",
    shape: "Forme",
    map_label: "Carte des enregistrements",
    map_cluster: "{n} enregistrements ici : zoomer dessus",
    zoom_in: "Zoomer",
    zoom_out: "Dézoomer",
    chart_heading: "Construire un graphique",
    chart_x: "Axe horizontal (regrouper par)",
    chart_y: "Valeur",
    chart_type: "Type de graphique",
    chart_bar: "Barres",
    chart_line: "Courbe",
    chart_pie: "Secteurs",
    chart_draw: "Afficher",
    count_records: "Nombre d'enregistrements",
    agg_avg: "Moyenne de",
    agg_sum: "Somme de",
    agg_min: "Minimum de",
    agg_max: "Maximum de",
    bucket_year: "Année de",
    bucket_month: "Mois de",
    chart_data_caption: "Données du graphique",
    chart_empty: "Aucune donnée à représenter avec ces filtres.",
    empty_value: "(vide)",
    api_intro: "Ce jeu de données s'interroge avec l'API Explore v2.1, compatible Opendatasoft. Les exemples ci-dessous sont prêts à copier.",
    api_curl: "En ligne de commande (curl)",
    api_odsql: "Exemples de requêtes ODSQL",
    api_js: "JavaScript (@opendatasoft/api-client)",
    api_python: "Python (odsclient ou requests)",
    copy: "Copier",
    copied: "Copié",
    export_intro: "Téléchargez les données dans le format de votre choix. Les fichiers contiennent tous les enregistrements, sans limite.",
    export_all: "Tout le jeu de données",
    export_filtered: "Avec les filtres en cours",
    export_current_filters: "Filtres en cours",
    export_format: "Format",
    export_caption: "Formats d'export disponibles",
    publisher_heading: "Producteur",
    publisher_datasets: "Jeux de données publiés",
    organizations_heading: "Organisations",
    organizations_intro: "Les organisations qui publient des données sur ce portail, avec le nombre de jeux de données de chacune.",
    organizations_none: "Aucune organisation n'a encore publié de jeu de données.",
    organization_heading: "Organisation",
    organization_kind: "Type",
    organization_website: "Site web",
    organization_logo: "Logo de",
    organization_kinds: [
        "Ville",
        "Métropole",
        "Commune",
        "Organisme public",
        "Entreprise",
        "Association",
    ],
    about_heading: "À propos de ce portail",
    about_body: &[
        "Ce portail publie les données ouvertes de la ville et de ses partenaires. Chacun peut les consulter sous forme de tableau, de carte ou de graphique, les télécharger et les réutiliser selon leur licence.",
        "Les données sont aussi accessibles par l'API Explore v2.1, compatible avec les clients Opendatasoft existants, sous /api/explore/v2.1/.",
        "Le portail vise la conformité au RGAA 4.1 (WCAG 2.1 niveau AA) : chaque graphique est accompagné de son tableau de données, la carte s'utilise au clavier et les pages fonctionnent sans JavaScript.",
    ],
    not_found_heading: "Page introuvable",
    not_found_text: "L'adresse demandée ne correspond à aucune page de ce portail. Elle a peut-être changé, ou le jeu de données a été retiré.",
    bad_request_heading: "Requête invalide",
    server_error_heading: "Erreur du serveur",
    server_error_text: "Une erreur inattendue s'est produite. Elle a été enregistrée ; réessayez dans quelques instants.",
    error_help: "Vous pouvez rechercher un jeu de données, ou repartir de l'accueil ou du catalogue.",
    footer: "Données publiées sous licence ouverte. Portail propulsé par Kleber.",
    feed_title: "Nouveaux jeux de données et mises à jour",
    open_full_page: "Ouvrir sur le portail",
    yes: "oui",
    no: "non",
    dataset_one: "jeu de données",
    dataset_many: "jeux de données",
    record_one: "enregistrement",
    record_many: "enregistrements",
    publisher_one: "organisation",
    publisher_many: "organisations",
};

/// English.
pub static EN: Messages = Messages {
    site_name: "Kleber open data",
    tagline: "Public data from the city and its partners, to browse, map and reuse freely.",
    skip_to_content: "Skip to content",
    language: "Language",
    main_nav: "Main navigation",
    home: "Home",
    catalog: "Catalog",
    about: "About",
    api_docs: "API",
    account: "My account",
    notifications: "Notifications",
    unread_notifications: "unread",
    search_label: "Search datasets",
    search_placeholder: "bike, car parks, culture…",
    search_button: "Search",
    stats_heading: "The portal in figures",
    themes_heading: "Themes",
    featured_heading: "Featured datasets",
    latest_heading: "Latest updates",
    popular_heading: "Most viewed",
    catalog_heading: "Data catalog",
    filters_heading: "Filter",
    active_filters: "Active filters",
    remove_filter: "Remove filter",
    clear_filters: "Clear all",
    sort_label: "Sort by",
    sort_relevance: "Relevance",
    sort_title: "Title (A to Z)",
    sort_modified: "Last modified",
    sort_records: "Number of records",
    apply: "Apply",
    no_results: "No dataset matches this search. Try other words or remove filters.",
    facet_theme: "Theme",
    facet_keyword: "Keyword",
    facet_publisher: "Publisher",
    facet_license: "Licence",
    facet_features: "Features",
    facet_modified: "Modified",
    feature_geo: "Geographic (geo)",
    feature_analyze: "Analysable",
    feature_timeserie: "Time series",
    pagination: "Pagination",
    previous: "Previous page",
    next: "Next page",
    page: "Page",
    of: "of",
    modified_on: "Modified on",
    tabs_label: "Dataset views",
    tab_information: "Information",
    tab_table: "Table",
    tab_map: "Map",
    tab_analyze: "Analyze",
    tab_api: "API",
    tab_export: "Export",
    tab_versions: "Versions",
    versions_caption: "Published versions, newest first",
    version_column: "Version",
    version_published: "Published",
    version_changes: "Changes",
    version_links: "Links",
    version_comment: "Comment",
    version_current: "current",
    version_pruned: "data removed (retention): only this entry is left",
    version_added: "added",
    version_removed: "removed",
    version_changed: "changed",
    version_fields: "fields changed",
    version_view: "Table as of this version",
    version_diff: "Changes (CSV)",
    version_download: "Download (CSV)",
    version_banner: "You are looking at an earlier version of this dataset: version",
    version_banner_current: "See the current version",
    metadata_heading: "Metadata",
    publisher: "Publisher",
    license: "Licence",
    harvest_source: "Source",
    themes: "Themes",
    keywords: "Keywords",
    language_of_data: "Language",
    archived: "Archived",
    archived_value: "Yes: this dataset is no longer updated; it can still be downloaded",
    last_update: "Last modified",
    data_processed: "Data processed on",
    identifier: "Identifier",
    version: "Version",
    records_count: "Number of records",
    schema_heading: "Data schema",
    schema_caption: "Fields of the dataset, with their type",
    field_name: "Technical name",
    field_label: "Label",
    field_type: "Type",
    field_description: "Description",
    attachments_heading: "Attachments",
    no_attachments: "This dataset has no attachment.",
    not_set: "Not set",
    filter_records: "Search the data",
    records_caption: "Records",
    sort_ascending: "sort ascending",
    sort_descending: "sort descending",
    sorted_ascending: "sorted ascending",
    sorted_descending: "sorted descending",
    details: "Details",
    details_column: "Record",
    record_heading: "Record details",
    close: "Close",
    record_not_found: "This record does not exist (any more) in this dataset.",
    no_records: "No record matches these filters.",
    window_note: "Only the first 10,000 records can be browsed page by page; narrow the search or use an export for the rest.",
    map_heading: "Map",
    map_help: "Move the map with the arrow keys and zoom with + and −. Nearby records are grouped: a group shows their number, and Enter zooms into it. Every point is also listed in the table below.",
    map_records_caption: "Located records",
    location: "Location",
    shape: "Shape",
    map_label: "Map of the records",
    map_cluster: "{n} records here: zoom in",
    zoom_in: "Zoom in",
    zoom_out: "Zoom out",
    chart_heading: "Build a chart",
    chart_x: "Horizontal axis (group by)",
    chart_y: "Value",
    chart_type: "Chart type",
    chart_bar: "Bars",
    chart_line: "Line",
    chart_pie: "Pie",
    chart_draw: "Show",
    count_records: "Number of records",
    agg_avg: "Average of",
    agg_sum: "Sum of",
    agg_min: "Minimum of",
    agg_max: "Maximum of",
    bucket_year: "Year of",
    bucket_month: "Month of",
    chart_data_caption: "Chart data",
    chart_empty: "Nothing to chart with these filters.",
    empty_value: "(empty)",
    api_intro: "Query this dataset with the Explore v2.1 API, compatible with Opendatasoft. The examples below are ready to copy.",
    api_curl: "Command line (curl)",
    api_odsql: "ODSQL query examples",
    api_js: "JavaScript (@opendatasoft/api-client)",
    api_python: "Python (odsclient or requests)",
    copy: "Copy",
    copied: "Copied",
    export_intro: "Download the data in the format you need. Files hold every record, with no limit.",
    export_all: "Whole dataset",
    export_filtered: "With the current filters",
    export_current_filters: "Current filters",
    export_format: "Format",
    export_caption: "Available export formats",
    publisher_heading: "Publisher",
    publisher_datasets: "Published datasets",
    organizations_heading: "Organizations",
    organizations_intro: "The organizations publishing data on this portal, with how many datasets each publishes.",
    organizations_none: "No organization has published a dataset yet.",
    organization_heading: "Organization",
    organization_kind: "Kind",
    organization_website: "Website",
    organization_logo: "Logo of",
    organization_kinds: ["City", "Metropolis", "Commune", "Public body", "Company", "Association"],
    about_heading: "About this portal",
    about_body: &[
        "This portal publishes the open data of the city and its partners. Anyone can view it as a table, a map or a chart, download it and reuse it under its licence.",
        "The data is also available through the Explore v2.1 API, compatible with existing Opendatasoft clients, under /api/explore/v2.1/.",
        "The portal aims at RGAA 4.1 (WCAG 2.1 level AA) conformance: every chart comes with its data table, the map works with a keyboard and pages work without JavaScript.",
    ],
    not_found_heading: "Page not found",
    not_found_text: "The address does not match any page of this portal. It may have changed, or the dataset may have been removed.",
    bad_request_heading: "Invalid request",
    server_error_heading: "Server error",
    server_error_text: "An unexpected error occurred. It was logged; please try again in a moment.",
    error_help: "You can search for a dataset, or start again from the home page or the catalog.",
    footer: "Data published under open licences. Portal powered by Kleber.",
    feed_title: "New and updated datasets",
    open_full_page: "Open on the portal",
    yes: "yes",
    no: "no",
    dataset_one: "dataset",
    dataset_many: "datasets",
    record_one: "record",
    record_many: "records",
    publisher_one: "organization",
    publisher_many: "organizations",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_highest_quality_we_speak() {
        assert_eq!(Lang::negotiate("en-GB,en;q=0.9,fr;q=0.8"), Lang::En);
        assert_eq!(Lang::negotiate("de-DE,de;q=0.9,fr;q=0.5,en;q=0.4"), Lang::Fr);
        assert_eq!(Lang::negotiate("de, it"), Lang::Fr);
        assert_eq!(Lang::negotiate(""), Lang::Fr);
        assert_eq!(Lang::negotiate("fr;q=0, en;q=0.1"), Lang::En);
    }

    #[test]
    fn numbers_and_plurals_follow_the_language() {
        assert_eq!(FR.datasets(0), "0 jeu de données");
        assert_eq!(EN.datasets(0), "0 datasets");
        assert_eq!(FR.records(2_000_000), "2\u{202f}000\u{202f}000 enregistrements");
        assert_eq!(EN.records(1), "1 record");
        assert_eq!(format_int(-1234, Lang::En), "-1,234");
        assert_eq!(format_int(999, Lang::Fr), "999");
    }
}
