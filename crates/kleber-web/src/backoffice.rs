//! The back office's pages (`/admin/datasets/...`): the publisher's dashboard, the new-dataset
//! flow (upload, preview and schema, metadata, publication) and a dataset's edit page. Their
//! view models and their messages in both languages, kept beside the pages like
//! [`crate::admin`]'s.

use askama::Template;

use crate::Lang;
use crate::admin::Choice;
use crate::view::Layout;

/// Declares [`BoMessages`] and its French and English catalogs from one list, so a message
/// cannot be missing in one language.
macro_rules! messages {
    ($($name:ident: $fr:expr, $en:expr;)*) => {
        /// Messages of the back office's pages.
        #[derive(Debug)]
        #[allow(missing_docs)]
        pub struct BoMessages { $(pub $name: &'static str,)* }

        /// French.
        pub static BO_FR: BoMessages = BoMessages { $($name: $fr,)* };
        /// English.
        pub static BO_EN: BoMessages = BoMessages { $($name: $en,)* };
    };
}

messages! {
    dashboard_heading: "Mes jeux de données", "My datasets";
    dashboard_intro: "Les jeux de données que vous pouvez modifier, dans les organisations où vous êtes éditeur ou administrateur.", "The datasets you may edit, in the organizations where you are an editor or an admin.";
    new_dataset: "Nouveau jeu de données", "New dataset";
    filters: "Filtres", "Filters";
    filter_state: "État", "State";
    filter_org: "Organisation", "Organization";
    any: "tous", "all";
    apply: "Filtrer", "Filter";
    caption: "Jeux de données que vous pouvez modifier", "Datasets you may edit";
    col_title: "Titre", "Title";
    col_state: "État", "State";
    col_org: "Organisation", "Organization";
    col_version: "Dernière version", "Last version";
    col_records: "Enregistrements", "Records";
    col_rejected: "Lignes rejetées", "Rejected rows";
    col_refresh: "Prochaine mise à jour", "Next refresh";
    none: "Aucun jeu de données ne correspond.", "No dataset matches.";
    no_version: "aucune", "none";
    state_draft: "brouillon", "draft";
    state_public: "publié", "published";
    state_restricted: "restreint", "restricted";
    state_archived: "archivé", "archived";
    state_deleted: "à la corbeille", "in the trash";
    version_on: "du", "of";
    new_heading: "Nouveau jeu de données", "New dataset";
    new_intro: "Choisissez l'organisation, donnez un identifiant et un titre, puis envoyez le fichier : vous verrez ensuite un aperçu avant de publier quoi que ce soit.", "Choose the organization, give an identifier and a title, then send the file: you will see a preview before anything is published.";
    org_label: "Organisation", "Organization";
    id_label: "Identifiant", "Identifier";
    id_hint: "Lettres minuscules, chiffres, « - » ou « _ », par exemple velos-stations. Il fait partie des adresses du jeu de données.", "Lowercase letters, digits, '-' or '_', for example bike-stations. It is part of the dataset's addresses.";
    title_label: "Titre", "Title";
    file_label: "Fichier de données", "Data file";
    file_hint: "CSV, JSON, GeoJSON, Excel, ODS, KML, GPX, Shapefile zippé, GeoPackage ou Parquet. Le format est reconnu d'après le contenu.", "CSV, JSON, GeoJSON, Excel, ODS, KML, GPX, zipped shapefile, GeoPackage or Parquet. The format is recognised from the content.";
    max_size: "Taille maximale :", "Largest size:";
    drop_hint: "ou déposez le fichier ici", "or drop the file here";
    upload_button: "Envoyer et voir l'aperçu", "Upload and preview";
    no_org: "Vous n'êtes éditeur ni administrateur d'aucune organisation : vous ne pouvez pas créer de jeu de données.", "You are neither an editor nor an admin of any organization: you cannot create datasets.";
    preview_heading: "Aperçu avant publication", "Preview before publishing";
    preview_intro: "Rien n'est publié. Vérifiez les types proposés, corrigez le schéma si besoin, puis continuez vers les métadonnées.", "Nothing is published yet. Check the types found, fix the schema if needed, then go on to the metadata.";
    detected: "Ce qui a été reconnu", "What was recognised";
    format: "Format", "Format";
    encoding: "Encodage", "Encoding";
    delimiter: "Séparateur", "Delimiter";
    header_row: "Ligne d'en-tête", "Header row";
    yes: "oui", "yes";
    no: "non", "no";
    records: "Enregistrements", "Records";
    rejected: "Lignes rejetées", "Rejected rows";
    preview_caption: "Premières lignes telles qu'elles seront enregistrées", "First rows as they will be stored";
    preview_rows_heading: "Aperçu des données", "Data preview";
    rejected_heading: "Lignes rejetées", "Rejected rows";
    rejected_caption: "Lignes rejetées, avec leur numéro et la raison", "Rejected rows, with their number and the reason";
    rejected_none: "Aucune ligne n'est rejetée.", "No row is rejected.";
    rejected_some: "lignes ne correspondent pas au schéma : elles ne seront pas publiées. Changez le type du champ, ou cochez « publier sans elles » à l'étape suivante.", "rows do not fit the schema: they will not be published. Change the field's type, or tick \"publish without them\" at the next step.";
    col_line: "Ligne", "Line";
    col_field: "Champ", "Field";
    col_value: "Valeur", "Value";
    col_reason: "Raison", "Reason";
    schema_heading: "Schéma", "Schema";
    fields_caption: "Champs du jeu de données, et ceux masqués aux visiteurs extérieurs", "The dataset's fields, and those hidden from outside visitors";
    schema_caption: "Champs : type, libellé, description, facette, masqué, ordre, identifiant unique", "Fields: type, label, description, facet, hidden, order, unique id";
    col_name: "Nom technique", "Technical name";
    col_type: "Type", "Type";
    col_label: "Libellé", "Label";
    col_description: "Description", "Description";
    col_facet: "Facette", "Facet";
    col_hidden: "Masqué", "Hidden";
    col_order: "Ordre", "Order";
    col_unique: "Identifiant unique", "Unique id";
    schema_button: "Appliquer et revalider l'aperçu", "Apply and check the preview again";
    continue_metadata: "Continuer vers les métadonnées", "Go on to the metadata";
    hidden_hint: "Un champ masqué n'est pas montré aux visiteurs extérieurs à l'organisation.", "A hidden field is not shown to visitors outside the organization.";
    metadata_heading: "Métadonnées", "Metadata";
    metadata_intro: "Décrivez le jeu de données : ces informations sont publiées avec lui (et moissonnées par les portails nationaux).", "Describe the dataset: this is published with it (and harvested by national portals).";
    meta_description: "Description (Markdown)", "Description (Markdown)";
    meta_themes: "Thèmes (séparés par des virgules)", "Themes (separated by commas)";
    meta_keywords: "Mots-clés (séparés par des virgules)", "Keywords (separated by commas)";
    meta_licence: "Licence", "Licence";
    licence_none: "(aucune)", "(none)";
    licence_custom: "Autre licence…", "Other licence…";
    meta_licence_name: "Nom de l'autre licence", "Other licence's name";
    meta_licence_url: "Adresse de l'autre licence (https://…)", "Other licence's address (https://…)";
    meta_publisher: "Producteur", "Publisher";
    meta_contact_name: "Contact : nom", "Contact: name";
    meta_contact_email: "Contact : adresse e-mail", "Contact: email address";
    meta_language: "Langue (code à deux lettres : fr, en, de)", "Language (two-letter code: fr, en, de)";
    meta_frequency: "Fréquence de mise à jour", "Update frequency";
    meta_spatial: "Couverture géographique", "Spatial coverage";
    meta_temporal_start: "Début de la période couverte (AAAA-MM-JJ)", "Start of the period covered (YYYY-MM-DD)";
    meta_temporal_end: "Fin de la période couverte (AAAA-MM-JJ)", "End of the period covered (YYYY-MM-DD)";
    meta_references: "Références (https://…)", "References (https://…)";
    meta_attributions: "Attributions", "Attributions";
    accept_rejected: "Publier sans les lignes rejetées", "Publish without the rejected rows";
    version_comment: "Commentaire sur cette version (facultatif)", "Comment on this version (optional)";
    version_comment_hint: "Une ligne, 500 caractères au plus, montrée partout où les versions sont listées. Par exemple : « Correction des coordonnées de 3 stations ».", "One line, at most 500 characters, shown wherever versions are listed. For example: \"Fixed the coordinates of 3 stations\".";
    publish_button: "Publier", "Publish";
    draft_button: "Enregistrer comme brouillon", "Save as draft";
    draft_published: "Ce jeu de données est déjà publié : une nouvelle version est visible dès qu'elle est enregistrée. Publiez-la, ou dépubliez d'abord le jeu de données (page du jeu de données, Visibilité).", "This dataset is already published: a new version is seen as soon as it is saved. Publish it, or unpublish the dataset first (the dataset's page, Visibility).";
    save_button: "Enregistrer", "Save";
    edit_heading: "Modifier le jeu de données", "Edit the dataset";
    public_page: "page publique", "public page";
    state_label: "État :", "State:";
    sections: "Sections de la page", "Sections of the page";
    schema_edit_intro: "Pour changer les types, envoyez une nouvelle version : l'aperçu permet de corriger le schéma. Ici, choisissez les champs masqués aux visiteurs extérieurs.", "To change types, upload a new version: its preview lets you fix the schema. Here, choose the fields hidden from outside visitors.";
    hidden_button: "Enregistrer les champs masqués", "Save the hidden fields";
    attachments_heading: "Pièces jointes", "Attachments";
    attachments_caption: "Fichiers joints au jeu de données", "Files attached to the dataset";
    attachments_none: "Aucune pièce jointe.", "No attachment.";
    col_file: "Fichier", "File";
    col_size: "Taille", "Size";
    col_actions: "Actions", "Actions";
    attachment_file: "Fichier à joindre", "File to attach";
    attachment_title: "Titre (facultatif)", "Title (optional)";
    attachment_add: "Joindre", "Attach";
    attachment_replace: "Remplacer", "Replace";
    attachment_remove: "Retirer", "Remove";
    replace_file: "Nouveau fichier", "New file";
    visibility_heading: "Visibilité", "Visibility";
    publish_public: "Publier (public)", "Publish (public)";
    publish_restricted: "Publier en accès restreint", "Publish as restricted";
    unpublish: "Dépublier (brouillon)", "Unpublish (draft)";
    archive: "Archiver", "Archive";
    unarchive: "Désarchiver", "Unarchive";
    restore_trash: "Sortir de la corbeille", "Restore from the trash";
    grants_heading: "Accès accordés", "Access granted";
    grants_intro: "Personnes extérieures à l'organisation qui peuvent lire le jeu de données quand il est restreint.", "People outside the organization who may read the dataset while it is restricted.";
    grants_none: "Aucun accès accordé.", "No access granted.";
    grant_email: "Adresse e-mail", "Email address";
    grant_button: "Accorder l'accès", "Grant access";
    push_heading: "Clé de push", "Push key";
    push_intro: "Une clé de push permet d'envoyer des enregistrements en temps réel (API push d'Opendatasoft). Elle n'est montrée qu'une fois.", "A push key lets a program send records in real time (Opendatasoft's push API). It is shown once.";
    push_create: "Créer une clé de push", "Create a push key";
    push_revoke: "Révoquer les clés de push", "Revoke the push keys";
    push_shown: "Voici la clé de push. Copiez-la : elle ne sera plus montrée.", "Here is the push key. Copy it: it will not be shown again.";
    push_revoked: "clés de push révoquées.", "push keys revoked.";
    versions_heading: "Versions", "Versions";
    versions_caption: "Versions du jeu de données, la plus récente d'abord", "Versions of the dataset, newest first";
    versions_none: "Aucune version : envoyez un fichier.", "No version yet: upload a file.";
    col_number: "Version", "Version";
    col_date: "Date", "Date";
    col_source: "Source", "Source";
    col_summary: "Changements", "Changes";
    col_comment: "Commentaire", "Comment";
    save_comment: "Enregistrer le commentaire", "Save the comment";
    comment_of_version: "Commentaire de la version", "Comment of version";
    current: "actuelle", "current";
    restored_from: "restaurée depuis la version", "restored from version";
    restore: "Restaurer", "Restore";
    restore_version: "Restaurer la version", "Restore version";
    edit_metadata: "Modifier les métadonnées", "Edit the metadata";
    new_version_heading: "Nouvelle version", "New version";
    new_version_intro: "Envoyez un nouveau fichier : vous verrez son aperçu avant qu'il ne remplace les données.", "Upload a new file: you will see its preview before it replaces the data.";
    delete_heading: "Supprimer", "Delete";
    delete_intro: "Le jeu de données part à la corbeille : il disparaît partout et peut être restauré pendant quelques jours.", "The dataset goes to the trash: it disappears everywhere and can be restored for some days.";
    delete_button: "Mettre à la corbeille", "Move to the trash";
    saved: "Modification enregistrée.", "Change saved.";
    published: "Jeu de données publié.", "Dataset published.";
    draft_saved: "Enregistré comme brouillon.", "Saved as a draft.";
    too_large: "Le fichier dépasse la taille maximale acceptée par ce portail :", "The file is larger than this portal accepts:";
    no_file: "Choisissez un fichier à envoyer.", "Choose a file to send.";
    bad_org: "Choisissez une organisation dans la liste.", "Choose an organization from the list.";
    bad_action: "Action inconnue.", "Unknown action.";
    bad_type: "Type inconnu pour le champ", "Unknown type for field";
    bad_order: "L'ordre doit être un nombre entier, pour le champ", "The order must be a whole number, for field";
    back_dashboard: "Retour à mes jeux de données", "Back to my datasets";
    steps: "Étapes", "Steps";
    step_upload: "1. Fichier", "1. File";
    step_preview: "2. Aperçu et schéma", "2. Preview and schema";
    step_metadata: "3. Métadonnées et publication", "3. Metadata and publication";
}

impl BoMessages {
    /// The catalog of `lang`.
    pub fn of(lang: Lang) -> &'static BoMessages {
        match lang {
            Lang::Fr => &BO_FR,
            Lang::En => &BO_EN,
        }
    }
}

/// What a page says after a form.
#[derive(Debug, Clone, Default)]
pub struct BoNotice {
    pub saved: Option<&'static str>,
    pub error: Option<String>,
}

/// One dataset of the dashboard.
#[derive(Debug, Clone)]
pub struct BoRow {
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub org: String,
    pub version: String,
    pub modified: String,
    pub records: String,
    pub rejected: String,
    /// Left empty until schedules exist.
    pub next_refresh: String,
}

/// The dashboard.
#[derive(Template, Debug)]
#[template(path = "bo_dashboard.html")]
pub struct BoDashboardPage {
    pub layout: Layout,
    pub m: &'static BoMessages,
    pub states: Vec<Choice>,
    pub orgs: Vec<Choice>,
    pub rows: Vec<BoRow>,
    pub may_create: bool,
    /// The harvests page's link text, for those who manage harvests (`/admin/harvests/`).
    pub harvests_link: Option<&'static str>,
}

/// The new-dataset form.
#[derive(Template, Debug)]
#[template(path = "bo_new.html")]
pub struct BoNewPage {
    pub layout: Layout,
    pub m: &'static BoMessages,
    pub csrf: String,
    pub orgs: Vec<Choice>,
    pub id: String,
    pub title: String,
    pub max_size: String,
    pub notice: BoNotice,
}

/// A field of the schema form.
#[derive(Debug, Clone)]
pub struct BoField {
    pub n: usize,
    pub name: String,
    pub label: String,
    pub description: String,
    pub types: Vec<Choice>,
    pub facet: bool,
    pub hidden: bool,
    pub unique: bool,
    pub order: usize,
}

/// A rejected row, as shown.
#[derive(Debug, Clone)]
pub struct BoRejected {
    pub line: u64,
    pub location: String,
    pub field: String,
    pub value: String,
    pub reason: String,
}

/// The preview of an upload, with its schema form.
#[derive(Template, Debug)]
#[template(path = "bo_preview.html")]
pub struct BoPreviewPage {
    pub layout: Layout,
    pub m: &'static BoMessages,
    pub csrf: String,
    pub dataset: String,
    pub upload: String,
    pub format: String,
    pub encoding: String,
    pub delimiter: String,
    pub has_header: String,
    pub records: String,
    pub rejected_count: u64,
    pub rejected_shown: String,
    pub fields: Vec<BoField>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub rejected: Vec<BoRejected>,
    pub next_href: String,
    pub notice: BoNotice,
}

/// The metadata form's values.
#[derive(Debug, Clone, Default)]
pub struct BoMetaForm {
    pub title: String,
    pub description: String,
    pub themes: String,
    pub keywords: String,
    pub licences: Vec<Choice>,
    pub license_name: String,
    pub license_url: String,
    pub publisher: String,
    pub contact_name: String,
    pub contact_email: String,
    pub language: String,
    pub frequencies: Vec<Choice>,
    pub spatial: String,
    pub temporal_start: String,
    pub temporal_end: String,
    pub references: String,
    pub attributions: String,
    /// The comment on the version published with this form (an upload's last step).
    pub comment: String,
}

/// The metadata page (the new-dataset flow's last step when it carries an upload).
#[derive(Template, Debug)]
#[template(path = "bo_metadata.html")]
pub struct BoMetadataPage {
    pub layout: Layout,
    pub m: &'static BoMessages,
    pub csrf: String,
    pub dataset: String,
    pub upload: Option<String>,
    pub hidden: String,
    pub rejected_count: u64,
    /// Whether "save as draft" is offered (the dataset is still a draft).
    pub draft_allowed: bool,
    pub form: BoMetaForm,
    pub notice: BoNotice,
}

/// A field on the edit page.
#[derive(Debug, Clone)]
pub struct BoFieldView {
    pub n: usize,
    pub name: String,
    pub label: String,
    pub field_type: String,
    pub hidden: bool,
}

/// An attachment on the edit page.
#[derive(Debug, Clone)]
pub struct BoAttachment {
    pub n: usize,
    pub id: String,
    pub title: String,
    pub file_name: String,
    pub size: String,
}

/// A version on the edit page.
#[derive(Debug, Clone)]
pub struct BoVersion {
    pub number: i64,
    pub date: String,
    pub records: String,
    pub rejected: String,
    pub source: String,
    pub current: bool,
    pub restored_from: Option<i64>,
    /// Records added, removed and changed: filled in when the versions use case gives them.
    pub summary: String,
    /// The publisher's comment (empty: none).
    pub comment: String,
}

/// A dataset's edit page.
#[derive(Template, Debug)]
#[template(path = "bo_edit.html")]
pub struct BoEditPage {
    pub layout: Layout,
    pub m: &'static BoMessages,
    pub csrf: String,
    pub id: String,
    pub title: String,
    pub state: &'static str,
    pub public_href: Option<String>,
    pub draft: bool,
    pub archived: bool,
    pub deleted: bool,
    pub visibility: String,
    pub has_version: bool,
    pub fields: Vec<BoFieldView>,
    pub attachments: Vec<BoAttachment>,
    pub grants: Vec<String>,
    pub versions: Vec<BoVersion>,
    pub push_key: Option<String>,
    pub push_revoked: Option<usize>,
    pub max_size: String,
    pub notice: BoNotice,
    /// The remote-source panel (`_source_runs.html`, rendered and escaped by its own
    /// template), when the dataset has a source.
    pub source_panel: Option<String>,
}
