//! Publishers and who may do what: organizations, users, memberships, dataset grants, API
//! keys, sessions and the audit log, as the catalog stores them.
//!
//! The store keeps facts; decisions (who may read, edit or administer what) are made in one
//! place, `kleber_app::policy`. Secrets never reach the catalog in clear: passwords are
//! argon2id hashes (PHC strings) and API keys and session tokens are SHA-256 digests, all
//! computed by the application layer.
//!
//! Every change goes through [`AccountCatalog`] in one write transaction that also appends
//! its [`AuditEntry`], so the log cannot miss a change that happened.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::error::{Error, Result};

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word stored and typed for it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> std::result::Result<Self, String> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let words: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    format!("unknown {} {s:?}: use one of {}", $what, words.join(", "))
                })
            }
        }
    };
}

word_enum! {
    /// What kind of body an organization is.
    OrgKind, "organization kind" {
        /// A city.
        City = "city",
        /// A metropolis (Eurométropole).
        Metropolis = "metropolis",
        /// A commune.
        Commune = "commune",
        /// A public body.
        PublicBody = "public_body",
        /// A company.
        Company = "company",
        /// An association.
        Association = "association",
    }
}

word_enum! {
    /// A member's role in an organization.
    Role, "role" {
        /// Members, keys and every dataset of the organization.
        Admin = "admin",
        /// Creates and publishes the organization's datasets (drafts included).
        Editor = "editor",
        /// Reads the organization's restricted datasets.
        Viewer = "viewer",
    }
}

word_enum! {
    /// Who may read a dataset.
    Visibility, "visibility" {
        /// Everyone, anonymous callers included.
        Public = "public",
        /// Its organization's members and the users it is granted to.
        Restricted = "restricted",
        /// Never published: its organization's editors and admins only.
        Draft = "draft",
    }
}

word_enum! {
    /// What an API key may be used for (always within its owner's rights).
    Scope, "scope" {
        /// Read the restricted and draft datasets its owner may read.
        Read = "read",
        /// Create and publish datasets its owner may edit.
        Write = "write",
        /// Administer the organizations its owner administers.
        Admin = "admin",
    }
}

/// The organization given to datasets that have none when a data directory written before
/// organizations existed is opened, unless `--default-org` names another.
pub const DEFAULT_ORG: &str = "default";

/// Whether `id` is a valid organization identifier: 1 to 64 lowercase ASCII letters, digits,
/// `-` or `_`, starting with a letter or digit.
pub fn is_valid_org_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
}

/// The form of an email address users are looked up by: trimmed and lowercased (Unicode), so
/// `Anne@Example.org` and `anne@example.org` are one account.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Who made a change, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The operator at the shell (`kleber ...`), named by the OS user when known.
    Operator(Option<String>),
    /// A signed-in user, through a session.
    User {
        /// The user.
        user_id: i64,
        /// The session, by a short prefix of its token's digest.
        session: String,
    },
    /// An API key.
    Key {
        /// The key's owner.
        user_id: i64,
        /// The key's id.
        key_id: String,
    },
    /// Kleber itself (migrations).
    System,
}

impl Actor {
    /// `(who, via)` as stored: `operator:NAME`, `user:ID` or `system`, and the key or session.
    pub fn columns(&self) -> (String, Option<String>) {
        match self {
            Actor::Operator(name) => {
                (format!("operator:{}", name.as_deref().unwrap_or("unknown")), None)
            }
            Actor::User { user_id, session } => {
                (format!("user:{user_id}"), Some(format!("session:{session}")))
            }
            Actor::Key { user_id, key_id } => {
                (format!("user:{user_id}"), Some(format!("key:{key_id}")))
            }
            Actor::System => ("system".to_owned(), None),
        }
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Identifier (slug).
    pub id: String,
    /// Display name.
    pub name: String,
    /// What kind of body it is.
    pub kind: OrgKind,
    /// Description, if any.
    pub description: Option<String>,
    /// Web site, if any.
    pub website: Option<String>,
    /// Logo URL, if any.
    pub logo: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// A new organization.
#[derive(Debug, Clone)]
pub struct NewOrganization<'a> {
    /// Identifier (slug, [`is_valid_org_id`]).
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Kind.
    pub kind: OrgKind,
    /// Description.
    pub description: Option<&'a str>,
    /// Web site.
    pub website: Option<&'a str>,
    /// Logo URL.
    pub logo: Option<&'a str>,
}

/// Changes to an organization: `None` keeps a value; for the optional ones, `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default)]
pub struct OrgUpdate<'a> {
    /// New display name.
    pub name: Option<&'a str>,
    /// New kind.
    pub kind: Option<OrgKind>,
    /// New description, or none.
    pub description: Option<Option<&'a str>>,
    /// New web site, or none.
    pub website: Option<Option<&'a str>>,
    /// New logo URL, or none.
    pub logo: Option<Option<&'a str>>,
}

impl OrgUpdate<'_> {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.kind.is_none()
            && self.description.is_none()
            && self.website.is_none()
            && self.logo.is_none()
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Numeric id.
    pub id: i64,
    /// Email as given.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Portal administrator.
    pub admin: bool,
    /// Disabled: cannot sign in, its keys and sessions are refused.
    pub disabled: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// A new user.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Email (unique, compared case-insensitively).
    pub email: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Portal administrator.
    pub admin: bool,
    /// An argon2id PHC string, or `None` (no password sign-in).
    pub password_hash: Option<&'a str>,
}

/// An API key as stored (its secret only as a digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Public identifier, the visible part of the key.
    pub id: String,
    /// Name given by its owner.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Owner.
    pub user_id: i64,
    /// Owner's email.
    pub user_email: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it stops working (RFC 3339), if ever.
    pub expires_at: Option<String>,
    /// When it was last used (RFC 3339, updated at most once a minute).
    pub last_used_at: Option<String>,
    /// When it was revoked (RFC 3339).
    pub revoked_at: Option<String>,
}

/// A new API key.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    /// Public identifier.
    pub id: &'a str,
    /// SHA-256 of the secret part.
    pub secret_hash: &'a [u8],
    /// Name.
    pub name: &'a str,
    /// Scopes.
    pub scopes: &'a [Scope],
    /// Owner's email.
    pub user_email: &'a str,
    /// Expiry (RFC 3339).
    pub expires_at: Option<&'a str>,
}

/// What a presented key's id resolves to: the key, its owner and the owner's rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    /// The key.
    pub key: ApiKeyRecord,
    /// Its secret's digest, to compare with the presented one.
    pub secret_hash: Vec<u8>,
    /// The owner.
    pub user: User,
    /// The owner's memberships.
    pub memberships: Vec<(String, Role)>,
    /// Dataset uids granted to the owner.
    pub grants: Vec<String>,
}

/// What a session token's digest resolves to: the signed-in user, their rights, the session's
/// expiry and its CSRF secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionGrant {
    /// The user.
    pub user: User,
    /// The user's memberships.
    pub memberships: Vec<(String, Role)>,
    /// Dataset uids granted to the user.
    pub grants: Vec<String>,
    /// When the session ends (RFC 3339).
    pub expires_at: String,
    /// The session's CSRF secret.
    pub csrf_secret: Vec<u8>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Sequence number.
    pub id: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Who (`operator:NAME`, `user:ID`, `system`).
    pub actor: String,
    /// Through which key or session, if any.
    pub via: Option<String>,
    /// What (`org.create`, `key.revoke`, ...).
    pub action: String,
    /// On what (an organization, an email, a key id, a dataset id).
    pub target: String,
    /// Details (JSON object).
    pub details: Value,
}

/// Which audit entries to read, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only entries about one of these organizations (`None`: every entry). An entry is about
    /// an organization when it creates it or changes its members (its target), when it is about
    /// one of its datasets (the `organization` of its details, as it was then), or when it
    /// moves a dataset from or to it.
    pub orgs: Option<Vec<String>>,
    /// Only entries of this actor (`operator:NAME`, `user:ID`, `system`).
    pub actor: Option<String>,
    /// Only entries of this action (`member.set`, ...).
    pub action: Option<String>,
    /// Only entries at or after this time (RFC 3339 in the stored form, `+00:00`).
    pub since: Option<String>,
    /// Only entries before this time (same form).
    pub until: Option<String>,
    /// At most this many entries.
    pub limit: usize,
    /// After skipping this many.
    pub offset: usize,
}

/// Organizations, accounts, keys and the audit log, in the catalog database.
pub trait AccountCatalog: Send + Sync {
    /// Creates an organization.
    fn create_org(&self, actor: &Actor, org: &NewOrganization<'_>) -> Result<Organization>;
    /// Every organization, by identifier.
    fn list_orgs(&self) -> Result<Vec<Organization>>;
    /// Changes an organization's name, kind, description, web site or logo; returns it.
    fn update_org(&self, actor: &Actor, id: &str, update: &OrgUpdate<'_>) -> Result<Organization>;
    /// One organization.
    fn get_org(&self, id: &str) -> Result<Option<Organization>>;
    /// The organization new datasets go to when none is named.
    fn default_org(&self) -> Result<String>;

    /// Creates a user.
    fn create_user(&self, actor: &Actor, user: &NewUser<'_>) -> Result<User>;
    /// The user with this email (case-insensitive).
    fn get_user(&self, email: &str) -> Result<Option<User>>;
    /// Disables a user: sign-in, keys and sessions stop working.
    fn disable_user(&self, actor: &Actor, email: &str) -> Result<User>;
    /// The argon2id PHC string of a user's password, if set.
    fn password_hash(&self, email: &str) -> Result<Option<String>>;

    /// Adds `email` to `org` with `role`, or changes its role.
    fn set_member(&self, actor: &Actor, org: &str, email: &str, role: Role) -> Result<()>;
    /// Removes `email` from `org`.
    fn remove_member(&self, actor: &Actor, org: &str, email: &str) -> Result<()>;
    /// The members of `org` with their roles.
    fn members(&self, org: &str) -> Result<Vec<(User, Role)>>;

    /// Creates an API key.
    fn create_key(&self, actor: &Actor, key: &NewApiKey<'_>) -> Result<ApiKeyRecord>;
    /// Revokes an API key (idempotent: revoking twice keeps the first date).
    fn revoke_key(&self, actor: &Actor, id: &str) -> Result<ApiKeyRecord>;
    /// Keys, of one user or of all.
    fn list_keys(&self, email: Option<&str>) -> Result<Vec<ApiKeyRecord>>;
    /// What key `id` grants, with its secret's digest; `None` when there is no such key.
    fn key_grant(&self, id: &str) -> Result<Option<KeyGrant>>;
    /// Records when keys were last used (no audit, no generation change).
    fn touch_keys(&self, uses: &[(String, String)]) -> Result<()>;

    /// Opens a session for the enabled user `user_id`, valid `ttl_secs` seconds: stores the
    /// SHA-256 digest of its token and its CSRF secret, appends `session.create` to the audit
    /// log and deletes every expired session. Returns the expiry (RFC 3339). Sessions are not
    /// catalog state: the generation does not change.
    fn create_session(
        &self,
        user_id: i64,
        token_hash: &[u8],
        csrf_secret: &[u8],
        ttl_secs: i64,
    ) -> Result<String>;
    /// The session whose token has this digest, if it exists, has not expired and its user is
    /// enabled.
    fn session_grant(&self, token_hash: &[u8]) -> Result<Option<SessionGrant>>;
    /// Deletes a session (sign-out), appending `session.delete`; `false` when there was none.
    fn delete_session(&self, token_hash: &[u8]) -> Result<bool>;

    /// Invites `email` into `org` with `role`: creates the user (without a password) if there is
    /// none, sets the membership, and stores the SHA-256 digest of a one-time token valid
    /// `ttl_secs` seconds (replacing the user's earlier invitations), appending `user.invite`.
    /// Returns the expiry (RFC 3339).
    fn create_invitation(
        &self,
        actor: &Actor,
        email: &str,
        org: &str,
        role: Role,
        token_hash: &[u8],
        ttl_secs: i64,
    ) -> Result<String>;
    /// The enabled user a current invitation token's digest is for.
    fn invitation_user(&self, token_hash: &[u8]) -> Result<Option<User>>;
    /// Uses an invitation once: sets the user's password (an argon2id PHC string) and deletes
    /// the invitation, appending `user.invitation.accept`; `None` when the token is unknown,
    /// used or expired, or the user disabled.
    fn accept_invitation(&self, token_hash: &[u8], password_hash: &str) -> Result<Option<User>>;

    /// Sets a dataset's visibility.
    fn set_visibility(&self, actor: &Actor, dataset: &str, visibility: Visibility) -> Result<()>;
    /// Sets (or, with `None` or an empty rule, removes) a dataset's access rule for
    /// outsiders, as given (the caller has checked it against the dataset's fields).
    fn set_rule(
        &self,
        actor: &Actor,
        dataset: &str,
        rule: Option<&crate::AccessRule>,
    ) -> Result<()>;
    /// Moves a dataset to another organization.
    fn set_dataset_org(&self, actor: &Actor, dataset: &str, org: &str) -> Result<()>;
    /// Grants reading a dataset to a user.
    fn grant(&self, actor: &Actor, dataset: &str, email: &str) -> Result<()>;
    /// Users a dataset is granted to.
    fn grants(&self, dataset: &str) -> Result<Vec<User>>;

    /// The last `limit` audit entries, newest first.
    fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>>;
    /// The entries `filter` selects, newest first, and how many it selects in all.
    fn audit_page(&self, filter: &AuditFilter) -> Result<(u64, Vec<AuditEntry>)>;

    // The portal's administration pages (web/admin.rs).
    /// Every user, by email.
    fn list_users(&self) -> Result<Vec<User>>;
    /// Makes a user a portal admin or not, appending `user.admin`.
    fn set_admin(&self, actor: &Actor, email: &str, admin: bool) -> Result<User>;
    /// The current invitations of members of `org`: the invited user, their role there, and
    /// when the link was made and ends.
    fn pending_invitations(&self, org: &str) -> Result<Vec<PendingInvitation>>;
    /// Revokes the current invitation of `email`, a member of `org`: the link stops working,
    /// and a user who never set a password leaves `org`. Appends `user.invitation.revoke`
    /// (with the `organization`); `false` when there was no current invitation.
    fn revoke_invitation(&self, actor: &Actor, org: &str, email: &str) -> Result<bool>;
}

/// An invitation whose link is still valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingInvitation {
    /// The invited user.
    pub user: User,
    /// Their role in the organization asked about.
    pub role: Role,
    /// When the link was made (RFC 3339).
    pub created_at: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

pub(crate) fn parse_word<T: FromStr<Err = String>>(text: &str) -> Result<T> {
    text.parse().map_err(Error::CorruptCatalog)
}

pub(crate) fn parse_scopes(text: &str) -> Result<Vec<Scope>> {
    text.split(',').filter(|s| !s.is_empty()).map(parse_word).collect()
}

pub(crate) fn scopes_text(scopes: &[Scope]) -> String {
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_words_say_what_is_allowed() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        let error = "owner".parse::<Role>().unwrap_err();
        assert_eq!(error, "unknown role \"owner\": use one of admin, editor, viewer");
        assert_eq!("public_body".parse::<OrgKind>(), Ok(OrgKind::PublicBody));
        assert_eq!(scopes_text(&[Scope::Write, Scope::Read, Scope::Write]), "read,write");
        assert_eq!(parse_scopes("read,write").unwrap(), vec![Scope::Read, Scope::Write]);
    }

    #[test]
    fn org_ids_and_email_keys() {
        assert!(is_valid_org_id("ville-strasbourg"));
        assert!(!is_valid_org_id("Ville"));
        assert!(!is_valid_org_id("-x"));
        assert!(!is_valid_org_id(""));
        assert_eq!(email_key("  Anne.Dupont@Example.ORG "), "anne.dupont@example.org");
        assert_eq!(email_key("ÉLODIE@x.fr"), "élodie@x.fr");
    }
}
