//! View models shared by several pages: the page chrome ([`Layout`]), dataset cards, facet
//! links, pagination. They hold display-ready values (formatted text and hrefs); the
//! templates only lay them out, and askama escapes every value.

use crate::i18n::{Lang, Messages};
use crate::url::Query;

/// What every page has around its content.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The page's language.
    pub lang: Lang,
    /// Its messages.
    pub t: &'static Messages,
    /// The page title (without the site name).
    pub title: String,
    /// A one-sentence description (meta description, Open Graph).
    pub description: String,
    /// The page's path (`/explore/`).
    pub path: String,
    /// The page's query, kept by the language links.
    pub query: Query,
    /// `scheme://host` of the portal, for absolute URLs (canonical, Open Graph); may be empty.
    pub base_url: String,
    /// False for embeds: no header, footer or navigation.
    pub chrome: bool,
    /// Which main navigation item is current (`home`, `catalog`, `organizations`, `about`, or empty).
    pub nav: &'static str,
    /// Open Graph type (`website`, `article`).
    pub og_type: &'static str,
    /// A JSON-LD document, already serialized and safe inside `<script>` (see [`script_json`]).
    pub json_ld: Option<String>,
    /// Extra style sheets (URLs).
    pub styles: Vec<String>,
    /// Extra scripts (URLs), loaded with `defer`.
    pub scripts: Vec<String>,
    /// The text of the header's search box.
    pub header_q: String,
    /// The signed-in user's unread notifications (the header's badge); `None` when signed
    /// out (no link shown).
    pub unread: Option<i64>,
}

/// A link to the same page in another language.
#[derive(Debug, Clone)]
pub struct LangLink {
    /// `fr` or `en`.
    pub code: &'static str,
    /// The language's own name.
    pub name: &'static str,
    /// The link.
    pub href: String,
    /// True for the page's language.
    pub current: bool,
}

impl Layout {
    /// A layout with the defaults: chrome on, no JSON-LD, `website`.
    pub fn new(
        lang: Lang,
        title: impl Into<String>,
        path: impl Into<String>,
        query: Query,
    ) -> Layout {
        let t = lang.messages();
        Layout {
            lang,
            t,
            title: title.into(),
            description: t.tagline.to_owned(),
            path: path.into(),
            query,
            base_url: String::new(),
            chrome: true,
            nav: "",
            og_type: "website",
            json_ld: None,
            styles: Vec::new(),
            scripts: Vec::new(),
            header_q: String::new(),
            unread: None,
        }
    }

    /// The links of the language switcher.
    pub fn lang_links(&self) -> Vec<LangLink> {
        Lang::ALL
            .iter()
            .map(|&l| LangLink {
                code: l.code(),
                name: l.native_name(),
                href: self.query.set("lang", l.code()).href(&self.path),
                current: l == self.lang,
            })
            .collect()
    }

    /// The absolute URL of `href` (a path from the root) on the base URL: the one place the
    /// portal's templates join them.
    pub fn absolute(&self, href: &str) -> String {
        format!("{}{href}", self.base_url)
    }

    /// The canonical URL: the path (and query without `lang`) on the base URL.
    pub fn canonical(&self) -> String {
        self.absolute(&self.query.without(&["lang"]).href(&self.path))
    }

    /// The URL of the portal's style sheet.
    pub fn css_url(&self) -> String {
        crate::assets::url("app.css")
    }

    /// The URL of the portal's script.
    pub fn js_url(&self) -> String {
        crate::assets::url("app.js")
    }

    /// Open Graph locale (`fr_FR`, `en_GB`).
    pub fn og_locale(&self) -> &'static str {
        match self.lang {
            Lang::Fr => "fr_FR",
            Lang::En => "en_GB",
        }
    }
}

/// Serializes `value` as JSON that is safe inside a `<script>` element: `<`, `>` and `&`
/// are written as `\u003c`, `\u003e`, `\u0026`, so no `</script>` or comment can appear.
pub fn script_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A link with a text.
#[derive(Debug, Clone)]
pub struct Link {
    /// The text.
    pub label: String,
    /// The target.
    pub href: String,
}

/// A dataset in a list.
#[derive(Debug, Clone)]
pub struct DatasetCard {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// Plain-text description, shortened.
    pub summary: String,
    /// Publisher, with a link to its page.
    pub publisher: Option<Link>,
    /// Themes, with links to the catalog refined by them.
    pub themes: Vec<Link>,
    /// Last modification, formatted.
    pub modified: String,
    /// Record count, formatted with its unit.
    pub records: String,
    /// True when the dataset has a geo field.
    pub geo: bool,
}

impl DatasetCard {
    /// The dataset page.
    pub fn href(&self) -> String {
        format!("/explore/dataset/{}/", self.id)
    }
}

/// One value of a facet, as a link that refines (or un-refines) by it.
#[derive(Debug, Clone)]
pub struct FacetLink {
    /// What the reader sees.
    pub label: String,
    /// The count, formatted.
    pub count: String,
    /// The link.
    pub href: String,
    /// True when this value is refined.
    pub selected: bool,
    /// Its level in a date tree: 0 for a year, 1 for a month, 2 for a day.
    pub depth: usize,
}

/// The values of one facet.
#[derive(Debug, Clone)]
pub struct FacetBlock {
    /// The `data-facet` key (`theme`, `publisher`, or a field name).
    pub key: String,
    /// Its title.
    pub title: String,
    /// Its values.
    pub values: Vec<FacetLink>,
}

/// An active filter, with the link that removes it.
#[derive(Debug, Clone)]
pub struct ActiveFilter {
    /// Facet title and value.
    pub label: String,
    /// The page without this filter.
    pub remove_href: String,
}

/// An option of a `<select>`.
#[derive(Debug, Clone)]
pub struct SelectOption {
    /// The submitted value.
    pub value: String,
    /// What the reader sees.
    pub label: String,
    /// True when selected.
    pub selected: bool,
}

/// Page links.
#[derive(Debug, Clone, Default)]
pub struct Pagination {
    /// The current page, from 1.
    pub current: u64,
    /// The number of pages reachable.
    pub pages: u64,
    /// The previous page, if any.
    pub prev: Option<String>,
    /// The next page, if any.
    pub next: Option<String>,
    /// Numbered links around the current page: (number, href, current).
    pub numbers: Vec<(u64, String, bool)>,
}

impl Pagination {
    /// Links for `pages` pages, built by `href(page)`.
    pub fn new(current: u64, pages: u64, href: impl Fn(u64) -> String) -> Pagination {
        let current = current.max(1);
        let low = current.saturating_sub(2).max(1);
        let high = (current + 2).min(pages);
        Pagination {
            current,
            pages,
            prev: (current > 1).then(|| href(current - 1)),
            next: (current < pages).then(|| href(current + 1)),
            numbers: (low..=high).map(|p| (p, href(p), p == current)).collect(),
        }
    }

    /// True when there is more than one page.
    pub fn visible(&self) -> bool {
        self.pages > 1
    }
}

/// A hidden form input, to keep state through a form submission.
#[derive(Debug, Clone)]
pub struct Hidden {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

impl Hidden {
    /// The pairs of `query` except `keys`, as hidden inputs.
    pub fn keep(query: &Query, except: &[&str]) -> Vec<Hidden> {
        query
            .without(except)
            .pairs()
            .iter()
            .map(|(name, value)| Hidden { name: name.clone(), value: value.clone() })
            .collect()
    }
}

/// A cell of a data table.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    /// The value as the reader sees it.
    pub text: String,
    /// True for a number (right-aligned, tabular figures).
    pub numeric: bool,
}
