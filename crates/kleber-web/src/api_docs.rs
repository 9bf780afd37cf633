//! The API documentation page (`/api/docs`): a view model filled by the server from its
//! OpenAPI document, operations grouped by tag, in French or English.

use askama::Template;

use crate::Lang;
use crate::view::Layout;

/// The page.
#[derive(Template, Debug)]
#[template(path = "api_docs.html")]
pub struct ApiDocsPage {
    /// Chrome.
    pub layout: Layout,
    /// Words of the page in its language.
    pub words: &'static ApiDocsWords,
    /// The absolute URL of the OpenAPI document.
    pub document_url: String,
    /// The groups of operations, in the document's order of tags.
    pub tags: Vec<DocTag>,
}

/// A group of operations.
#[derive(Debug)]
pub struct DocTag {
    /// Its name.
    pub name: String,
    /// Its fragment identifier.
    pub anchor: String,
    /// What it is.
    pub description: String,
    /// Its operations, by path.
    pub operations: Vec<DocOperation>,
}

/// One operation.
#[derive(Debug)]
pub struct DocOperation {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path template.
    pub path: String,
    /// Its fragment identifier (the operation id).
    pub anchor: String,
    /// One line (HTML, escaped by the server: code spans only).
    pub summary: String,
    /// More, when the handler's documentation says more (HTML, as `summary`).
    pub description: String,
    /// Its parameters.
    pub params: Vec<DocParam>,
    /// The answers it documents: status and what each is.
    pub responses: Vec<(String, String)>,
    /// A `curl` command calling it on this portal.
    pub example: String,
}

/// One parameter.
#[derive(Debug)]
pub struct DocParam {
    /// Its name.
    pub name: String,
    /// `path`, `query`, `header`.
    pub location: String,
    /// Its type, with its allowed values or default.
    pub kind: String,
    /// Whether it must be given.
    pub required: bool,
    /// What it does (HTML, as [`DocOperation::summary`]).
    pub description: String,
}

/// The page's words.
#[derive(Debug)]
pub struct ApiDocsWords {
    /// Title.
    pub title: &'static str,
    /// First paragraph.
    pub intro: &'static str,
    /// Link text of the document.
    pub document: &'static str,
    /// Headings and column names.
    pub contents: &'static str,
    /// "Parameters".
    pub parameters: &'static str,
    /// "Name".
    pub name: &'static str,
    /// "In".
    pub location: &'static str,
    /// "Type".
    pub kind: &'static str,
    /// "Required".
    pub required: &'static str,
    /// "Yes".
    pub yes: &'static str,
    /// "Answers".
    pub responses: &'static str,
    /// "Example".
    pub example: &'static str,
}

const FR: ApiDocsWords = ApiDocsWords {
    title: "Documentation des API",
    intro: "Toutes les API de ce portail sont décrites par un seul document OpenAPI 3.1, produit à partir du code du serveur : l'API Explore v2.1 d'Opendatasoft (et v2.0, l'API de recherche v1, les URL de téléchargement, le push temps réel), l'API Action de CKAN, les flux Atom et l'API de gestion.",
    document: "Le document OpenAPI (JSON)",
    contents: "Sommaire",
    parameters: "Paramètres",
    name: "Nom",
    location: "Où",
    kind: "Type",
    required: "Obligatoire",
    yes: "oui",
    responses: "Réponses :",
    example: "Exemple :",
};

const EN: ApiDocsWords = ApiDocsWords {
    title: "API documentation",
    intro: "Every API of this portal is described by one OpenAPI 3.1 document, generated from the server's code: Opendatasoft's Explore API v2.1 (and v2.0, the Search API v1, the download URLs, real-time push), CKAN's Action API, the Atom feeds and the management API.",
    document: "The OpenAPI document (JSON)",
    contents: "Contents",
    parameters: "Parameters",
    name: "Name",
    location: "In",
    kind: "Type",
    required: "Required",
    yes: "yes",
    responses: "Answers:",
    example: "Example:",
};

/// The words of the page in `lang`.
pub fn words(lang: Lang) -> &'static ApiDocsWords {
    match lang {
        Lang::Fr => &FR,
        Lang::En => &EN,
    }
}
