//! The management API's use cases: datasets as their publishers see them (create, read,
//! describe, delete and restore, publish and unpublish, archive), and the organization
//! administration (organizations, members, invitations, API keys) over [`crate::accounts`].
//!
//! Who may do what is asked of [`crate::policy`], here and never in a handler:
//!
//! - no credentials: [`Error::Unauthenticated`] (401) before anything else;
//! - a dataset the caller may not read ([`policy::may_read`]), or one in the trash the caller
//!   may not edit: [`Error::DatasetNotFound`] (404), as if it did not exist;
//! - a dataset the caller reads but may not edit ([`policy::may_edit`]): [`Error::Forbidden`]
//!   (403), saying what is missing (a role, or the key's `write` scope);
//! - an organization the caller does not administer ([`policy::may_admin`]): 403.
//!
//! A key must have the `read` scope to work on what is not public (as everywhere) and the
//! `write` scope to change it; organization administration needs the `admin` scope.
//! Every change is written with its audit entry in the same transaction (`kleber-store`).

use std::sync::Arc;

use kleber_store::{
    Actor, Lifecycle, ManagedDataset, Role, Scope, Store, Visibility, is_valid_dataset_id,
};
use serde_json::{Map, Value};

use crate::accounts::{AccountError, is_web_address};
use crate::policy::{self, DatasetAccess};
use crate::{App, Error, Principal};

/// Who acts on the management API: the request's principal and how the audit log names it.
#[derive(Debug, Clone)]
pub struct Editor {
    principal: Principal,
    actor: Actor,
}

impl Editor {
    /// The editor of a request: `principal` as resolved by the HTTP layers, `session` the
    /// actor of its portal session if it came with one. Anonymous callers are refused.
    pub fn new(principal: Principal, session: Option<Actor>) -> Result<Editor, Error> {
        let actor = match (&principal, session) {
            (Principal::Anonymous, _) => {
                return Err(Error::Unauthenticated(
                    "The management API needs credentials: send an API key (Authorization: Apikey <key>) or a portal session with its X-CSRF-Token header.".to_owned(),
                ));
            }
            (Principal::Key { key_id, account, .. }, _) => {
                Actor::Key { user_id: account.user_id, key_id: key_id.clone() }
            }
            (_, Some(actor)) => actor,
            (Principal::User(account), None) => {
                Actor::User { user_id: account.user_id, session: "unknown".to_owned() }
            }
            (_, None) => crate::accounts::operator(),
        };
        Ok(Editor { principal, actor })
    }

    /// The user of a portal session, acting as that session.
    pub fn of_session(session: &crate::sessions::Session) -> Editor {
        Editor { principal: session.principal.clone(), actor: session.actor.clone() }
    }

    /// The operator at the shell (every right), for the command line and tests.
    pub fn operator() -> Editor {
        Editor { principal: Principal::Operator, actor: crate::accounts::operator() }
    }

    /// Who asks.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// How the audit log names them.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    fn is_key_without(&self, scope: Scope) -> bool {
        match &self.principal {
            Principal::Key { scopes, .. } => !match scope {
                Scope::Read => scopes.read,
                Scope::Write => scopes.write,
                Scope::Admin => scopes.admin,
            },
            _ => false,
        }
    }
}

/// A licence a dataset may be published under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Licence {
    /// Identifier given in `license` (SPDX where there is one).
    pub id: &'static str,
    /// Name shown in the dataset's metadata.
    pub name: &'static str,
    /// Where its text is.
    pub url: &'static str,
}

/// The licences known by name; any other is `custom`, with a name and a URL.
pub const LICENCES: &[Licence] = &[
    Licence {
        id: "etalab-2.0",
        name: "Licence Ouverte v2.0 (Etalab)",
        url: "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    },
    Licence {
        id: "etalab-1.0",
        name: "Licence Ouverte v1.0 (Etalab)",
        url: "https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf",
    },
    Licence {
        id: "odbl-1.0",
        name: "Open Database License (ODbL)",
        url: "https://opendatacommons.org/licenses/odbl/1-0/",
    },
    Licence {
        id: "odc-by-1.0",
        name: "Open Data Commons Attribution License (ODC-By)",
        url: "https://opendatacommons.org/licenses/by/1-0/",
    },
    Licence {
        id: "pddl-1.0",
        name: "Open Data Commons Public Domain Dedication and License (PDDL)",
        url: "https://opendatacommons.org/licenses/pddl/1-0/",
    },
    Licence {
        id: "cc-by-4.0",
        name: "CC BY 4.0",
        url: "https://creativecommons.org/licenses/by/4.0/",
    },
    Licence {
        id: "cc-by-sa-4.0",
        name: "CC BY-SA 4.0",
        url: "https://creativecommons.org/licenses/by-sa/4.0/",
    },
    Licence {
        id: "cc0-1.0",
        name: "CC0 1.0",
        url: "https://creativecommons.org/publicdomain/zero/1.0/",
    },
];

/// Update frequencies (the EU's frequency vocabulary, as DCAT-AP's `accrualPeriodicity`).
pub const FREQUENCIES: &[&str] = &[
    "continuous",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "biannual",
    "annual",
    "irregular",
    "never",
];

/// Keys of a metadata change, in documentation order.
pub const METADATA_KEYS: &[&str] = &[
    "title",
    "description",
    "themes",
    "keywords",
    "license",
    "license_name",
    "license_url",
    "publisher",
    "contact_name",
    "contact_email",
    "language",
    "update_frequency",
    "spatial",
    "temporal_start",
    "temporal_end",
    "references",
    "attributions",
    "hvd_category",
];

/// Longest text accepted in a metadata value (a description's Markdown), in characters.
pub const MAX_TEXT: usize = 100_000;

/// Renders a description written in Markdown to HTML with pulldown-cmark and keeps its safe
/// part with ammonia: paragraphs, lists, emphasis, tables, links (`rel="noopener noreferrer
/// nofollow"`, `http`, `https` and `mailto` only); scripts, styles, event attributes and raw
/// HTML that is not in that list are removed.
pub fn render_markdown(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(&out)
        .to_string()
}

fn body_error(message: impl Into<String>) -> Error {
    Error::InvalidBody(message.into())
}

fn text<'a>(key: &str, value: &'a Value, max: usize) -> Result<&'a str, Error> {
    let Some(text) = value.as_str() else {
        return Err(body_error(format!("{key}: expected a string, found {}", kind_of(value))));
    };
    if text.chars().count() > max {
        return Err(body_error(format!("{key}: at most {max} characters are accepted")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(body_error(format!("{key}: control characters are not accepted")));
    }
    Ok(text)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn words(key: &str, value: &Value) -> Result<Value, Error> {
    let items = match value {
        Value::Array(items) => items,
        other => {
            return Err(body_error(format!(
                "{key}: expected an array of strings, found {}",
                kind_of(other)
            )));
        }
    };
    if items.len() > 100 {
        return Err(body_error(format!("{key}: at most 100 entries are accepted")));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let word = text(&format!("{key}[{i}]"), item, 200)?.trim();
        if word.is_empty() {
            return Err(body_error(format!("{key}[{i}]: an empty string is not accepted")));
        }
        if !out.contains(&Value::from(word)) {
            out.push(Value::from(word));
        }
    }
    Ok(Value::Array(out))
}

fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<')
                && text.len() <= 254
        }
        None => false,
    }
}

fn date(key: &str, value: &Value) -> Result<chrono::NaiveDate, Error> {
    let text = text(key, value, 10)?;
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        body_error(format!("{key}: {text:?} is not a date written YYYY-MM-DD (2024-01-31)"))
    })
}

/// Checks a metadata change (a JSON object of [`METADATA_KEYS`]) and turns it into the patch
/// the catalog stores: Opendatasoft's `metas.default` keys (`theme`, `keyword`, `license`,
/// `license_url`, ...), the description rendered and sanitised (its Markdown kept in
/// `description_source`). `null` removes a value (not the title).
pub fn metadata_patch(body: &Value) -> Result<Map<String, Value>, Error> {
    let Value::Object(change) = body else {
        return Err(body_error(format!(
            "the body must be a JSON object of metadata ({}), found {}",
            METADATA_KEYS.join(", "),
            kind_of(body)
        )));
    };
    if change.is_empty() {
        return Err(body_error(format!(
            "nothing to change: give one or more of {}",
            METADATA_KEYS.join(", ")
        )));
    }
    let mut patch = Map::new();
    let mut put = |key: &str, value: Value| {
        patch.insert(key.to_owned(), value);
    };
    for (key, value) in change {
        if !METADATA_KEYS.contains(&key.as_str()) {
            let shown: String = key.chars().take(60).collect();
            return Err(body_error(format!(
                "unknown metadata key {shown:?}; the keys are: {}",
                METADATA_KEYS.join(", ")
            )));
        }
        if value.is_null() {
            match key.as_str() {
                "title" => return Err(body_error("title: a dataset must keep a title")),
                "description" => {
                    put("description", Value::Null);
                    put("description_source", Value::Null);
                }
                "themes" => put("theme", Value::Null),
                "keywords" => put("keyword", Value::Null),
                "license" => {
                    for k in ["license", "license_id", "license_url"] {
                        put(k, Value::Null);
                    }
                }
                "license_name" | "license_url" => {}
                "update_frequency" => put("update_frequency", Value::Null),
                other => put(other, Value::Null),
            }
            continue;
        }
        match key.as_str() {
            "title" => {
                let title = text(key, value, 300)?.trim();
                if title.is_empty() {
                    return Err(body_error("title: a dataset's title cannot be empty"));
                }
                put("title", Value::from(title));
            }
            "description" => {
                let markdown = text(key, value, MAX_TEXT)?;
                put("description", Value::from(render_markdown(markdown)));
                put("description_source", Value::from(markdown));
            }
            "themes" => put("theme", words(key, value)?),
            "keywords" => put("keyword", words(key, value)?),
            "license" => {
                let id = text(key, value, 100)?.trim();
                if id == "custom" {
                    let name = change.get("license_name").filter(|v| !v.is_null());
                    let url = change.get("license_url").filter(|v| !v.is_null());
                    let (Some(name), Some(url)) = (name, url) else {
                        return Err(body_error(
                            "license \"custom\" needs license_name and license_url (an http:// or https:// address)",
                        ));
                    };
                    let name = text("license_name", name, 200)?.trim();
                    let url = text("license_url", url, 2048)?.trim();
                    if name.is_empty() {
                        return Err(body_error("license_name: the licence's name is empty"));
                    }
                    if !is_web_address(url) {
                        return Err(body_error(format!(
                            "license_url: {url:?} is not an absolute http:// or https:// address"
                        )));
                    }
                    put("license", Value::from(name));
                    put("license_url", Value::from(url));
                    put("license_id", Value::from("custom"));
                } else {
                    let Some(licence) = LICENCES.iter().find(|l| l.id == id) else {
                        let ids: Vec<&str> = LICENCES.iter().map(|l| l.id).collect();
                        return Err(body_error(format!(
                            "license: unknown licence {id:?}; use one of {}, or \"custom\" with license_name and license_url",
                            ids.join(", ")
                        )));
                    };
                    put("license", Value::from(licence.name));
                    put("license_url", Value::from(licence.url));
                    put("license_id", Value::from(licence.id));
                }
            }
            "license_name" | "license_url"
                if change.get("license").and_then(Value::as_str) != Some("custom") =>
            {
                return Err(body_error(format!("{key} is only given with license \"custom\"")));
            }
            "publisher" | "contact_name" | "spatial" | "attributions" => {
                put(key, Value::from(text(key, value, 1000)?.trim()));
            }
            "contact_email" => {
                let email = text(key, value, 254)?.trim();
                if !is_email(email) {
                    return Err(body_error(format!(
                        "contact_email: {email:?} is not an email address (name@example.org)"
                    )));
                }
                put(key, Value::from(email));
            }
            "language" => {
                let language = text(key, value, 40)?;
                if language.len() != 2 || !language.bytes().all(|b| b.is_ascii_lowercase()) {
                    return Err(body_error(format!(
                        "language: {language:?} is not a two-letter ISO 639-1 code (fr, en, de)"
                    )));
                }
                put(key, Value::from(language));
            }
            "update_frequency" => {
                let frequency = text(key, value, 40)?;
                if !FREQUENCIES.contains(&frequency) {
                    return Err(body_error(format!(
                        "update_frequency: unknown frequency {frequency:?}; use one of {}",
                        FREQUENCIES.join(", ")
                    )));
                }
                put(key, Value::from(frequency));
            }
            "hvd_category" => {
                let category = text(key, value, 60)?;
                if kleber_dcat::vocab::hvd_category(category).is_none() {
                    let names: Vec<&str> =
                        kleber_dcat::vocab::HVD_CATEGORIES.iter().map(|(n, _, _)| *n).collect();
                    return Err(body_error(format!(
                        "hvd_category: unknown High-Value Dataset category {category:?}; use one of {}",
                        names.join(", ")
                    )));
                }
                put(key, Value::from(category));
            }
            "temporal_start" | "temporal_end" => {
                put(key, Value::from(date(key, value)?.to_string()));
            }
            "references" => {
                let url = text(key, value, 2048)?.trim();
                if !is_web_address(url) {
                    return Err(body_error(format!(
                        "references: {url:?} is not an absolute http:// or https:// address"
                    )));
                }
                put(key, Value::from(url));
            }
            _ => {}
        }
    }
    if let (Some(start), Some(end)) = (change.get("temporal_start"), change.get("temporal_end"))
        && !start.is_null()
        && !end.is_null()
        && date("temporal_start", start)? > date("temporal_end", end)?
    {
        return Err(body_error("temporal_start is after temporal_end"));
    }
    Ok(patch)
}

/// What creating a dataset takes.
#[derive(Debug, Clone)]
pub struct NewDataset {
    /// Identifier (a URL slug).
    pub id: String,
    /// Organization.
    pub organization: String,
    /// Title.
    pub title: String,
}

impl NewDataset {
    /// Reads `{"id", "organization", "title"}`.
    pub fn from_json(body: &Value) -> Result<NewDataset, Error> {
        const KEYS: &[&str] = &["id", "organization", "title"];
        let Value::Object(map) = body else {
            return Err(body_error(format!(
                "the body must be a JSON object with {}, found {}",
                KEYS.join(", "),
                kind_of(body)
            )));
        };
        if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
            let shown: String = unknown.chars().take(60).collect();
            return Err(body_error(format!(
                "unknown key {shown:?}; a new dataset takes {} (describe it afterwards with PATCH .../datasets/{{id}}/metadata)",
                KEYS.join(", ")
            )));
        }
        let get = |key: &str, max: usize| -> Result<String, Error> {
            match map.get(key) {
                None | Some(Value::Null) => Err(body_error(format!("{key} is missing"))),
                Some(value) => Ok(text(key, value, max)?.trim().to_owned()),
            }
        };
        let new = NewDataset {
            id: get("id", 100)?,
            organization: get("organization", 64)?,
            title: get("title", 300)?,
        };
        if !is_valid_dataset_id(&new.id) {
            return Err(body_error(format!(
                "id: {:?} is not a dataset identifier: use 1 to 100 lowercase letters, digits, '-' or '_', starting with a letter or digit",
                new.id
            )));
        }
        if new.title.is_empty() {
            return Err(body_error("title: a dataset's title cannot be empty"));
        }
        Ok(new)
    }
}

/// A store error as the management API answers it.
pub(crate) fn store_error(e: kleber_store::Error) -> Error {
    use kleber_store::Error as S;
    match e {
        S::DatasetNotFound { id } => Error::DatasetNotFound(id),
        e @ (S::InvalidDatasetId { .. } | S::InvalidOrgId { .. } | S::InvalidEmail { .. }) => {
            Error::InvalidBody(e.to_string())
        }
        e @ (S::DatasetExists { .. }
        | S::InvalidState(_)
        | S::OrgExists { .. }
        | S::UserExists { .. }) => Error::Conflict(e.to_string()),
        e @ (S::OrgNotFound { .. }
        | S::UserNotFound { .. }
        | S::KeyNotFound { .. }
        | S::NotAMember { .. }) => Error::NotFound(e.to_string()),
        other => Error::Store(other),
    }
}

pub(crate) fn account_error(e: AccountError) -> Error {
    match e {
        AccountError::Store(e) => store_error(e),
        AccountError::Invalid(message) => Error::InvalidBody(message),
        AccountError::Random(message) => Error::Internal(message),
    }
}

fn access(d: &ManagedDataset) -> DatasetAccess<'_> {
    DatasetAccess { uid: &d.uid, organization: &d.organization, visibility: d.visibility }
}

/// Whether `editor` may manage `d`: read it and edit it (see the module).
pub(crate) fn check_manage(editor: &Editor, d: &ManagedDataset) -> Result<(), Error> {
    let p = &editor.principal;
    let reads = policy::may_read(p, access(d));
    let edits = policy::may_edit(p, access(d));
    if !reads || (d.deleted_at.is_some() && !edits) {
        return Err(Error::DatasetNotFound(d.id.clone()));
    }
    // Managing a dataset shows all of it (versions, counts, metadata): only to those who
    // see it whole, beyond its access rule for outsiders (policy::sees_whole).
    if !edits || !policy::sees_whole(p, access(d)) {
        return Err(Error::Forbidden(if editor.is_key_without(Scope::Write) {
            format!(
                "This API key has no write scope: it may read dataset {:?} but not change it. Use a key with the write scope.",
                d.id
            )
        } else if editor.is_key_without(Scope::Read) {
            format!(
                "This API key has no read scope: managing dataset {:?} shows all of it, which needs a key with the read and write scopes.",
                d.id
            )
        } else {
            format!(
                "You may read dataset {:?} but not change it: that needs an editor or admin role in organization {:?}.",
                d.id, d.organization
            )
        }));
    }
    Ok(())
}

impl App {
    /// The store, for the management use cases of this crate.
    pub(crate) fn store_arc(&self) -> Arc<Store> {
        Arc::clone(&self.store)
    }

    /// Runs `f` on the store on a blocking thread.
    pub(crate) async fn on_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let store = self.store_arc();
        tokio::task::spawn_blocking(move || f(&store)).await.map_err(Error::internal)?
    }

    /// Dataset `id` as `editor` may manage it (see the module for the refusals).
    pub async fn managed_dataset(
        &self,
        editor: &Editor,
        id: &str,
    ) -> Result<ManagedDataset, Error> {
        let editor = editor.clone();
        let id = id.to_owned();
        self.on_store(move |store| managed_for(store, &editor, &id)).await
    }

    /// Every dataset `editor` may manage (trash included), by identifier.
    pub async fn managed_datasets(&self, editor: &Editor) -> Result<Vec<ManagedDataset>, Error> {
        let editor = editor.clone();
        self.on_store(move |store| {
            let all = store.catalog().managed_datasets().map_err(store_error)?;
            Ok(all.into_iter().filter(|d| check_manage(&editor, d).is_ok()).collect())
        })
        .await
    }

    /// Creates a draft dataset without a version (`dataset.create`).
    pub async fn create_dataset(
        &self,
        editor: &Editor,
        new: NewDataset,
    ) -> Result<ManagedDataset, Error> {
        let editor = editor.clone();
        self.on_store(move |store| {
            let probe = DatasetAccess {
                uid: "",
                organization: &new.organization,
                visibility: Visibility::Draft,
            };
            let p = &editor.principal;
            if !(policy::may_edit(p, probe) && policy::may_read(p, probe)) {
                if store.catalog().get_org(&new.organization).map_err(store_error)?.is_none() {
                    return Err(body_error(format!(
                        "organization: unknown organization {:?}",
                        new.organization
                    )));
                }
                let scope = if editor.is_key_without(Scope::Write) || editor.is_key_without(Scope::Read) {
                    " (and, for an API key, the read and write scopes)"
                } else {
                    ""
                };
                return Err(Error::Forbidden(format!(
                    "Creating a dataset in organization {:?} needs an editor or admin role there{scope}.",
                    new.organization
                )));
            }
            store
                .account_change(|c| {
                    c.create_dataset(&editor.actor, &new.id, &new.organization, &new.title)
                })
                .map_err(store_error)
        })
        .await
    }

    /// Changes dataset `id`'s metadata (a JSON object checked by [`metadata_patch`]).
    pub async fn edit_metadata(
        &self,
        editor: &Editor,
        id: &str,
        body: &Value,
    ) -> Result<ManagedDataset, Error> {
        let patch = metadata_patch(body)?;
        let editor = editor.clone();
        let id = id.to_owned();
        self.on_store(move |store| {
            managed_for(store, &editor, &id)?;
            store
                .account_change(|c| c.edit_metas(&editor.actor, &id, &patch))
                .map_err(store_error)?;
            managed_for(store, &editor, &id)
        })
        .await
    }

    /// Deletes, restores, publishes, unpublishes, archives or unarchives dataset `id`.
    pub async fn change_lifecycle(
        &self,
        editor: &Editor,
        id: &str,
        change: Lifecycle,
    ) -> Result<ManagedDataset, Error> {
        let editor = editor.clone();
        let id = id.to_owned();
        self.on_store(move |store| {
            let before = managed_for(store, &editor, &id)?;
            store
                .account_change(|c| c.change_lifecycle(&editor.actor, &id, change))
                .map_err(store_error)?;
            if change == Lifecycle::Delete {
                // The source file kept for the processors' preview (the next run keeps another).
                crate::processors::forget_last_read(store, &before.uid);
            }
            managed_for(store, &editor, &id)
        })
        .await
    }

    /// Purges the datasets deleted more than `days` days ago, with their files
    /// (`dataset.purge`, by the system). Returns their uids.
    pub async fn purge_trash(&self, days: u32) -> Result<Vec<String>, Error> {
        let before = (chrono::Utc::now() - chrono::Duration::days(i64::from(days)))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        self.on_store(move |store| {
            let uids = store.purge_deleted(&before).map_err(store_error)?;
            for uid in &uids {
                crate::processors::forget_last_read(store, uid);
            }
            Ok(uids)
        })
        .await
    }

    // ---- organization administration ----------------------------------------------------

    /// Refuses `editor` unless it administers `org` (and, for a key, has the admin scope).
    pub(crate) fn check_admin(editor: &Editor, org: &str) -> Result<(), Error> {
        if policy::may_admin(&editor.principal, org) {
            return Ok(());
        }
        Err(Error::Forbidden(if editor.is_key_without(Scope::Admin) {
            "This API key has no admin scope: administering an organization needs a key with the admin scope.".to_owned()
        } else {
            format!("Administering organization {org:?} needs an admin role in it.")
        }))
    }

    /// Refuses `editor` unless it is a portal admin (or the operator).
    pub(crate) fn check_portal_admin(editor: &Editor) -> Result<(), Error> {
        if policy::may_admin_portal(&editor.principal) {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "Only portal admins (with the admin scope, for a key) create organizations."
                    .to_owned(),
            ))
        }
    }

    /// Runs an account use case for `editor` on a blocking thread, with the management API's
    /// errors.
    pub(crate) async fn admin_accounts<T: Send + 'static>(
        &self,
        f: impl FnOnce(&crate::accounts::Accounts) -> Result<T, AccountError> + Send + 'static,
    ) -> Result<T, Error> {
        let accounts = Arc::clone(&self.accounts);
        tokio::task::spawn_blocking(move || f(&accounts))
            .await
            .map_err(Error::internal)?
            .map_err(account_error)
    }

    /// The organizations `editor` administers (all for a portal admin).
    pub async fn administered_orgs(
        &self,
        editor: &Editor,
    ) -> Result<Vec<kleber_store::Organization>, Error> {
        let principal = editor.principal.clone();
        let orgs = self.admin_accounts(|a| a.orgs()).await?;
        Ok(orgs.into_iter().filter(|o| policy::may_admin(&principal, &o.id)).collect())
    }

    /// Creates an organization (portal admins).
    pub async fn admin_create_org(
        &self,
        editor: &Editor,
        form: crate::admin::OrgForm,
    ) -> Result<kleber_store::Organization, Error> {
        App::check_portal_admin(editor)?;
        let id = form.id.trim().to_owned();
        if !kleber_store::accounts::is_valid_org_id(&id) {
            return Err(store_error(kleber_store::Error::InvalidOrgId { id }));
        }
        let actor = editor.actor.clone();
        self.admin_accounts(move |a| {
            let org = kleber_store::NewOrganization {
                id: &id,
                name: form.name.trim(),
                kind: form.kind,
                description: form.description.as_deref(),
                website: form.website.as_deref(),
                logo: None,
            };
            a.create_org(&actor, &org)
        })
        .await
    }

    /// The members of `org` with their roles (its admins).
    pub async fn admin_members(
        &self,
        editor: &Editor,
        org: &str,
    ) -> Result<Vec<(kleber_store::User, Role)>, Error> {
        App::check_admin(editor, org)?;
        let org = org.to_owned();
        self.admin_accounts(move |a| {
            if a.store().catalog().get_org(&org)?.is_none() {
                return Err(kleber_store::Error::OrgNotFound { id: org }.into());
            }
            Ok(a.store().catalog().members(&org)?)
        })
        .await
    }

    /// Adds a member to `org` or changes its role (its admins; the user must exist: invite
    /// new people instead).
    pub async fn admin_set_member(
        &self,
        editor: &Editor,
        org: &str,
        email: &str,
        role: Role,
    ) -> Result<(), Error> {
        App::check_admin(editor, org)?;
        let (actor, org, email) = (editor.actor.clone(), org.to_owned(), email.to_owned());
        self.admin_accounts(move |a| a.set_member(&actor, &org, &email, role)).await
    }

    /// Removes a member from `org` (its admins).
    pub async fn admin_remove_member(
        &self,
        editor: &Editor,
        org: &str,
        email: &str,
    ) -> Result<(), Error> {
        App::check_admin(editor, org)?;
        let (actor, org, email) = (editor.actor.clone(), org.to_owned(), email.to_owned());
        self.admin_accounts(move |a| a.remove_member(&actor, &org, &email)).await
    }

    /// Invites `email` into `org` with `role` (its admins): the one-time token of the link.
    pub async fn admin_invite(
        &self,
        editor: &Editor,
        org: &str,
        email: &str,
        role: Role,
    ) -> Result<crate::sessions::Invitation, Error> {
        App::check_admin(editor, org)?;
        let (actor, org, email) = (editor.actor.clone(), org.to_owned(), email.trim().to_owned());
        self.admin_accounts(move |a| {
            if a.store().catalog().get_org(&org)?.is_none() {
                return Err(kleber_store::Error::OrgNotFound { id: org }.into());
            }
            a.invite(&actor, &email, &org, role)
        })
        .await
    }

    /// The API keys of `org`'s members (its admins; secrets are never shown).
    pub async fn admin_keys(
        &self,
        editor: &Editor,
        org: &str,
    ) -> Result<Vec<kleber_store::ApiKeyRecord>, Error> {
        let members = self.admin_members(editor, org).await?;
        let ids: Vec<i64> = members.iter().map(|(u, _)| u.id).collect();
        let keys = self.admin_accounts(|a| a.keys(None)).await?;
        Ok(keys.into_iter().filter(|k| ids.contains(&k.user_id)).collect())
    }

    /// Creates an API key for a member of `org` (its admins), shown once.
    pub async fn admin_create_key(
        &self,
        editor: &Editor,
        org: &str,
        email: &str,
        name: &str,
        scopes: Vec<Scope>,
        expires_days: Option<u32>,
    ) -> Result<crate::accounts::CreatedKey, Error> {
        let members = self.admin_members(editor, org).await?;
        if !members.iter().any(|(u, _)| u.email.eq_ignore_ascii_case(email.trim())) {
            return Err(Error::NotFound(format!(
                "{email} is not a member of organization {org:?}: add or invite them first"
            )));
        }
        let (actor, email, name) = (editor.actor.clone(), email.to_owned(), name.to_owned());
        self.admin_accounts(move |a| a.create_key(&actor, &email, &name, &scopes, expires_days))
            .await
    }

    /// Revokes key `id` of a member of `org` (its admins).
    pub async fn admin_revoke_key(
        &self,
        editor: &Editor,
        org: &str,
        id: &str,
    ) -> Result<kleber_store::ApiKeyRecord, Error> {
        let keys = self.admin_keys(editor, org).await?;
        if !keys.iter().any(|k| k.id == id) {
            return Err(Error::NotFound(format!(
                "no API key {id:?} belongs to a member of organization {org:?}"
            )));
        }
        let (actor, id) = (editor.actor.clone(), id.to_owned());
        self.admin_accounts(move |a| a.revoke_key(&actor, &id)).await
    }
}

/// Dataset `id` as `editor` may manage it.
pub(crate) fn managed_for(
    store: &Store,
    editor: &Editor,
    id: &str,
) -> Result<ManagedDataset, Error> {
    let d = store
        .catalog()
        .managed_dataset(id)
        .map_err(store_error)?
        .ok_or_else(|| Error::DatasetNotFound(id.to_owned()))?;
    // A derived dataset bounded by its inputs' readers does not exist for the others: they
    // get the missing dataset, not a refusal that would name it (the leak matrix's derived
    // kind).
    if matches!(check_manage(editor, &d), Err(Error::Forbidden(_)))
        && hidden_by_inputs(store, editor, &d)?
    {
        return Err(Error::DatasetNotFound(id.to_owned()));
    }
    check_manage(editor, &d)?;
    Ok(d)
}

/// Whether `d` is a derived dataset whose restricting inputs `editor` does not all read whole
/// (and nobody allowed it beyond them): the rule of `derive::Derivations::gate`.
fn hidden_by_inputs(store: &Store, editor: &Editor, d: &ManagedDataset) -> Result<bool, Error> {
    let p = &editor.principal;
    if matches!(p, Principal::Operator) {
        return Ok(false);
    }
    let derivations = store.catalog().derivations().map_err(store_error)?;
    let Some(gate) = derivations
        .into_iter()
        .find(|x| x.dataset_uid == d.uid && x.allowed_by.is_none() && !x.gate.is_empty())
        .map(|x| x.gate)
    else {
        return Ok(false);
    };
    let all = store.catalog().managed_datasets().map_err(store_error)?;
    Ok(!gate.iter().all(|uid| {
        all.iter().find(|input| &input.uid == uid).is_some_and(|input| {
            policy::may_read(p, access(input)) && policy::sees_whole(p, access(input))
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn markdown_is_rendered_and_scripts_removed() {
        let html = render_markdown(
            "# Titre\n\nUn *jeu* [lien](https://example.org) <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>",
        );
        assert!(html.contains("<h1>Titre</h1>"), "{html}");
        assert!(html.contains("<em>jeu</em>"), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""), "{html}");
        assert!(!html.contains("<script") && !html.contains("javascript:"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
    }

    #[test]
    fn metadata_is_checked_key_by_key() {
        let patch =
            metadata_patch(&json!({"license": "odbl-1.0", "themes": ["Mobilité", "Mobilité"],
            "language": "fr", "temporal_start": "2020-01-01", "temporal_end": "2021-12-31"}))
            .unwrap();
        assert_eq!(patch["license"], "Open Database License (ODbL)");
        assert_eq!(patch["license_url"], "https://opendatacommons.org/licenses/odbl/1-0/");
        assert_eq!(patch["theme"], json!(["Mobilité"]));
        for (body, needle) in [
            (json!({"license": "wtfpl"}), "unknown licence \"wtfpl\""),
            (json!({"license": "custom"}), "needs license_name"),
            (json!({"licence": "odbl-1.0"}), "unknown metadata key \"licence\""),
            (json!({"contact_email": "nobody"}), "not an email"),
            (json!({"language": "french"}), "ISO 639-1"),
            (json!({"update_frequency": "sometimes"}), "unknown frequency"),
            (json!({"temporal_start": "2021-01-01", "temporal_end": "2020-01-01"}), "after"),
            (json!({"references": "javascript:alert(1)"}), "not an absolute"),
            (json!({"title": ""}), "cannot be empty"),
            (json!({"themes": "Mobilité"}), "expected an array"),
            (json!([]), "must be a JSON object"),
        ] {
            let e = metadata_patch(&body).unwrap_err().to_string();
            assert!(e.contains(needle), "{body}: {e}");
        }
        let custom = metadata_patch(&json!({"license": "custom", "license_name": "Ma licence",
            "license_url": "https://example.org/licence"}))
        .unwrap();
        assert_eq!(
            (custom["license"].as_str(), custom["license_id"].as_str()),
            (Some("Ma licence"), Some("custom"))
        );
    }
}
