//! CKAN's Action API, read side, in CKAN 2.10's shapes (`/api/3/action/*`, and
//! `/api/action/*` which ckanapi calls): a front end like the others, translating CKAN's
//! parameters into [`kleber_app::App`] calls and rendering CKAN's objects.
//!
//! Every action answers `{"help": <help_show URL>, "success": true, "result": ...}` or CKAN's
//! error shape ([`CkanError`]). Parameters come from the query string of a GET or the JSON
//! body of a POST (`args`). What a caller sees is what its catalog view holds
//! (`Resolution`, from the request's key, which CKAN clients send as `Authorization: <key>`
//! or `X-CKAN-API-Key`): a dataset it may not read answers as one that does not exist.
//!
//! - `catalog`: packages (datasets), resources (export formats), organizations, groups
//!   (themes), tags (keywords), `package_search`;
//! - `datastore`: `datastore_search` on a dataset's CSV resource; `datastore_search_sql`
//!   refused;
//! - `package`: the package, resource, organization, group and tag objects.

pub(crate) mod args;
pub(crate) mod catalog;
pub(crate) mod datastore;
pub(crate) mod package;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kleber_app::CatalogView;
use serde_json::{Value, json};

use crate::http::PublicUrl;
use crate::http::resolve::Resolution;
use crate::http::routes::{Reads, RouteDef, def};
use crate::shared::ckan_error::{CkanError, action_of, help_url};
use crate::state::AppState;
use args::Args;

pub use crate::shared::ckan_error::ACTION_PATH as ACTION_V3;

/// The unversioned path of the same API (ckanapi's).
pub const ACTION: &str = "/api/action";

/// The actions served (their paths), each with its one-line help (`help_show`).
pub const ACTIONS: &[(&str, &str)] = &[
    ("/status_show", "Return the site's title, URL, CKAN API version and extensions."),
    ("/package_list", "Return the names of the public datasets (limit, offset)."),
    (
        "/package_search",
        "Search datasets: q (words, field:value), fq, rows (<= 1000), start, sort, facet.field, facet.limit, facet.mincount, include_private, include_drafts.",
    ),
    ("/package_show", "Return one dataset by name or id (id)."),
    ("/resource_show", "Return one resource (an export format of a dataset) by id."),
    (
        "/organization_list",
        "Return the organizations' names, or objects with all_fields (sort, limit, offset, organizations).",
    ),
    ("/organization_show", "Return one organization by id (include_datasets)."),
    ("/group_list", "Return the groups (the datasets' themes), names or objects with all_fields."),
    ("/tag_list", "Return the tags (the datasets' keywords); query filters them."),
    (
        "/datastore_search",
        "Search a dataset's records through its CSV resource: resource_id, filters, q, fields, sort, limit (<= 32000), offset, include_total, records_format (objects, lists, csv, tsv).",
    ),
    ("/datastore_search_sql", "Not available: Kleber runs no SQL sent by clients."),
    ("/help_show", "Return the help of an action (name)."),
];

/// The routes of the Action API, relative to [`ACTION_V3`] or [`ACTION`]: one per action,
/// GET and POST. An unknown action is answered by the server's fallback
/// ([`unknown_action`]).
pub fn routes() -> Vec<RouteDef> {
    ACTIONS.iter().map(|(path, _)| def(path, Reads::Catalog, get(action).post(action))).collect()
}

/// One call of an action: the request's state, resolution, base URL and parameters.
pub(crate) struct Call<'a> {
    pub(crate) state: &'a AppState,
    pub(crate) resolution: &'a Resolution,
    pub(crate) base: &'a PublicUrl,
    pub(crate) args: Args,
}

impl Call<'_> {
    /// The catalog as the caller may see it, resolved once for the request.
    pub(crate) async fn view(&self) -> Result<CatalogView, CkanError> {
        Ok(self.resolution.catalog(self.state).await?)
    }
}

/// The handler of every action: parameters read, the action run, CKAN's envelope around it.
async fn action(
    State(state): State<AppState>,
    resolution: Resolution,
    base: PublicUrl,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let name = action_of(uri.path()).to_owned();
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let outcome = match Args::parse(method == Method::POST, content_type, uri.query(), &body) {
        Ok(args) => {
            let call = Call { state: &state, resolution: &resolution, base: &base, args };
            run(&name, &call).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(result) => {
            let body =
                json!({"help": help_url(Some(&base), &name), "success": true, "result": result});
            let mut response = (StatusCode::OK, body.to_string()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        Err(error) => error.response(Some(&base), &name),
    }
}

async fn run(name: &str, call: &Call<'_>) -> Result<Value, CkanError> {
    match name {
        "status_show" => Ok(status_show(call)),
        "package_list" => catalog::package_list(call).await,
        "package_search" => catalog::package_search(call).await,
        "package_show" => catalog::package_show(call).await,
        "resource_show" => catalog::resource_show(call).await,
        "organization_list" => catalog::organization_list(call).await,
        "organization_show" => catalog::organization_show(call).await,
        "group_list" => catalog::group_list(call).await,
        "tag_list" => catalog::tag_list(call).await,
        "datastore_search" => datastore::datastore_search(call).await,
        "datastore_search_sql" => Err(datastore::datastore_search_sql()),
        "help_show" => help_show(call),
        other => Err(CkanError::unknown_action(other)),
    }
}

/// `status_show`.
fn status_show(call: &Call<'_>) -> Value {
    json!({
        "site_title": "Kleber",
        "site_description": "An open data portal (Kleber), serving CKAN's Action API (read side).",
        "site_url": call.base.as_str(),
        "ckan_version": "2.10.0",
        "kleber_version": env!("CARGO_PKG_VERSION"),
        "error_emails_to": null,
        "locale_default": "fr",
        "extensions": ["datastore"],
    })
}

/// `help_show`: the help of an action served here.
fn help_show(call: &Call<'_>) -> Result<Value, CkanError> {
    let name = call.args.required("name")?;
    ACTIONS
        .iter()
        .find(|(path, _)| path.strip_prefix('/') == Some(name.as_str()))
        .map(|(_, help)| json!(help))
        .ok_or_else(|| CkanError::not_found(format!("Action function {name:?} not found.")))
}

/// The answer to an action Kleber does not serve (the server's fallback on the Action API's
/// paths): CKAN's `400 Bad request - Action name not known`.
pub fn unknown_action(request: &Request) -> Response {
    let path = request.uri().path();
    let base = request.extensions().get::<PublicUrl>();
    let name = action_of(path);
    CkanError::unknown_action(name).response(base, name)
}
