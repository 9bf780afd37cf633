//! The pages: one askama template each, over a view model the server fills in.
//!
//! Render any of them with [`crate::render`].

use askama::Template;

use crate::view::{
    ActiveFilter, Cell, DatasetCard, FacetBlock, Hidden, Layout, Link, Pagination, SelectOption,
};

/// The home page.
#[derive(Template, Debug)]
#[template(path = "home.html")]
pub struct HomePage {
    /// Chrome.
    pub layout: Layout,
    /// Published datasets: the number formatted, and its unit.
    pub datasets: (String, &'static str),
    /// Records in all datasets: the number formatted, and its unit.
    pub records: (String, &'static str),
    /// Publishers: the number formatted, and its unit.
    pub publishers: (String, &'static str),
    /// Themes with their counts.
    pub themes: Vec<crate::view::FacetLink>,
    /// Latest modified datasets.
    pub latest: Vec<DatasetCard>,
    /// Most viewed datasets.
    pub popular: Vec<DatasetCard>,
    /// The portal admins' introduction, rendered from Markdown and sanitised.
    pub intro_html: Option<String>,
    /// The featured datasets the visitor may read, in order.
    pub featured: Vec<DatasetCard>,
}

/// The catalog, `/explore/`.
#[derive(Template, Debug)]
#[template(path = "catalog.html")]
pub struct CatalogPage {
    /// Chrome.
    pub layout: Layout,
    /// The search text.
    pub q: String,
    /// Sort options.
    pub sorts: Vec<SelectOption>,
    /// Pairs to keep when the search form is submitted (refinements).
    pub hidden: Vec<Hidden>,
    /// Matching datasets, formatted with unit.
    pub total: String,
    /// This page's datasets.
    pub cards: Vec<DatasetCard>,
    /// Facets.
    pub facets: Vec<FacetBlock>,
    /// Active refinements.
    pub active: Vec<ActiveFilter>,
    /// The catalog without any refinement or search.
    pub clear_href: String,
    /// Page links.
    pub pagination: Pagination,
}

/// What every dataset page shows above its tab.
#[derive(Debug, Clone)]
pub struct DatasetHeader {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// Publisher.
    pub publisher: Option<Link>,
    /// Last modification, formatted.
    pub modified: String,
    /// Record count, with unit.
    pub records: String,
    /// The tabs.
    pub tabs: Vec<Tab>,
    /// The full page of the current tab (for embeds).
    pub full_page_href: String,
    /// When the page shows an earlier version, its number.
    pub old_version: Option<i64>,
    /// The current tab at the current version (the banner's link).
    pub current_href: String,
    /// The follow button, for a signed-in user, on every tab (docs/feeds.md#following-a-dataset).
    pub follow: Option<crate::notifications::FollowButton>,
}

/// A tab of a dataset page.
#[derive(Debug, Clone)]
pub struct Tab {
    /// `information`, `table`, ...
    pub key: &'static str,
    /// Its name.
    pub label: &'static str,
    /// Its URL (keeping the filters).
    pub href: String,
    /// True for the tab shown.
    pub current: bool,
}

/// One line of a definition list.
#[derive(Debug, Clone)]
pub struct Fact {
    /// The term.
    pub term: &'static str,
    /// Its value (text).
    pub value: String,
    /// A link, when the value has one.
    pub href: Option<String>,
}

/// A field of the schema.
#[derive(Debug, Clone)]
pub struct SchemaField {
    /// Technical name.
    pub name: String,
    /// Label.
    pub label: String,
    /// Type name.
    pub field_type: String,
    /// Description, if any.
    pub description: String,
}

/// The information tab.
#[derive(Template, Debug)]
#[template(path = "dataset_information.html")]
pub struct InformationPage {
    /// Chrome.
    pub layout: Layout,
    /// Header and tabs.
    pub ds: DatasetHeader,
    /// The description, sanitized HTML (see [`crate::sanitize_html`]).
    pub description_html: String,
    /// Metadata.
    pub facts: Vec<Fact>,
    /// Themes.
    pub themes: Vec<Link>,
    /// Keywords.
    pub keywords: Vec<Link>,
    /// Schema.
    pub fields: Vec<SchemaField>,
}

/// The filter form, facets and active filters of the table and map tabs.
#[derive(Debug, Clone, Default)]
pub struct RecordFilters {
    /// The text searched.
    pub q: String,
    /// Pairs kept by the filter form.
    pub hidden: Vec<Hidden>,
    /// Facets of the records.
    pub facets: Vec<FacetBlock>,
    /// Active refinements.
    pub active: Vec<ActiveFilter>,
    /// The tab without filters.
    pub clear_href: String,
    /// Matching records, with unit.
    pub total: String,
}

/// A column header of the records table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Label.
    pub label: String,
    /// Field name.
    pub name: String,
    /// Link that sorts by it (ascending, or descending when already ascending).
    pub sort_href: Option<String>,
    /// `ascending`, `descending` or `none` (for `aria-sort`).
    pub sorted: &'static str,
    /// The action the sort link performs, for its accessible name.
    pub sort_action: &'static str,
    /// True for a numeric column (its header aligned with its figures).
    pub numeric: bool,
}

/// A row of the records table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The cells, formatted.
    pub cells: Vec<Cell>,
    /// The link to the record's detail.
    pub detail_href: String,
    /// The record id.
    pub record_id: String,
}

/// One record in detail.
#[derive(Debug, Clone)]
pub struct RecordDetail {
    /// (label, value) pairs.
    pub values: Vec<(String, String)>,
    /// The link that closes the detail.
    pub close_href: String,
    /// The record in the API.
    pub api_href: String,
}

/// The table tab.
#[derive(Template, Debug)]
#[template(path = "dataset_table.html")]
pub struct TablePage {
    /// Chrome.
    pub layout: Layout,
    /// Header and tabs.
    pub ds: DatasetHeader,
    /// Filters.
    pub filters: RecordFilters,
    /// Column headers.
    pub columns: Vec<Column>,
    /// Rows.
    pub rows: Vec<Row>,
    /// Page links.
    pub pagination: Pagination,
    /// The record shown in detail, if one is asked.
    pub detail: Option<RecordDetail>,
    /// True when `?record=` named a record that does not exist.
    pub detail_missing: bool,
    /// True when the page number was capped by the 10 000-record window.
    pub window_capped: bool,
}

/// The map tab.
#[derive(Template, Debug)]
#[template(path = "dataset_map.html")]
pub struct MapPage {
    /// Chrome.
    pub layout: Layout,
    /// Header and tabs.
    pub ds: DatasetHeader,
    /// Filters.
    pub filters: RecordFilters,
    /// The API URL (JSON export) the script fetches the located records from.
    pub data_url: String,
    /// The tile URL template.
    pub tile_url: String,
    /// The tiles' attribution (text).
    pub tile_attribution: String,
    /// Located records listed without script: (title, location in words, detail href).
    pub located: Vec<(String, String, String)>,
    /// Field labels by field name, as JSON (the popups name values by label).
    pub labels_json: String,
    /// Column label of the title.
    pub title_label: String,
    /// Column label of the location (`Position` for points, `Forme` for shapes).
    pub location_label: &'static str,
    /// Name of the field whose value names a marker (its title and alternative text).
    pub title_field: String,
    /// Page links of the list.
    pub pagination: Pagination,
}

/// The analyze tab.
#[derive(Template, Debug)]
#[template(path = "dataset_analyze.html")]
pub struct AnalyzePage {
    /// Chrome.
    pub layout: Layout,
    /// Header and tabs.
    pub ds: DatasetHeader,
    /// Filters (kept by the chart builder; the facets are not shown).
    pub filters: RecordFilters,
    /// Choices for x.
    pub x_options: Vec<SelectOption>,
    /// Choices for y.
    pub y_options: Vec<SelectOption>,
    /// Choices for the chart type.
    pub type_options: Vec<SelectOption>,
    /// The chart's title.
    pub caption: String,
    /// The x column header.
    pub x_label: String,
    /// The y column header.
    pub y_label: String,
    /// The groups, as the data table shows them.
    pub rows: Vec<ChartRow>,
    /// The chart's data for the script, safe inside `<script>` (see [`crate::view::script_json`]).
    pub chart_json: String,
}

/// A row of the chart's data table.
#[derive(Debug, Clone)]
pub struct ChartRow {
    /// The group (x), as the reader sees it.
    pub x: String,
    /// The value (y), formatted in the page's language.
    pub y: String,
    /// The value as a plain number (`1389081`, `14.8`), for scripts; empty when there is none.
    pub raw: String,
}

/// A code example.
#[derive(Debug, Clone)]
pub struct Snippet {
    /// Its id (for the copy button).
    pub id: String,
    /// What it does.
    pub title: String,
    /// The code.
    pub code: String,
}

/// A group of code examples.
#[derive(Debug, Clone)]
pub struct SnippetGroup {
    /// Heading.
    pub heading: &'static str,
    /// Examples.
    pub snippets: Vec<Snippet>,
}

/// The api tab.
#[derive(Template, Debug)]
#[template(path = "dataset_api.html")]
pub struct ApiPage {
    /// Chrome.
    pub layout: Layout,
    /// Header and tabs.
    pub ds: DatasetHeader,
    /// Examples.
    pub groups: Vec<SnippetGroup>,
}

/// One export format.
#[derive(Debug, Clone)]
pub struct ExportFormat {
    /// Name (`csv`).
    pub name: String,
    /// The whole dataset.
    pub all_href: String,
    /// With the current filters, when there are some.
    pub filtered_href: Option<String>,
}

/// One version in the versions tab.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// Number.
    pub number: i64,
    /// Publication date, formatted.
    pub published: String,
    /// Records, with unit (empty when unknown).
    pub records: String,
    /// What changed, in words (empty when unknown).
    pub changes: String,
    /// The publisher's comment (empty: none); escaped by the template like any text.
    pub comment: String,
    /// Whether it is the current version.
    pub current: bool,
    /// Whether its data is gone.
    pub pruned: bool,
    /// The table tab at this version.
    pub view_href: String,
    /// Its CSV export.
    pub download_href: String,
    /// Its changes from the previous version, as CSV (none for a first version).
    pub diff_href: Option<String>,
}

/// The versions tab (docs/versions.md).
#[derive(Template, Debug)]
#[template(path = "dataset_versions.html")]
pub struct VersionsPage {
    /// Chrome.
    pub layout: Layout,
    /// Header and tabs.
    pub ds: DatasetHeader,
    /// Versions, newest first.
    pub versions: Vec<VersionRow>,
}

/// The export tab.
#[derive(Template, Debug)]
#[template(path = "dataset_export.html")]
pub struct ExportPage {
    /// Chrome.
    pub layout: Layout,
    /// Header and tabs.
    pub ds: DatasetHeader,
    /// Active filters (from the table), if any.
    pub active: Vec<ActiveFilter>,
    /// Formats.
    pub formats: Vec<ExportFormat>,
    /// Records matching the filters, with unit.
    pub filtered_total: String,
    /// The export tab without filters.
    pub clear_href: String,
}

/// A publisher's page.
#[derive(Template, Debug)]
#[template(path = "publisher.html")]
pub struct PublisherPage {
    /// Chrome.
    pub layout: Layout,
    /// The publisher's name.
    pub name: String,
    /// Its datasets.
    pub cards: Vec<DatasetCard>,
    /// Count, with unit.
    pub total: String,
}

/// An organization's page, `/organizations/{org}/`.
#[derive(Template, Debug)]
#[template(path = "organization.html")]
pub struct OrganizationPage {
    /// Chrome.
    pub layout: Layout,
    /// The organization's name.
    pub name: String,
    /// Its kind, in the page's language.
    pub kind: String,
    /// Its description, as plain-text paragraphs.
    pub description: Vec<String>,
    /// Its web site (an http(s) address), if any.
    pub website: Option<String>,
    /// Its logo's address (an http(s) address, loaded by the browser), if any.
    pub logo: Option<String>,
    /// Count of the datasets the reader sees, with unit.
    pub total: String,
    /// Those datasets, latest modified first.
    pub cards: Vec<DatasetCard>,
}

/// One organization in the index.
#[derive(Debug, Clone)]
pub struct OrganizationItem {
    /// Name and page.
    pub link: Link,
    /// Kind, in the page's language.
    pub kind: String,
    /// Count of the datasets the reader sees, with unit.
    pub total: String,
}

/// The organizations index, `/organizations/`.
#[derive(Template, Debug)]
#[template(path = "organizations.html")]
pub struct OrganizationsPage {
    /// Chrome.
    pub layout: Layout,
    /// Organizations with at least one dataset the reader sees, by name.
    pub items: Vec<OrganizationItem>,
}

/// The about page.
#[derive(Template, Debug)]
#[template(path = "about.html")]
pub struct AboutPage {
    /// Chrome.
    pub layout: Layout,
    /// Counts, with unit.
    pub datasets: String,
    /// The portal admins' text, rendered from Markdown and sanitised (replaces the
    /// portal's own text when set).
    pub body_html: Option<String>,
}

/// An error page (404, 400, 500).
#[derive(Template, Debug)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// Chrome.
    pub layout: Layout,
    /// HTTP status.
    pub status: u16,
    /// Heading.
    pub heading: String,
    /// Explanation.
    pub text: String,
}

/// An Atom entry.
#[derive(Debug, Clone)]
pub struct FeedEntry {
    /// Absolute URL of the dataset page (also the entry id).
    pub url: String,
    /// Title.
    pub title: String,
    /// Plain-text summary.
    pub summary: String,
    /// RFC 3339 update time.
    pub updated: String,
    /// RFC 3339 publication time.
    pub published: String,
    /// Author (publisher).
    pub author: String,
    /// Theme categories.
    pub categories: Vec<String>,
}

/// The Atom feed of new and updated datasets.
#[derive(Template, Debug)]
#[template(path = "feed.atom", escape = "html")]
pub struct Feed {
    /// Feed title.
    pub title: String,
    /// Absolute URL of the feed.
    pub self_url: String,
    /// Absolute URL of the catalog.
    pub site_url: String,
    /// Latest update.
    pub updated: String,
    /// Entries, newest first.
    pub entries: Vec<FeedEntry>,
}

/// A sitemap entry.
#[derive(Debug, Clone)]
pub struct SitemapUrl {
    /// Absolute URL.
    pub loc: String,
    /// Last modification (W3C datetime), if known.
    pub lastmod: Option<String>,
}

/// `sitemap.xml`.
#[derive(Template, Debug)]
#[template(path = "sitemap.xml", escape = "html")]
pub struct Sitemap {
    /// URLs.
    pub urls: Vec<SitemapUrl>,
}
