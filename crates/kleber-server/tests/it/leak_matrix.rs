//! The leak matrix (issue 12, docs/security.md#the-leak-matrix): every route of the router ×
//! every caller × every dataset kind, generated from the route table.
//!
//! One data directory holds a public, a restricted and a draft dataset of one organization,
//! two public datasets with an access rule for outsiders (one hides a field, one filters
//! records), and a public dataset derived from the restricted one (seen only by those who
//! read its input whole, docs/crossing.md#visibility); every secret (identifier, title,
//! description, publisher, field name, value; the hidden field's name and values, the
//! filtered records' values) carries its dataset's marker. The oracle of a caller is a copy of that directory from which the datasets the
//! caller may not see were deleted and, for an outsider of the rules, whose ruled datasets
//! hold only what outsiders may see (the data imported without the hidden column and without
//! the filtered rows, and no rule), queried with the same key: whatever the
//! caller gets from the real server must be exactly what it gets from its oracle (status,
//! headers, body, `ETag`), so a hidden dataset answers as one that does not exist, no count
//! includes it, no `ETag` or `304` depends on it. The callers who see everything are asked
//! first, so a cached answer shared across audiences would show as a difference too.
//!
//! Every pattern of the route table must have an entry in [`ENTRIES`]: a route added later
//! without one fails [`every_route_has_a_matrix_entry`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use kleber_app::RequestContext;
use kleber_app::accounts::{Accounts, operator};
use kleber_app::import::ImportRequest;
use kleber_store::{Role, Scope, Store, Visibility};

use crate::common::{TestServer, app_over};

/// Every route pattern, with the query strings it is asked with (`{id}` is the dataset's
/// identifier). A pattern whose path or queries name `{id}`, `{record_id}` or `{slug}` is
/// asked once per dataset kind; the others once.
const ENTRIES: &[(&str, &[&str])] = &[
    // Explore v2.1.
    ("/api/explore/v2.1", &[""]),
    ("/api/explore/v2.1/catalog", &[""]),
    ("/api/explore/v2.1/catalog/datasets", &["", "?where=%22rqz7%22", "?limit=100"]),
    ("/api/explore/v2.1/catalog/facets", &["", "?facet=publisher"]),
    ("/api/explore/v2.1/catalog/exports", &[""]),
    ("/api/explore/v2.1/catalog/exports/{format}", &[""]),
    ("/api/explore/v2.1/catalog/datasets/{id}", &[""]),
    (
        "/api/explore/v2.1/catalog/datasets/{id}/records",
        // The hidden field and a filtered value named in clauses (as unknown: outsiders).
        &[
            "",
            "?select=count(*)",
            "?select=hfx9secret",
            "?where=hfx9flag&select=count(*)",
            "?where=statut%3D%22fqm3interne%22",
        ],
    ),
    ("/api/explore/v2.1/catalog/datasets/{id}/records/{record_id}", &[""]),
    ("/api/explore/v2.1/catalog/datasets/{id}/facets", &["?facet=valeur", "?facet=hfx9flag"]),
    ("/api/explore/v2.1/catalog/datasets/{id}/exports", &[""]),
    ("/api/explore/v2.1/catalog/datasets/{id}/exports/{format}", &[""]),
    ("/api/explore/v2.1/catalog/datasets/{id}/attachments", &[""]),
    ("/api/explore/v2.1/catalog/datasets/{id}/clusters", &["", "?zoom=3"]),
    // ---- versions, changes and `version=N` (docs/versions.md) (begin) ----
    // (Unknown and bad versions on routes other than the main ones, which must answer 200 to
    // callers who see everything.)
    ("/api/explore/v2.1/catalog/datasets/{id}/versions", &[""]),
    ("/api/explore/v2.1/catalog/datasets/{id}/changes", &["", "?from=1", "?from=1&format=csv"]),
    (
        "/api/explore/v2.1/catalog/datasets/{id}/records",
        &["?version=1", "?version=1&select=hfx9secret"],
    ),
    ("/api/explore/v2.1/catalog/datasets/{id}", &["?version=1"]),
    (
        "/api/explore/v2.1/catalog/datasets/{id}/exports/{format}",
        &["?version=1", "?version=2", "?version=x"],
    ),
    ("/api/explore/v2.1/catalog/datasets/{id}/facets", &["?facet=valeur&version=7"]),
    ("/api/records/1.0/search", &["?dataset={id}&version=1"]),
    ("/explore/dataset/{id}/{tab}", &["?version=1", "?version=3"]),
    // ---- versions (end) ----
    // The management API.
    ("/api/management/v1/audit", &["", "?limit=100"]),
    // ---- management API: datasets, attachments, versions, organizations (begin) ----
    ("/api/management/v1/openapi.json", &[""]),
    ("/api/management/v1/licences", &[""]),
    ("/api/management/v1/datasets", &[""]),
    ("/api/management/v1/datasets/{id}", &[""]),
    ("/api/management/v1/datasets/{id}/metadata", &[""]),
    ("/api/management/v1/datasets/{id}/restore", &[""]),
    ("/api/management/v1/datasets/{id}/publish", &[""]),
    ("/api/management/v1/datasets/{id}/unpublish", &[""]),
    ("/api/management/v1/datasets/{id}/archive", &[""]),
    ("/api/management/v1/datasets/{id}/unarchive", &[""]),
    ("/api/management/v1/datasets/{id}/attachments", &[""]),
    ("/api/management/v1/datasets/{id}/attachments/{attachment_id}", &[""]),
    ("/api/management/v1/datasets/{id}/versions", &[""]),
    ("/api/management/v1/datasets/{id}/versions/{number}/restore", &[""]),
    // ---- version comments (version_comments.rs; PUT and POST only, asked with GET) (begin) ----
    ("/api/management/v1/datasets/{id}/versions/{number}/comment", &[""]),
    ("/admin/datasets/{id}/versions/{number}/comment", &[""]),
    // ---- version comments (end) ----
    ("/api/management/v1/datasets/{id}/push-keys", &[""]),
    ("/api/management/v1/organizations", &[""]),
    ("/api/management/v1/organizations/{org}/members", &[""]),
    ("/api/management/v1/organizations/{org}/members/{email}", &[""]),
    ("/api/management/v1/organizations/{org}/invitations", &[""]),
    ("/api/management/v1/organizations/{org}/keys", &[""]),
    ("/api/management/v1/organizations/{org}/keys/{key_id}", &[""]),
    ("/api/explore/v2.1/catalog/datasets/{id}/attachments/{attachment_id}", &[""]),
    // ---- management API (end) ----
    // ---- remote sources (begin) ----
    ("/api/management/v1/datasets/{id}/sources", &[""]),
    ("/api/management/v1/datasets/{id}/sources/run", &[""]),
    ("/api/management/v1/datasets/{id}/sources/runs", &["", "?limit=5"]),
    // ---- remote sources (end) ----
    // ---- harvest sources (begin) ----
    ("/api/management/v1/harvests", &[""]),
    ("/api/management/v1/harvests/{harvest}", &[""]),
    ("/api/management/v1/harvests/{harvest}/run", &[""]),
    ("/api/management/v1/harvests/{harvest}/runs", &[""]),
    // ---- harvest sources (end) ----
    // ---- processors (begin) ----
    ("/api/management/v1/datasets/{id}/processors", &[""]),
    ("/api/management/v1/datasets/{id}/processors/preview", &[""]),
    // ---- processors (end) ----
    // ---- derived datasets (docs/crossing.md) (begin) ----
    // Asked with GET: `refresh` and `allow` answer 405 to everyone alike. The derived kind
    // (`Kind::Derived`) crosses every route with the rule of docs/crossing.md#visibility.
    ("/api/management/v1/datasets/{id}/derivation", &[""]),
    ("/api/management/v1/datasets/{id}/derivation/refresh", &[""]),
    ("/api/management/v1/datasets/{id}/derivation/allow", &[""]),
    // ---- derived datasets (end) ----
    // ---- version retention (begin) ----
    ("/api/management/v1/datasets/{id}/retention", &[""]),
    ("/api/management/v1/portal/retention", &[""]),
    // ---- version retention (end) ----
    // ---- change feeds (docs/feeds.md) (begin) ----
    // The stream asked with timeout=0: access is checked, then it ends at once.
    ("/api/explore/v2.1/catalog/datasets/{id}/versions.atom", &[""]),
    ("/api/explore/v2.1/catalog/versions.atom", &["", "?limit=2"]),
    ("/api/explore/v2.1/catalog/datasets/{id}/changes/stream", &["?timeout=0"]),
    ("/api/management/v1/webhooks", &[""]),
    ("/api/management/v1/webhooks/{hook_id}", &[""]),
    ("/api/management/v1/webhooks/{hook_id}/deliveries", &[""]),
    ("/account/follow/{id}", &[""]),
    ("/account/notifications", &[""]),
    ("/account/notifications/", &[""]),
    ("/account/notifications/read", &[""]),
    // ---- change feeds (end) ----
    // --- Uploads and the real-time push (issue 13: api/management/uploads.rs, api/push.rs).
    // Asked with GET: the POST and PUT routes answer 405 to everyone alike, and an upload
    // is only ever its owner's (UploadNotFound for every caller here).
    ("/api/management/v1/uploads", &[""]),
    ("/api/management/v1/uploads/{id}", &[""]),
    ("/api/management/v1/uploads/{id}/schema", &[""]),
    ("/api/push/1.0/{id}/realtime/push", &["", "?pushkey=push_000000000000_00"]),
    // --- End of uploads and the real-time push.
    // Explore v2.0 and its /api/v2 alias.
    ("/api/explore/v2.0", &[""]),
    ("/api/explore/v2.0/catalog", &[""]),
    ("/api/explore/v2.0/catalog/datasets", &["", "?where=%22dxk4%22"]),
    ("/api/explore/v2.0/catalog/facets", &[""]),
    ("/api/explore/v2.0/catalog/datasets/{id}", &[""]),
    ("/api/explore/v2.0/catalog/datasets/{id}/facets", &["?facet=valeur"]),
    ("/api/explore/v2.0/catalog/datasets/{id}/records", &[""]),
    ("/api/explore/v2.0/catalog/datasets/{id}/records/{record_id}", &[""]),
    ("/api/explore/v2.0/catalog/datasets/{id}/exports", &[""]),
    ("/api/explore/v2.0/catalog/datasets/{id}/exports/{format}", &[""]),
    ("/api/explore/v2.0/catalog/datasets/{id}/attachments", &[""]),
    ("/api/explore/v2.0/catalog/datasets/{id}/attachments/{file}", &[""]),
    ("/api/explore/v2.0/catalog/datasets/{id}/alternative_exports/{file}", &[""]),
    ("/api/v2", &[""]),
    ("/api/v2/catalog", &[""]),
    ("/api/v2/catalog/datasets", &[""]),
    ("/api/v2/catalog/facets", &[""]),
    ("/api/v2/catalog/datasets/{id}", &[""]),
    ("/api/v2/catalog/datasets/{id}/facets", &[""]),
    ("/api/v2/catalog/datasets/{id}/records", &[""]),
    ("/api/v2/catalog/datasets/{id}/records/{record_id}", &[""]),
    ("/api/v2/catalog/datasets/{id}/exports", &[""]),
    ("/api/v2/catalog/datasets/{id}/exports/{format}", &[""]),
    ("/api/v2/catalog/datasets/{id}/attachments", &[""]),
    ("/api/v2/catalog/datasets/{id}/attachments/{file}", &[""]),
    ("/api/v2/catalog/datasets/{id}/alternative_exports/{file}", &[""]),
    // Search API v1 and the download URL.
    ("/api/records/1.0/search", &["?dataset={id}", "?dataset={id}&facet=valeur"]),
    ("/api/records/1.0/download", &["?dataset={id}", "?dataset={id}&format=json"]),
    ("/api/records/1.0/analyze", &["?dataset={id}&x=valeur&y.n.func=COUNT"]),
    ("/api/records/1.0/boundingbox", &["?dataset={id}"]),
    ("/api/records/1.0/geocluster", &["?dataset={id}"]),
    ("/api/datasets/1.0/search", &["", "?q=rqz7", "?rows=100&facet=publisher"]),
    ("/api/datasets/1.0/{id}", &[""]),
    ("/api/datasets/1.0/{id}/records/{record_id}", &[""]),
    ("/api/datasets/1.0/{id}/attachments/{attachment}", &[""]),
    ("/api/datasets/1.0/{id}/alternative_exports/{attachment}", &[""]),
    ("/explore/dataset/{id}/download", &["", "?format=json"]),
    // ---- Data Package, RSS, data.json (issue 16 items 4 and 6): begin ----
    ("/api/explore/v2.1/catalog/datasets/{id}/datapackage.json", &[""]),
    ("/api/explore/v2.1/catalog/exports/rss", &["", "?where=%22rqz7%22"]),
    ("/api/explore/v2.1/catalog/exports/data.json", &["", "?limit=100"]),
    ("/data.json", &[""]),
    // ---- Data Package, RSS, data.json: end ----
    // ---- CKAN's Action API (issue 16 item 3), both mounts: begin ----
    ("/api/3/action/status_show", &[""]),
    ("/api/3/action/package_list", &["", "?limit=100"]),
    (
        "/api/3/action/package_search",
        &[
            "",
            "?q=rqz7&include_private=true",
            "?include_private=true&include_drafts=true&rows=100&facet.field=%5B%22organization%22%2C%22res_format%22%5D",
            "?fq=name:{id}&include_private=true&include_drafts=true",
        ],
    ),
    ("/api/3/action/package_show", &["?id={id}"]),
    ("/api/3/action/resource_show", &["?id={id}.csv", "?id={id}.json"]),
    ("/api/3/action/organization_list", &["", "?all_fields=true"]),
    ("/api/3/action/organization_show", &["?id=ems&include_datasets=true", "?id=autre"]),
    ("/api/3/action/group_list", &["?all_fields=true"]),
    ("/api/3/action/tag_list", &["", "?all_fields=true"]),
    (
        "/api/3/action/datastore_search",
        &["?resource_id={id}.csv", "?resource_id={id}.csv&q=rqz7&records_format=csv"],
    ),
    ("/api/3/action/datastore_search_sql", &["?sql=SELECT%201"]),
    ("/api/3/action/help_show", &["?name=package_search"]),
    ("/api/action/status_show", &[""]),
    ("/api/action/package_list", &[""]),
    ("/api/action/package_search", &["?include_private=true&include_drafts=true"]),
    ("/api/action/package_show", &["?id={id}"]),
    ("/api/action/resource_show", &["?id={id}.csv"]),
    ("/api/action/organization_list", &["?all_fields=true"]),
    ("/api/action/organization_show", &["?id=ems&include_datasets=true"]),
    ("/api/action/group_list", &[""]),
    ("/api/action/tag_list", &[""]),
    ("/api/action/datastore_search", &["?resource_id={id}.csv&limit=1"]),
    ("/api/action/datastore_search_sql", &[""]),
    ("/api/action/help_show", &["?name=datastore_search"]),
    // ---- CKAN's Action API: end ----
    // ---- DCAT-AP (issue 16 item 1): begin ----
    ("/api/explore/v2.1/catalog/exports/dcat", &["", "?profile=2.1.1"]),
    ("/api/explore/v2.1/catalog/exports/rdf", &[""]),
    ("/api/explore/v2.1/catalog/exports/ttl", &["", "?limit=1", "?limit=1&offset=2"]),
    ("/api/explore/v2.1/catalog/exports/jsonld", &[""]),
    ("/api/explore/v2.1/catalog/exports/nt", &["", "?limit=2&offset=1"]),
    ("/api/explore/v2.1/catalog/exports/dcat_ap_3", &[""]),
    ("/api/explore/v2.1/catalog/exports/dcat_ap_2.1.1", &[""]),
    (
        "/api/explore/v2.1/catalog/datasets/{id}/exports/dcat",
        &["", "?format=ttl", "?format=jsonld&profile=2.1.1"],
    ),
    // ---- DCAT-AP: end ----
    // The portal.
    ("/", &[""]),
    ("/robots.txt", &[""]),
    ("/sitemap.xml", &[""]),
    ("/feed.atom", &[""]),
    ("/static/{*path}", &[""]),
    ("/explore", &["", "?q=rqz7", "?q=dxk4"]),
    ("/explore/", &[""]),
    ("/explore/feed.atom", &[""]),
    ("/explore/dataset/{id}", &[""]),
    ("/explore/dataset/{id}/", &[""]),
    ("/explore/dataset/{id}/{tab}", &[""]),
    ("/explore/dataset/{id}/{tab}/", &[""]),
    ("/explore/embed/dataset/{id}/{tab}", &[""]),
    ("/explore/embed/dataset/{id}/{tab}/", &[""]),
    ("/publisher/{slug}", &[""]),
    ("/publisher/{slug}/", &[""]),
    ("/about", &[""]),
    ("/about/", &[""]),
    ("/organizations", &[""]),
    ("/organizations/", &[""]),
    ("/organizations/{org}", &[""]),
    ("/organizations/{org}/", &[""]),
    // Signing in and the account page (their forms are POSTs: asked here with GET).
    ("/login", &[""]),
    ("/login/", &[""]),
    ("/logout", &[""]),
    ("/logout/", &[""]),
    ("/account", &[""]),
    ("/account/", &[""]),
    ("/account/keys", &[""]),
    ("/account/keys/{id}/revoke", &[""]),
    ("/invitation/{token}", &[""]),
    // --- Administration pages (web/admin.rs): for sessions only, so every caller here (keys,
    // anonymous) gets the missing page; POST forms asked with GET. ---
    ("/admin", &[""]),
    ("/admin/", &[""]),
    ("/admin/audit", &["", "?org=ems&action=dataset.visibility"]),
    ("/admin/audit/", &[""]),
    ("/admin/organizations", &[""]),
    ("/admin/organizations/", &[""]),
    ("/admin/organizations/{org}", &[""]),
    ("/admin/organizations/{org}/", &[""]),
    ("/admin/organizations/{org}/edit", &[""]),
    ("/admin/organizations/{org}/members/role", &[""]),
    ("/admin/organizations/{org}/members/remove", &[""]),
    ("/admin/organizations/{org}/invitations", &[""]),
    ("/admin/organizations/{org}/invitations/revoke", &[""]),
    ("/admin/users", &[""]),
    ("/admin/users/", &[""]),
    ("/admin/users/disable", &[""]),
    ("/admin/users/admin", &[""]),
    // --- end of the administration pages ---
    // --- Back office (web/backoffice.rs): for sessions only, so every caller here (keys,
    // anonymous) gets the missing page; POST forms asked with GET. ---
    ("/admin/datasets", &["", "?state=draft&org=ems"]),
    ("/admin/datasets/", &[""]),
    ("/admin/datasets/new", &[""]),
    ("/admin/datasets/{id}", &[""]),
    ("/admin/datasets/{id}/", &[""]),
    ("/admin/datasets/{id}/metadata", &[""]),
    ("/admin/datasets/{id}/uploads/{upload}", &[""]),
    ("/admin/datasets/{id}/uploads/{upload}/schema", &[""]),
    ("/admin/datasets/{id}/upload", &[""]),
    ("/admin/datasets/{id}/attachments", &[""]),
    ("/admin/datasets/{id}/attachments/{attachment}/remove", &[""]),
    ("/admin/datasets/{id}/lifecycle", &[""]),
    ("/admin/datasets/{id}/hidden", &[""]),
    ("/admin/datasets/{id}/grants", &[""]),
    ("/admin/datasets/{id}/push-keys", &[""]),
    ("/admin/datasets/{id}/push-keys/revoke", &[""]),
    ("/admin/datasets/{id}/versions/{number}/restore", &[""]),
    // --- end of the back office ---
    // ---- back-office panels: processors and harvests (web/processor_panel.rs,
    // web/harvest_admin.rs): sessions only, like the back office (begin) ----
    ("/admin/datasets/{id}/processors", &[""]),
    ("/admin/datasets/{id}/processors/preview", &[""]),
    ("/admin/datasets/{id}/processors/save", &[""]),
    ("/admin/datasets/{id}/processors/clear", &[""]),
    ("/admin/harvests", &[""]),
    ("/admin/harvests/", &[""]),
    ("/admin/harvests/{harvest}", &[""]),
    ("/admin/harvests/{harvest}/", &[""]),
    ("/admin/harvests/{harvest}/run", &[""]),
    ("/admin/harvests/{harvest}/delete", &[""]),
    // ---- back-office panels (end) ----
    // ---- back-office derivation panel (web/derive_panel.rs, docs/crossing.md) (begin) ----
    // Sessions only: every caller here (keys, anonymous) gets the missing page; POST forms
    // asked with GET. Rights between sessions are checked in tests/it/derive_backoffice.rs.
    ("/admin/datasets/{id}/derivation", &[""]),
    ("/admin/datasets/{id}/derivation/save", &[""]),
    ("/admin/datasets/{id}/derivation/refresh", &[""]),
    ("/admin/datasets/{id}/derivation/clear", &[""]),
    ("/admin/derived/new", &[""]),
    // ---- back-office derivation panel (end) ----
    // ---- back-office webhook pages (web/webhook_admin.rs, docs/feeds.md) (begin) ----
    // Sessions only: every caller here (keys, anonymous) gets the missing page; POST forms
    // asked with GET. Rights between sessions (another organization's admin sees nothing) are
    // checked in tests/it/follow_webhooks_ui.rs.
    ("/admin/datasets/{id}/webhooks", &[""]),
    ("/admin/datasets/{id}/webhooks/", &[""]),
    ("/admin/organizations/{org}/webhooks", &[""]),
    ("/admin/organizations/{org}/webhooks/", &[""]),
    ("/admin/webhooks/{hook}", &[""]),
    ("/admin/webhooks/{hook}/", &[""]),
    ("/admin/webhooks/{hook}/delete", &[""]),
    // ---- back-office webhook pages (end) ----
    // ---- portal settings (issue 13 item 4: api/management/portal.rs, web/portal_admin.rs):
    // the management routes asked with GET (themes for any key, the rest for portal admins),
    // the pages for portal admins' sessions only (every caller here gets the missing page).
    ("/api/management/v1/portal/themes", &[""]),
    ("/api/management/v1/portal/home", &[""]),
    ("/api/management/v1/portal/about", &[""]),
    ("/api/management/v1/portal/featured", &[""]),
    ("/admin/portal", &[""]),
    ("/admin/portal/", &[""]),
    ("/admin/portal/themes", &[""]),
    ("/admin/portal/themes/", &[""]),
    ("/admin/portal/home", &[""]),
    ("/admin/portal/home/", &[""]),
    ("/admin/portal/about", &[""]),
    ("/admin/portal/about/", &[""]),
    // ---- portal settings: end ----
    // ---- OpenAPI document and its page (issue 16 item 5, src/openapi/): begin ----
    ("/api/openapi.json", &[""]),
    ("/api/docs", &["", "?lang=en"]),
    // ---- OpenAPI: end ----
    // ---- back-office source forms (issue 14 item 1, web/source_panel.rs): sessions only,
    // like the back office (every caller here gets the missing page; POST forms asked with
    // GET). Rights between sessions are checked in tests/it/sources_backoffice.rs. (begin) ----
    ("/admin/datasets/{id}/source", &[""]),
    ("/admin/datasets/{id}/source/save", &[""]),
    ("/admin/datasets/{id}/source/run", &[""]),
    ("/admin/datasets/{id}/source/clear", &[""]),
    // ---- back-office source forms (end) ----
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Public,
    Restricted,
    Draft,
    // ---- access rules (docs/security.md#access-rules) ----
    /// Public, with a field hidden from outsiders.
    Hidden,
    /// Public, with records filtered for outsiders.
    Filtered,
    // ---- derived datasets (docs/crossing.md#visibility) ----
    /// Public itself, but derived from the restricted dataset: seen only by those who read
    /// its input whole (no admin allowed it wider).
    Derived,
}

const KINDS: [Kind; 6] =
    [Kind::Public, Kind::Restricted, Kind::Draft, Kind::Hidden, Kind::Filtered, Kind::Derived];

/// The access rules of the ruled kinds, and the data outsiders may see of them (what their
/// oracle imports instead).
struct Ruled {
    kind: Kind,
    hide: &'static [&'static str],
    condition: Option<&'static str>,
    outsiders_csv: &'static str,
}

const RULED: [Ruled; 2] = [
    Ruled {
        kind: Kind::Hidden,
        hide: &["hfx9secret", "hfx9flag"],
        condition: None,
        outsiders_csv: "nom;valeur\nAlpha;1\nBeta;2\n",
    },
    Ruled {
        kind: Kind::Filtered,
        hide: &[],
        condition: Some("statut = \"ouvert\""),
        outsiders_csv: "nom;statut;valeur\nAlpha;ouvert;1\nGamma;ouvert;3\n",
    },
];

/// One dataset of the fixture; every secret of a non-public one carries its marker.
struct Dataset {
    kind: Kind,
    id: &'static str,
    marker: &'static str,
    title: &'static str,
    description: &'static str,
    publisher: &'static str,
    csv: &'static str,
}

const DATASETS: [Dataset; 6] = [
    Dataset {
        kind: Kind::Public,
        id: "ouvert-public",
        marker: "",
        title: "Jeu ouvert",
        description: "Un jeu public.",
        publisher: "Ville Ouverte",
        csv: "nom;valeur\nAlpha;1\nBeta;2\n",
    },
    Dataset {
        kind: Kind::Restricted,
        id: "rqz7-interne",
        marker: "rqz7",
        title: "Rqz7 titre interne",
        description: "Rqz7 description interne.",
        publisher: "Rqz7 Publisher",
        csv: "rqz7champ;valeur\nrqz7valeur;1\nrqz7autre;3\n",
    },
    Dataset {
        kind: Kind::Draft,
        id: "dxk4-brouillon",
        marker: "dxk4",
        title: "Dxk4 titre brouillon",
        description: "Dxk4 description brouillon.",
        publisher: "Dxk4 Publisher",
        csv: "dxk4champ;valeur\ndxk4valeur;5\n",
    },
    // Public, but outsiders see neither the hidden field (a boolean too: record ids must not
    // hash it) nor its values.
    Dataset {
        kind: Kind::Hidden,
        id: "public-masque",
        marker: "hfx9",
        title: "Jeu masqué",
        description: "Un jeu public dont un champ est masqué.",
        publisher: "Ville Ouverte",
        csv: "nom;hfx9secret;hfx9flag;valeur\nAlpha;hfx9val;true;1\nBeta;hfx9autre;false;2\n",
    },
    // Public, but outsiders see only the records whose statut is "ouvert".
    Dataset {
        kind: Kind::Filtered,
        id: "public-filtre",
        marker: "fqm3",
        title: "Jeu filtré",
        description: "Un jeu public dont des enregistrements sont filtrés.",
        publisher: "Ville Ouverte",
        csv: "nom;statut;valeur\nAlpha;ouvert;1\nfqm3cache;fqm3interne;7\nGamma;ouvert;3\n",
    },
    // ---- derived datasets (begin) ----
    // Not imported: defined by [`DERIVED_QUERY`] over the restricted dataset once it is
    // restricted (`csv` is what the query yields, for reference).
    Dataset {
        kind: Kind::Derived,
        id: "lvw8-derive",
        marker: "lvw8",
        title: "Lvw8 titre dérivé",
        description: "Lvw8 description dérivée.",
        publisher: "Lvw8 Publisher",
        csv: "lvw8champ;valeur\nrqz7autre;3\nrqz7valeur;1\n",
    },
    // ---- derived datasets (end) ----
];

/// The query of the derived kind: its records are the restricted dataset's, its field named
/// with its own marker.
const DERIVED_QUERY: &str =
    r#"SELECT rqz7champ AS lvw8champ, valeur FROM "rqz7-interne" ORDER BY rqz7champ"#;

/// The identifier of dataset `d`'s attachment (management API block).
fn attachment_id(d: &Dataset) -> String {
    if d.marker.is_empty() { "notice_txt".to_owned() } else { format!("{}_notice_txt", d.marker) }
}

fn dataset(kind: Kind) -> &'static Dataset {
    DATASETS.iter().find(|d| d.kind == kind).expect("every kind has a dataset")
}

/// What a caller may see, by the rules of docs/security.md (written here independently of
/// `kleber_app::policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sees {
    /// Refused: 401 on every route.
    Refused,
    /// Public datasets only, ruled ones as outsiders.
    Public,
    /// Public and restricted, ruled ones as outsiders (granted the restricted dataset only).
    Granted,
    /// Public and restricted, ruled ones whole (a member of the organization).
    Restricted,
    /// Everything.
    All,
}

impl Sees {
    /// Whether the secrets of `kind` reach this caller.
    fn sees(self, kind: Kind) -> bool {
        match kind {
            Kind::Public => self != Sees::Refused,
            // A derived dataset is at most as visible as its restricting input, read whole.
            Kind::Restricted | Kind::Derived => {
                matches!(self, Sees::Granted | Sees::Restricted | Sees::All)
            }
            Kind::Draft => self == Sees::All,
            Kind::Hidden | Kind::Filtered => matches!(self, Sees::Restricted | Sees::All),
        }
    }
}

struct Caller {
    name: &'static str,
    key: Option<String>,
    sees: Sees,
}

/// A response, as compared: status, headers (but `Date`, `Content-Length` and rate-limit
/// counters, which depend on the moment and on the number of requests), `ETag`, body with the
/// server's address replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    etag: Option<String>,
    body: String,
}

async fn ask(
    server: &TestServer,
    url: &str,
    key: Option<&str>,
    if_none_match: Option<&str>,
) -> Answer {
    let mut request = server.client.get(format!("{}{url}", server.base));
    // A key written `?apikey=<key>` is sent as the parameter, any other in `Authorization`.
    if let Some(key) = key {
        request = match key.strip_prefix("?apikey=") {
            Some(key) => request.query(&[("apikey", key)]),
            None => request.header("authorization", format!("Apikey {key}")),
        };
    }
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let mut headers = BTreeMap::new();
    let mut etag = None;
    for (name, value) in response.headers() {
        let name = name.as_str().to_ascii_lowercase();
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match name.as_str() {
            "etag" => etag = Some(value),
            "date" | "content-length" => {}
            n if n.starts_with("x-ratelimit") || n == "retry-after" => {}
            _ => {
                headers.insert(name, without_tokens(&value.replace(&server.base, "http://SERVER")));
            }
        }
    }
    let bytes = response.bytes().await.unwrap_or_else(|e| panic!("GET {url}: body: {e}"));
    let host = server.base.trim_start_matches("http://");
    let body = without_tokens(&String::from_utf8_lossy(&bytes).replace(host, "SERVER"));
    Answer { status, headers, etag, body: popular_sorted(body) }
}

/// `html` with the home page's "most viewed" list sorted. Its order follows the views each
/// server counted, and the real server counts the views of every caller while an oracle counts
/// only its own: which datasets are listed is compared, not their order.
fn popular_sorted(html: String) -> String {
    let Some(start) = html.find("<h2 id=\"popular-h\">") else {
        return html;
    };
    let Some(end) = html[start..].find("</ul>").map(|e| start + e) else {
        return html;
    };
    let mut lines: Vec<&str> = html[start..end].lines().collect();
    let items = lines.iter().position(|l| l.trim_start().starts_with("<li")).unwrap_or(lines.len());
    lines[items..].sort_unstable();
    format!("{}{}{}", &html[..start], lines.join("\n"), &html[end..])
}

/// `text` with every random token of the sign-in forms (64 lowercase hex digits: the CSRF
/// cookie and field) written `TOKEN`, so that two servers' forms compare equal.
fn without_tokens(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes[i..].iter().take_while(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')).count();
        let bounded = |j: usize| j >= bytes.len() || !bytes[j].is_ascii_alphanumeric();
        if run == 64 && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) && bounded(i + run) {
            out.push_str("TOKEN");
            i += run;
        } else {
            // A run of hex digits is ASCII; otherwise one whole character.
            let step =
                if run > 0 { run } else { text[i..].chars().next().map_or(1, char::len_utf8) };
            out.push_str(&text[i..i + step]);
            i += step;
        }
    }
    out
}

/// Where two bodies first differ, with some context.
fn difference(got: &str, expected: &str) -> String {
    let at = got.chars().zip(expected.chars()).take_while(|(a, b)| a == b).count();
    let around = |s: &str| s.chars().skip(at.saturating_sub(120)).take(240).collect::<String>();
    format!("at char {at}:\n  got: …{}…\n  oracle: …{}…", around(got), around(expected))
}

/// One request of the matrix: a route instance, and the dataset kind it names (if any).
#[derive(Debug, Clone)]
struct Instance {
    pattern: &'static str,
    kind: Option<Kind>,
    url: String,
}

/// Fills a path pattern's placeholders for dataset `d` (record ids from `records`).
fn fill(pattern: &str, d: &Dataset, records: &BTreeMap<Kind, Vec<String>>) -> Vec<String> {
    let tabs: &[&str] = if pattern.contains("/embed/") {
        &["table", "analyze"]
    } else {
        &["information", "table", "analyze", "api", "export", "versions"]
    };
    let mut urls = vec![pattern.to_owned()];
    let mut expand = |placeholder: &str, values: &[String]| {
        urls = urls
            .iter()
            .flat_map(|u| {
                if u.contains(placeholder) {
                    values.iter().map(|v| u.replace(placeholder, v)).collect()
                } else {
                    vec![u.clone()]
                }
            })
            .collect();
    };
    expand("{id}", &[d.id.to_owned()]);
    expand("{record_id}", &records[&d.kind]);
    expand("{slug}", &[d.publisher.to_ascii_lowercase().replace(' ', "-")]);
    expand("{format}", &["csv".to_owned(), "json".to_owned(), "turtle".to_owned()]);
    expand("{org}", &["ems".to_owned(), "autre".to_owned(), "inconnue".to_owned()]);
    expand("{token}", &["0".repeat(64)]);
    expand("{file}", &["aucun.csv".to_owned()]);
    expand("{attachment}", &["aucun.csv".to_owned()]);
    expand("{tab}", &tabs.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>());
    expand("{*path}", &["aucun.css".to_owned()]);
    // ---- management API placeholders (begin) ----
    expand("{attachment_id}", &[attachment_id(d)]);
    expand("{number}", &["1".to_owned()]);
    expand("{email}", &["viewer@ems.example".to_owned()]);
    expand("{key_id}", &["000000000000".to_owned()]);
    // ---- management API placeholders (end) ----
    // ---- harvest placeholders (begin) ----
    expand("{harvest}", &["aucune".to_owned()]);
    // ---- harvest placeholders (end) ----
    // ---- change feeds placeholders (begin) ----
    expand("{hook_id}", &["1".to_owned(), "x".to_owned()]);
    // ---- change feeds placeholders (end) ----
    // ---- back office placeholders (begin) ----
    expand("{upload}", &["0123456789abcdef0123456789abcdef".to_owned()]);
    // ---- back office placeholders (end) ----
    // ---- back-office webhook pages placeholders (begin) ----
    expand("{hook}", &["1".to_owned(), "x".to_owned()]);
    // ---- back-office webhook pages placeholders (end) ----
    for url in &urls {
        assert!(
            !url.contains('{'),
            "route {pattern}: a placeholder the leak matrix cannot fill ({url}); teach fill() its values"
        );
    }
    urls
}

fn instances(records: &BTreeMap<Kind, Vec<String>>) -> Vec<Instance> {
    let mut all = Vec::new();
    for (pattern, queries) in ENTRIES {
        for query in *queries {
            let names_dataset = ["{id}", "{record_id}", "{slug}"]
                .iter()
                .any(|p| pattern.contains(p) || query.contains(p));
            let kinds: Vec<Option<Kind>> =
                if names_dataset { KINDS.iter().copied().map(Some).collect() } else { vec![None] };
            for kind in kinds {
                let d = dataset(kind.unwrap_or(Kind::Public));
                for path in fill(pattern, d, records) {
                    let url = format!("{path}{}", query.replace("{id}", d.id));
                    all.push(Instance { pattern, kind, url });
                }
            }
        }
    }
    all
}

#[test]
fn every_route_has_a_matrix_entry() {
    let (_, table) = kleber_server::routes().into_parts();
    let routes: BTreeSet<&str> = table.patterns().into_iter().collect();
    let entries: BTreeSet<&str> = ENTRIES.iter().map(|(p, _)| *p).collect();
    let missing: Vec<&&str> = routes.difference(&entries).collect();
    let stale: Vec<&&str> = entries.difference(&routes).collect();
    assert!(missing.is_empty(), "routes without a leak-matrix entry: {missing:?}");
    assert!(stale.is_empty(), "leak-matrix entries of no route: {stale:?}");
    assert!(ENTRIES.iter().all(|(_, queries)| !queries.is_empty()));
}

/// Front ends get their context only from the request's caller (`http::resolve::Caller`,
/// `Resolution`, `PageContext`): they never name a principal nor build a context themselves.
#[test]
fn front_ends_never_build_a_context_themselves() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("api_v20.rs")];
    for dir in ["api", "api_v1", "ckan", "web", "shared"] {
        let mut stack = vec![src.join(dir)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("source directory") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
    }
    assert!(files.len() > 20, "{files:?}");
    let mut offenders = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if ["RequestContext::", "Principal::"].iter().any(|p| code.contains(p)) {
                offenders.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "front ends building their own context: {offenders:#?}");
}

/// Imports the fixture into `dir` and creates the accounts; returns the callers.
async fn build_fixture(dir: &Path) -> Vec<Caller> {
    let files = tempfile::tempdir().expect("tempdir");
    let app = app_over(dir);
    let ctx = RequestContext::operator();
    for d in DATASETS.iter().filter(|d| d.kind != Kind::Derived) {
        let path = files.path().join(format!("{}.csv", d.id));
        std::fs::write(&path, d.csv).expect("csv");
        let request = ImportRequest {
            path,
            dataset: d.id.to_owned(),
            title: None,
            options: Default::default(),
            unique_id: None,
            crash: None,
        };
        app.import(&ctx, request).await.expect("import");
        let metas = serde_json::json!({
            "title": d.title, "description": d.description, "publisher": d.publisher,
        });
        let serde_json::Value::Object(metas) = metas else { unreachable!() };
        app.update_metas(&ctx, d.id, metas).await.expect("metas");
    }
    // ---- management API: one attachment per dataset, its secrets marked (begin) ----
    // Not on the datasets with an access rule: their outsiders' oracles are re-imported.
    for d in
        DATASETS.iter().filter(|d| !matches!(d.kind, Kind::Hidden | Kind::Filtered | Kind::Derived))
    {
        let upload = kleber_app::attachments::AttachmentUpload {
            file_name: format!(
                "{}notice.txt",
                if d.marker.is_empty() { String::new() } else { format!("{}-", d.marker) }
            ),
            title: Some(format!("{} notice", d.title)),
            content_type: Some("text/plain".to_owned()),
            replace: None,
        };
        let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(format!(
            "{} contenu",
            d.marker
        )))]);
        let editor = kleber_app::manage::Editor::operator();
        let added = app.put_attachment(&editor, d.id, upload, body).await.expect("attachment");
        assert_eq!(added.id, attachment_id(d));
    }
    // ---- management API (end) ----
    // ---- remote sources: one per dataset, its URL marked (begin) ----
    for d in
        DATASETS.iter().filter(|d| !matches!(d.kind, Kind::Hidden | Kind::Filtered | Kind::Derived))
    {
        let spec = kleber_app::sources::SourceSpec {
            urls: vec![format!("http://127.0.0.1:9/{}source.csv", d.marker)],
            schedule: Some("0 3 * * *".to_owned()),
            ..Default::default()
        };
        let editor = kleber_app::manage::Editor::operator();
        app.set_source(&editor, d.id, spec).await.expect("source");
    }
    // ---- remote sources (end) ----
    // ---- processors: one pipeline per dataset, its marker in a condition (begin) ----
    for d in
        DATASETS.iter().filter(|d| !matches!(d.kind, Kind::Hidden | Kind::Filtered | Kind::Derived))
    {
        let condition = format!("\"{}processor\" = \"never\"", d.marker);
        let steps =
            serde_json::json!({"version": 1, "steps": [{"kind": "skip", "condition": condition}]});
        let editor = kleber_app::manage::Editor::operator();
        app.set_processors(&editor, d.id, steps).await.expect("processors");
    }
    // ---- processors (end) ----
    for ruled in &RULED {
        let rule = kleber_store::AccessRule {
            hidden: ruled.hide.iter().map(|h| (*h).to_owned()).collect(),
            condition: ruled.condition.map(str::to_owned),
        };
        app.set_rule(&ctx, &operator(), dataset(ruled.kind).id, Some(rule)).await.expect("rule");
    }
    drop(app);

    let accounts = Accounts::new(Arc::new(Store::open(dir).expect("store")));
    let op = operator();
    crate::common::create_orgs(
        &accounts,
        &[("ems", "Eurométropole"), ("autre", "Autre organisation")],
    );
    for d in DATASETS.iter().filter(|d| d.kind != Kind::Derived) {
        accounts.set_dataset_org(&op, d.id, "ems").expect("org of dataset");
    }
    accounts.set_visibility(&op, dataset(Kind::Restricted).id, Visibility::Restricted).unwrap();
    accounts.set_visibility(&op, dataset(Kind::Draft).id, Visibility::Draft).unwrap();
    let user = |email: &str, admin: bool| {
        accounts.create_user(&op, email, None, admin, None).expect("user");
    };
    for (email, membership) in [
        ("viewer@ems.example", Some(("ems", Role::Viewer))),
        ("editor@ems.example", Some(("ems", Role::Editor))),
        ("admin@ems.example", Some(("ems", Role::Admin))),
        ("other@autre.example", Some(("autre", Role::Admin))),
        ("granted@example.org", None),
    ] {
        user(email, false);
        if let Some((org, role)) = membership {
            accounts.set_member(&op, org, email, role).expect("member");
        }
    }
    user("portal@example.org", true);
    accounts.grant(&op, dataset(Kind::Restricted).id, "granted@example.org").expect("grant");
    let key = |email: &str, scopes: &[Scope], days: Option<u32>| {
        accounts.create_key(&op, email, "matrix", scopes, days).expect("key")
    };
    let all = [Scope::Read, Scope::Write, Scope::Admin];
    let revoked = key("admin@ems.example", &all, None);
    accounts.revoke_key(&op, &revoked.record.id).expect("revoke");
    let expired = key("admin@ems.example", &all, Some(1));
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).expect("catalog");
    conn.execute(
        "UPDATE api_keys SET expires_at = '2020-01-01T00:00:00Z' WHERE id = ?1",
        [&expired.record.id],
    )
    .expect("expire");
    let mut callers = vec![
        Caller {
            name: "portal admin",
            key: Some(key("portal@example.org", &[Scope::Read], None).key),
            sees: Sees::All,
        },
        Caller {
            name: "org admin (read+write+admin)",
            key: Some(key("admin@ems.example", &all, None).key),
            sees: Sees::All,
        },
        Caller {
            name: "org editor (read+write)",
            key: Some(key("editor@ems.example", &[Scope::Read, Scope::Write], None).key),
            sees: Sees::All,
        },
        Caller {
            name: "org admin, read scope",
            key: Some(key("admin@ems.example", &[Scope::Read], None).key),
            sees: Sees::All,
        },
        Caller {
            name: "org viewer",
            key: Some(key("viewer@ems.example", &[Scope::Read], None).key),
            sees: Sees::Restricted,
        },
        Caller {
            name: "org viewer, key sent as ?apikey=",
            key: Some(format!("?apikey={}", key("viewer@ems.example", &[Scope::Read], None).key)),
            sees: Sees::Restricted,
        },
        Caller {
            name: "granted user",
            key: Some(key("granted@example.org", &[Scope::Read], None).key),
            sees: Sees::Granted,
        },
        Caller { name: "anonymous", key: None, sees: Sees::Public },
        Caller {
            name: "admin of another organization",
            key: Some(key("other@autre.example", &all, None).key),
            sees: Sees::Public,
        },
        Caller {
            name: "org admin, write scope only",
            key: Some(key("admin@ems.example", &[Scope::Write], None).key),
            sees: Sees::Public,
        },
        Caller {
            name: "org admin, admin scope only",
            key: Some(key("admin@ems.example", &[Scope::Admin], None).key),
            sees: Sees::Public,
        },
        Caller { name: "revoked key", key: Some(revoked.key), sees: Sees::Refused },
        Caller { name: "expired key", key: Some(expired.key), sees: Sees::Refused },
    ];
    callers.sort_by_key(|c| std::cmp::Reverse(c.sees));
    drop(accounts);
    define_derived(dir).await;
    callers
}

// ---- derived datasets: the derived kind's definition (begin) ----
/// Defines the derived kind over the restricted dataset (restricted by now, so it gates the
/// derived dataset, which is itself public) in the organization, with its metadata and an
/// attachment carrying its marker.
async fn define_derived(dir: &Path) {
    let app = app_over(dir);
    let d = dataset(Kind::Derived);
    let editor = kleber_app::manage::Editor::operator();
    let computed = app
        .define_derivation(&editor, d.id, DERIVED_QUERY, Some(d.title), Some("ems"))
        .await
        .expect("derivation");
    assert_eq!(computed.rows, 2, "the derived dataset holds the restricted one's records");
    let metas = serde_json::json!({
        "title": d.title, "description": d.description, "publisher": d.publisher,
    });
    let serde_json::Value::Object(metas) = metas else { unreachable!() };
    app.update_metas(&RequestContext::operator(), d.id, metas).await.expect("metas");
    let upload = kleber_app::attachments::AttachmentUpload {
        file_name: format!("{}-notice.txt", d.marker),
        title: Some(format!("{} notice", d.title)),
        content_type: Some("text/plain".to_owned()),
        replace: None,
    };
    let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(format!(
        "{} contenu",
        d.marker
    )))]);
    let added = app.put_attachment(&editor, d.id, upload, body).await.expect("attachment");
    assert_eq!(added.id, attachment_id(d));
    let info = app.derivation(&editor, d.id).await.expect("derivation").expect("derived");
    assert_eq!(info.restricted_by, [dataset(Kind::Restricted).id], "{info:?}");
    assert_eq!(info.allowed_by, None);
    drop(app);
    // Public itself: only the gate of its input hides it.
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).expect("catalog");
    let visibility: String = conn
        .query_row("SELECT visibility FROM datasets WHERE id = ?1", [d.id], |r| r.get(0))
        .expect("visibility");
    assert_eq!(visibility, "public");
}
// ---- derived datasets (end) ----

/// What outsiders may see of the ruled datasets, imported without their rule into a data
/// directory of their own: the oracle's ruled datasets are made of these files.
async fn outsiders_source() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let app = app_over(dir.path());
    for ruled in &RULED {
        let d = dataset(ruled.kind);
        let path = files.path().join(format!("{}.csv", d.id));
        std::fs::write(&path, ruled.outsiders_csv).expect("csv");
        let request = ImportRequest {
            path,
            dataset: d.id.to_owned(),
            title: None,
            options: Default::default(),
            unique_id: None,
            crash: None,
        };
        app.import(&RequestContext::operator(), request).await.expect("import");
    }
    dir
}

/// In the oracle copy `to`, the ruled datasets hold only what outsiders see (the data file,
/// fields and count of `source`'s import) and no rule.
fn as_outsiders_see(to: &Path, source: &Path) {
    let from = rusqlite::Connection::open(source.join("catalog.sqlite")).expect("source");
    let conn = rusqlite::Connection::open(to.join("catalog.sqlite")).expect("catalog");
    for ruled in &RULED {
        let id = dataset(ruled.kind).id;
        let (src_uid, fields, count): (String, String, i64) = from
            .query_row(
                "SELECT d.uid, v.fields, v.records_count FROM datasets d
                   JOIN versions v ON v.dataset_uid = d.uid AND v.version = d.current_version
                  WHERE d.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("source dataset");
        let (uid, version): (String, i64) = conn
            .query_row("SELECT uid, current_version FROM datasets WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("dataset");
        std::fs::copy(
            source.join("datasets").join(&src_uid).join("v1").join("data.parquet"),
            to.join("datasets").join(&uid).join(format!("v{version}")).join("data.parquet"),
        )
        .expect("outsiders' data");
        conn.execute(
            "UPDATE versions SET fields = ?1, records_count = ?2
              WHERE dataset_uid = ?3 AND version = ?4",
            rusqlite::params![fields, count, uid, version],
        )
        .expect("outsiders' version");
        conn.execute("UPDATE datasets SET rule = NULL WHERE uid = ?1", [&uid]).expect("no rule");
    }
}

/// A copy of the data directory `from` without the datasets of `hidden`.
fn oracle_copy(from: &Path, hidden: &[Kind]) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("tempdir");
    let mut stack = vec![from.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            let target = to.path().join(path.strip_prefix(from).expect("prefix"));
            if path.is_dir() {
                std::fs::create_dir_all(&target).expect("mkdir");
                stack.push(path);
            } else {
                std::fs::copy(&path, &target).expect("copy");
            }
        }
    }
    let conn = rusqlite::Connection::open(to.path().join("catalog.sqlite")).expect("catalog");
    for kind in hidden {
        let id = dataset(*kind).id;
        let uid: String = conn
            .query_row("SELECT uid FROM datasets WHERE id = ?1", [id], |r| r.get(0))
            .expect("uid");
        for sql in [
            "DELETE FROM derivations WHERE dataset_uid = ?1",
            "DELETE FROM derived_versions WHERE dataset_uid = ?1",
            "DELETE FROM dataset_grants WHERE dataset_uid = ?1",
            "DELETE FROM attachments WHERE dataset_uid = ?1",
            "DELETE FROM versions WHERE dataset_uid = ?1",
            "DELETE FROM datasets WHERE uid = ?1",
        ] {
            conn.execute(sql, [&uid]).expect(sql);
        }
    }
    conn.execute("UPDATE generation SET n = n + 1", []).expect("generation");
    to
}

/// The datasets a caller's oracle leaves out, and whether it sees the ruled ones as outsiders.
fn oracle_of(sees: Sees) -> (&'static [Kind], bool) {
    match sees {
        Sees::Public => (&[Kind::Restricted, Kind::Draft, Kind::Derived], true),
        Sees::Granted => (&[Kind::Draft], true),
        Sees::Restricted => (&[Kind::Draft], false),
        Sees::All | Sees::Refused => (&[], false),
    }
}

/// The oracle data directory of callers who see `sees`.
fn oracle_dir(real: &Path, source: &Path, sees: Sees) -> tempfile::TempDir {
    let (hidden, outsider) = oracle_of(sees);
    let dir = oracle_copy(real, hidden);
    if outsider {
        as_outsiders_see(dir.path(), source);
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_a_caller_may_not_see_reaches_it_on_any_route() {
    let dir = tempfile::tempdir().expect("tempdir");
    let callers = build_fixture(dir.path()).await;
    let source = outsiders_source().await;
    let oracle_public = oracle_dir(dir.path(), source.path(), Sees::Public);
    let oracle_granted = oracle_dir(dir.path(), source.path(), Sees::Granted);
    let oracle_restricted = oracle_dir(dir.path(), source.path(), Sees::Restricted);
    let real_dir = dir.path().to_path_buf();
    let real = TestServer::start(dir).await;
    let oracles = [
        (Sees::Public, TestServer::start(oracle_public).await),
        (Sees::Granted, TestServer::start(oracle_granted).await),
        (Sees::Restricted, TestServer::start(oracle_restricted).await),
    ];
    let oracle = |sees: Sees| -> &TestServer {
        oracles.iter().find(|(s, _)| *s == sees).map_or(&real, |(_, server)| server)
    };

    // Record ids, as the portal admin reads them (every record: the filtered ones too) and,
    // for the ruled datasets, as outsiders read them (ids over the visible fields only).
    let admin = callers[0].key.clone();
    let mut records: BTreeMap<Kind, Vec<String>> = BTreeMap::new();
    for d in &DATASETS {
        for key in [admin.as_deref(), None] {
            let ruled = RULED.iter().any(|r| r.kind == d.kind);
            if key.is_none() && !ruled {
                continue;
            }
            let rows = if ruled { 10 } else { 1 };
            let url = format!("/api/records/1.0/search?dataset={}&rows={rows}", d.id);
            let answer = ask(&real, &url, key, None).await;
            if key.is_none() && answer.status == 404 {
                continue;
            }
            assert_eq!(answer.status, 200, "{url}: {}", answer.body);
            let v: serde_json::Value = serde_json::from_str(&answer.body).expect("json");
            let ids = records.entry(d.kind).or_default();
            for record in v["records"].as_array().expect("records") {
                let id = record["recordid"].as_str().expect("recordid").to_owned();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    // Outsiders see other ids than staff where a field is hidden, and fewer where filtered.
    assert_eq!(records[&Kind::Hidden].len(), 4, "{records:?}");
    assert_eq!(records[&Kind::Filtered].len(), 3, "{records:?}");
    let instances = instances(&records);

    // Every caller on every instance, the callers who see most first (so their answers are
    // in the caches when the others ask), each compared with its oracle.
    let mut answers: BTreeMap<(usize, usize), Answer> = BTreeMap::new();
    for group in [Sees::All, Sees::Restricted, Sees::Granted, Sees::Public, Sees::Refused] {
        let jobs: Vec<(usize, usize)> = callers
            .iter()
            .enumerate()
            .filter(|(_, c)| c.sees == group)
            .flat_map(|(c, _)| (0..instances.len()).map(move |i| (c, i)))
            .collect();
        let results: Vec<((usize, usize), Answer, Option<Answer>)> = stream::iter(jobs)
            .map(|(c, i)| {
                let caller = &callers[c];
                let instance = &instances[i];
                let real = &real;
                let oracle = oracle(caller.sees);
                async move {
                    let key = caller.key.as_deref();
                    let got = ask(real, &instance.url, key, None).await;
                    let expected = if caller.sees == Sees::Refused || std::ptr::eq(oracle, real) {
                        None
                    } else {
                        Some(ask(oracle, &instance.url, key, None).await)
                    };
                    ((c, i), got, expected)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        for ((c, i), got, expected) in results {
            let caller = &callers[c];
            let instance = &instances[i];
            let what = format!("{} as {}", instance.url, caller.name);
            if let Some(expected) = expected {
                assert_eq!(
                    got.status,
                    expected.status,
                    "{what}: status differs from the oracle's: {}",
                    difference(&got.body, &expected.body)
                );
                assert!(
                    got.body == expected.body,
                    "{what}: body differs from the oracle's: {}",
                    difference(&got.body, &expected.body)
                );
                assert_eq!(
                    got.headers, expected.headers,
                    "{what}: headers differ from the oracle's"
                );
                assert_eq!(got.etag, expected.etag, "{what}: ETag differs from the oracle's");
            }
            // No marker of a dataset it may not see, unless the URL itself names it.
            for d in DATASETS.iter().filter(|d| !caller.sees.sees(d.kind)) {
                if d.marker.is_empty() || instance.url.to_ascii_lowercase().contains(d.marker) {
                    continue;
                }
                let head = format!("{:?}", got.headers).to_ascii_lowercase();
                assert!(
                    !got.body.to_ascii_lowercase().contains(d.marker) && !head.contains(d.marker),
                    "{what}: shows the {:?} dataset's marker {}: {}",
                    d.kind,
                    d.marker,
                    got.body
                );
            }
            if caller.sees == Sees::Refused {
                assert_eq!(got.status, 401, "{what}: {}", got.body);
            }
            answers.insert((c, i), got);
        }
    }

    // A refused key gets the same answer whichever dataset the URL names.
    for (c, caller) in callers.iter().enumerate().filter(|(_, c)| c.sees == Sees::Refused) {
        let mut by_shape: BTreeMap<(&str, String), String> = BTreeMap::new();
        for (i, instance) in instances.iter().enumerate() {
            let Some(kind) = instance.kind else { continue };
            let d = dataset(kind);
            let (mut shape, mut body) =
                (instance.url.replace(d.id, "ID"), answers[&(c, i)].body.replace(d.id, "ID"));
            for record in &records[&kind] {
                shape = shape.replace(record, "RECORD");
                body = body.replace(record, "RECORD");
            }
            if let Some(seen) = by_shape.insert((instance.pattern, shape.clone()), body.clone()) {
                assert_eq!(
                    seen, body,
                    "{shape} as {}: the 401 depends on the dataset",
                    caller.name
                );
            }
        }
    }

    // The matrix is not vacuous: those who see everything get each kind's main answers.
    let whole = callers.iter().position(|c| c.sees == Sees::All).expect("a caller sees all");
    for (i, instance) in instances.iter().enumerate() {
        let main = [
            "/api/explore/v2.1/catalog/datasets/{id}",
            "/api/explore/v2.1/catalog/datasets/{id}/records",
            "/api/records/1.0/search",
            "/explore/dataset/{id}",
            "/publisher/{slug}",
        ];
        // (But the queries naming a ruled dataset's field, unknown in the others.)
        let names_ruled_field = ["hfx9", "fqm3"].iter().any(|m| instance.url.contains(m));
        if instance.kind.is_some() && main.contains(&instance.pattern) && !names_ruled_field {
            let status = answers[&(whole, i)].status;
            assert_eq!(status, 200, "{} as {}", instance.url, callers[whole].name);
        }
        // Staff see the hidden field and the filtered records; those who read the restricted
        // dataset see the derived one's records.
        if let Some(kind @ (Kind::Hidden | Kind::Filtered | Kind::Derived)) = instance.kind
            && instance.pattern == "/api/explore/v2.1/catalog/datasets/{id}/records"
            && instance.url.ends_with("/records")
        {
            let marker = dataset(kind).marker;
            for (c, caller) in callers.iter().enumerate().filter(|(_, c)| c.sees.sees(kind)) {
                let body = &answers[&(c, i)].body;
                assert!(body.contains(marker), "{} as {}: {body}", instance.url, caller.name);
            }
        }
    }

    // Callers who see different things never share an ETag on an answer that differs, and the
    // ETag of one never makes a 304 for the other.
    let mut crossings = Vec::new();
    for (a, ca) in callers.iter().enumerate().filter(|(_, c)| c.sees != Sees::Refused) {
        for (b, cb) in callers.iter().enumerate().filter(|(_, c)| c.sees != Sees::Refused) {
            if ca.sees == cb.sees {
                continue;
            }
            for i in 0..instances.len() {
                let (x, y) = (&answers[&(a, i)], &answers[&(b, i)]);
                if let (Some(tx), Some(ty)) = (&x.etag, &y.etag)
                    && (x.body != y.body || x.status != y.status)
                {
                    assert_ne!(
                        tx, ty,
                        "{}: {} and {} share an ETag",
                        instances[i].url, ca.name, cb.name
                    );
                    crossings.push((a, i, ty.clone()));
                }
            }
        }
    }
    assert!(!crossings.is_empty(), "no answer differs between audiences: the fixture is wrong");
    let results: Vec<(usize, usize, Answer)> = stream::iter(crossings)
        .map(|(a, i, tag)| {
            let real = &real;
            let key = callers[a].key.as_deref();
            let url = &instances[i].url;
            async move { (a, i, ask(real, url, key, Some(&tag)).await) }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    for (a, i, got) in results {
        assert_eq!(
            (got.status, &got.body),
            (answers[&(a, i)].status, &answers[&(a, i)].body),
            "{} as {} with another audience's ETag",
            instances[i].url,
            callers[a].name
        );
    }
    // Editing the draft changes the ETags of those who see it, and of no one else.
    let (_, table) = kleber_server::routes().into_parts();
    let reads_catalog = |pattern: &str| {
        table.get(pattern).is_some_and(|r| r.reads == kleber_server::http::routes::Reads::Catalog)
    };
    let catalog_urls: Vec<usize> = instances
        .iter()
        .enumerate()
        .filter(|(i, instance)| {
            reads_catalog(instance.pattern) && answers[&(whole, *i)].etag.is_some()
        })
        .map(|(i, _)| i)
        .collect();
    assert!(catalog_urls.len() >= 10, "{} tagged catalog answers", catalog_urls.len());
    let patch = serde_json::json!({ "description": "Dxk4 description modifiée." });
    let serde_json::Value::Object(patch) = patch else { unreachable!() };
    let app = app_over(&real_dir);
    app.update_metas(&RequestContext::operator(), dataset(Kind::Draft).id, patch).await.unwrap();
    drop(app);
    let probe = &instances[catalog_urls[0]].url;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while ask(&real, probe, callers[whole].key.as_deref(), None).await.etag
        == answers[&(whole, catalog_urls[0])].etag
    {
        assert!(std::time::Instant::now() < deadline, "{probe}: the edit never showed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for (c, caller) in callers.iter().enumerate().filter(|(_, c)| c.sees != Sees::Refused) {
        for &i in &catalog_urls {
            let now = ask(&real, &instances[i].url, caller.key.as_deref(), None).await;
            let before = &answers[&(c, i)];
            let what =
                format!("{} as {} after the draft was edited", instances[i].url, caller.name);
            if caller.sees.sees(Kind::Draft) {
                assert_ne!(now.etag, before.etag, "{what}: the ETag did not change");
            } else {
                assert_eq!(now.etag, before.etag, "{what}: the ETag changed");
                assert!(now.body == before.body, "{what}: the answer changed");
            }
        }
    }

    let named = instances.iter().filter(|i| i.kind.is_some()).count();
    eprintln!(
        "leak matrix: {} routes; {} route instances ({named} naming one of the {} dataset kinds); {} callers; {} requests to the real server",
        ENTRIES.len(),
        instances.len(),
        KINDS.len(),
        callers.len(),
        instances.len() * callers.len()
    );
}
