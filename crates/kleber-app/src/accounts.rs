//! Organizations, users, memberships, API keys, grants and visibility: the use cases of the
//! command line (and, later, of the portal's administration), and the resolution of an API
//! key into a [`Principal`].
//!
//! ## API keys
//!
//! A key reads `klb_<id>_<secret>`: `id` is 12 hexadecimal digits (6 random bytes), shown in
//! `kleber key list` and used to revoke it; `secret` is 64 hexadecimal digits (32 bytes from
//! the operating system's generator). The key is printed once; the catalog keeps only the
//! SHA-256 digest of the secret. A fast hash is enough here, unlike for passwords: the secret
//! has 256 bits of entropy, so no dictionary or brute force can find it from its digest, and
//! a slow hash would only cost CPU on every request.
//!
//! Resolved keys are cached in memory by the digest of the whole presented key, each entry
//! valid for the catalog generation it was read at. Every change of keys, users, memberships
//! or grants bumps the generation, which the store notices at once in this process and within
//! `kleber_store::freshness::MAX_AGE` (10 ms) when another process (`kleber key revoke`)
//! made it: a revoked key stops working within that bound, and checking a key costs no
//! SQLite query. Expiry is checked on every use. Last use is written at most once a minute
//! per key, off the request's path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kleber_store::{
    Actor, ApiKeyRecord, AuditEntry, NewApiKey, NewOrganization, NewUser, OrgKind, OrgUpdate,
    Organization, Role, Scope, Store, User, Visibility,
};
use sha2::{Digest, Sha256};

use crate::Principal;
use crate::policy::{Account, Scopes};

/// The prefix of every Kleber API key.
pub const KEY_PREFIX: &str = "klb_";

/// How often, at most, a key's last use is written, in seconds.
pub const LAST_USE_EVERY_SECS: i64 = 60;

/// Keys kept resolved in memory (unknown keys included, so that guessing costs no query).
const KEY_CACHE_ENTRIES: usize = 10_000;

/// argon2id parameters for passwords: 19 MiB of memory, 2 passes, 1 lane (OWASP's
/// recommendation for argon2id).
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// argon2id passes.
pub const ARGON2_ITERATIONS: u32 = 2;
/// argon2id lanes.
pub const ARGON2_LANES: u32 = 1;

/// What a use case of this module can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The store refused it (unknown organization, duplicate email, ...).
    #[error(transparent)]
    Store(#[from] kleber_store::Error),
    /// Something the caller gave is not valid (the message says what and how to fix it).
    #[error("{0}")]
    Invalid(String),
    /// The operating system's random generator failed.
    #[error("cannot read random bytes from the operating system: {0}")]
    Random(String),
}

/// Whether `url` is an absolute `http` or `https` address the portal may link to: a scheme,
/// a host, and no space or control character (so no `javascript:` link reaches a page).
pub fn is_web_address(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty()
                && url.len() <= 2048
                && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

fn check_web_address(flag: &str, url: Option<&str>) -> Result<(), AccountError> {
    match url {
        Some(url) if !is_web_address(url) => Err(AccountError::Invalid(format!(
            "{flag} {url:?} is not a web address: give an absolute http:// or https:// URL \
             (at most 2048 characters, no spaces)"
        ))),
        _ => Ok(()),
    }
}

/// A newly created key: its record and the key itself, to show once.
#[derive(Debug)]
pub struct CreatedKey {
    /// The stored key.
    pub record: ApiKeyRecord,
    /// `klb_<id>_<secret>`: shown once, never stored.
    pub key: String,
}

/// Why a presented key is refused (the 401's message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRefusal {
    /// Not a Kleber key, or no key has this id and secret.
    Unknown,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired(String),
    /// Its owner is disabled.
    OwnerDisabled,
}

impl std::fmt::Display for KeyRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRefusal::Unknown => f.write_str("Unknown API key."),
            KeyRefusal::Revoked => f.write_str("This API key has been revoked."),
            KeyRefusal::Expired(at) => write!(f, "This API key expired at {at}."),
            KeyRefusal::OwnerDisabled => f.write_str("The account of this API key is disabled."),
        }
    }
}

/// A key's principal and its expiry, or why it is refused.
type KeyOutcome = Result<(Principal, Option<chrono::DateTime<chrono::Utc>>), KeyRefusal>;

#[derive(Clone)]
struct CachedKey {
    generation: i64,
    outcome: KeyOutcome,
}

/// The account use cases over a store, and the API-key cache.
pub struct Accounts {
    store: Arc<Store>,
    keys: quick_cache::sync::Cache<[u8; 32], CachedKey>,
    /// Unix seconds of the last write of each key's last use.
    touched: Mutex<HashMap<String, i64>>,
    /// Failed sign-ins (see [`crate::sessions`]).
    throttle: crate::sessions::Throttle,
}

fn random_bytes<const N: usize>() -> Result<[u8; N], AccountError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AccountError::Random(e.to_string()))?;
    Ok(bytes)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `(id, secret)` of a presented key, if it has Kleber's shape.
pub fn split_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hexdigits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hexdigits(id, 12) && hexdigits(secret, 64)).then_some((id, secret))
}

/// The argon2id hasher with Kleber's explicit parameters.
fn argon2() -> Result<argon2::Argon2<'static>, AccountError> {
    let params = argon2::Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None)
        .map_err(|e| AccountError::Invalid(format!("argon2 parameters: {e}")))?;
    Ok(argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params))
}

/// The argon2id PHC string of `password` (random 16-byte salt).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    if password.chars().count() < 12 {
        return Err(AccountError::Invalid(
            "the password is too short: use at least 12 characters".to_owned(),
        ));
    }
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| AccountError::Invalid(format!("salt: {e}")))?;
    let hash = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AccountError::Invalid(format!("cannot hash the password: {e}")))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

impl Accounts {
    /// The account use cases over `store`.
    pub fn new(store: Arc<Store>) -> Accounts {
        Accounts {
            store,
            keys: quick_cache::sync::Cache::new(KEY_CACHE_ENTRIES),
            touched: Mutex::new(HashMap::new()),
            throttle: crate::sessions::Throttle::default(),
        }
    }

    /// Failed sign-ins, per address and per account.
    pub(crate) fn throttle(&self) -> &crate::sessions::Throttle {
        &self.throttle
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates an organization.
    pub fn create_org(
        &self,
        actor: &Actor,
        org: &NewOrganization<'_>,
    ) -> Result<Organization, AccountError> {
        if org.name.trim().is_empty() {
            return Err(AccountError::Invalid(
                "the organization's name is empty: give one with --name".to_owned(),
            ));
        }
        check_web_address("--website", org.website)?;
        check_web_address("--logo", org.logo)?;
        Ok(self.store.account_change(|c| c.create_org(actor, org))?)
    }

    /// Changes an organization's name, kind, description, web site or logo (audited as
    /// `org.update`).
    pub fn update_org(
        &self,
        actor: &Actor,
        id: &str,
        update: &OrgUpdate<'_>,
    ) -> Result<Organization, AccountError> {
        if update.is_empty() {
            return Err(AccountError::Invalid(
                "nothing to change: give --name, --kind, --description, --website or --logo"
                    .to_owned(),
            ));
        }
        if update.name.is_some_and(|n| n.trim().is_empty()) {
            return Err(AccountError::Invalid(
                "the organization's name is empty: give a name with --name".to_owned(),
            ));
        }
        check_web_address("--website", update.website.flatten())?;
        check_web_address("--logo", update.logo.flatten())?;
        Ok(self.store.account_change(|c| c.update_org(actor, id, update))?)
    }

    /// Every organization.
    pub fn orgs(&self) -> Result<Vec<Organization>, AccountError> {
        Ok(self.store.catalog().list_orgs()?)
    }

    /// Creates a user, with a password (hashed with argon2id) or none.
    pub fn create_user(
        &self,
        actor: &Actor,
        email: &str,
        name: Option<&str>,
        admin: bool,
        password: Option<&str>,
    ) -> Result<User, AccountError> {
        let hash = password.map(hash_password).transpose()?;
        let name = name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(email.trim());
        let new = NewUser { email, name, admin, password_hash: hash.as_deref() };
        Ok(self.store.account_change(|c| c.create_user(actor, &new))?)
    }

    /// Disables a user.
    pub fn disable_user(&self, actor: &Actor, email: &str) -> Result<User, AccountError> {
        Ok(self.store.account_change(|c| c.disable_user(actor, email))?)
    }

    /// Whether `password` is the password of the enabled user `email`.
    pub fn check_password(&self, email: &str, password: &str) -> Result<bool, AccountError> {
        let Some(user) = self.store.catalog().get_user(email)? else {
            return Ok(false);
        };
        let hash = self.store.catalog().password_hash(email)?;
        Ok(!user.disabled && hash.is_some_and(|h| verify_password(password, &h)))
    }

    /// Adds a member or changes its role.
    pub fn set_member(
        &self,
        actor: &Actor,
        org: &str,
        email: &str,
        role: Role,
    ) -> Result<(), AccountError> {
        Ok(self.store.account_change(|c| c.set_member(actor, org, email, role))?)
    }

    /// Removes a member.
    pub fn remove_member(&self, actor: &Actor, org: &str, email: &str) -> Result<(), AccountError> {
        Ok(self.store.account_change(|c| c.remove_member(actor, org, email))?)
    }

    /// Creates an API key for `email`, valid `expires_days` days if given.
    pub fn create_key(
        &self,
        actor: &Actor,
        email: &str,
        name: &str,
        scopes: &[Scope],
        expires_days: Option<u32>,
    ) -> Result<CreatedKey, AccountError> {
        if name.trim().is_empty() {
            return Err(AccountError::Invalid(
                "the key's name is empty: give one with --name".into(),
            ));
        }
        if scopes.is_empty() {
            return Err(AccountError::Invalid(
                "a key needs at least one scope: --scope read, write or admin".to_owned(),
            ));
        }
        let expires_at = match expires_days {
            None => None,
            Some(0) => {
                return Err(AccountError::Invalid(
                    "--expires 0 would make a key that never works: give at least 1 day".into(),
                ));
            }
            Some(days) => Some(
                (chrono::Utc::now() + chrono::Duration::days(i64::from(days)))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
        };
        let id = hex::encode(random_bytes::<6>()?);
        let secret = hex::encode(random_bytes::<32>()?);
        let hash = sha256(secret.as_bytes());
        let new = NewApiKey {
            id: &id,
            secret_hash: &hash,
            name: name.trim(),
            scopes,
            user_email: email,
            expires_at: expires_at.as_deref(),
        };
        let record = self.store.account_change(|c| c.create_key(actor, &new))?;
        Ok(CreatedKey { record, key: format!("{KEY_PREFIX}{id}_{secret}") })
    }

    /// Revokes key `id` (effective at once in this process, see the module's documentation
    /// for others).
    pub fn revoke_key(&self, actor: &Actor, id: &str) -> Result<ApiKeyRecord, AccountError> {
        Ok(self.store.account_change(|c| c.revoke_key(actor, id))?)
    }

    /// Keys of one user, or all.
    pub fn keys(&self, email: Option<&str>) -> Result<Vec<ApiKeyRecord>, AccountError> {
        Ok(self.store.catalog().list_keys(email)?)
    }

    /// Sets a dataset's visibility.
    pub fn set_visibility(
        &self,
        actor: &Actor,
        dataset: &str,
        visibility: Visibility,
    ) -> Result<(), AccountError> {
        Ok(self.store.account_change(|c| c.set_visibility(actor, dataset, visibility))?)
    }

    /// Moves a dataset to organization `org`.
    pub fn set_dataset_org(
        &self,
        actor: &Actor,
        dataset: &str,
        org: &str,
    ) -> Result<(), AccountError> {
        Ok(self.store.account_change(|c| c.set_dataset_org(actor, dataset, org))?)
    }

    /// Grants reading `dataset` to `email`.
    pub fn grant(&self, actor: &Actor, dataset: &str, email: &str) -> Result<(), AccountError> {
        Ok(self.store.account_change(|c| c.grant(actor, dataset, email))?)
    }

    /// The last `limit` audit entries, newest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>, AccountError> {
        Ok(self.store.catalog().audit(limit)?)
    }

    /// The audit entries `filter` selects, newest first, and how many it selects in all
    /// (for the operator, who reads every entry; requests go through `App::audit`).
    pub fn audit_page(
        &self,
        filter: &kleber_store::AuditFilter,
    ) -> Result<(u64, Vec<AuditEntry>), AccountError> {
        Ok(self.store.catalog().audit_page(filter)?)
    }

    /// Resolves a presented key, from memory when the catalog has not changed since it was
    /// last read. Blocking on a miss (one SQLite read): call it from a blocking context, or
    /// use [`Accounts::cached_principal`] first.
    pub fn principal_for_key(
        &self,
        presented: &str,
    ) -> anyhow::Result<Result<Principal, KeyRefusal>> {
        let digest = sha256(presented.as_bytes());
        let generation = self.store.recent_generation()?;
        let entry = match self.keys.get(&digest) {
            Some(entry) if entry.generation == generation => entry,
            _ => {
                let entry = CachedKey { generation, outcome: self.read_key(presented)? };
                self.keys.insert(digest, entry.clone());
                entry
            }
        };
        Ok(self.check(entry))
    }

    /// [`Accounts::principal_for_key`] when the answer is in memory and current; `None` when
    /// the catalog must be read.
    pub fn cached_principal(
        &self,
        presented: &str,
    ) -> anyhow::Result<Option<Result<Principal, KeyRefusal>>> {
        let digest = sha256(presented.as_bytes());
        let generation = self.store.recent_generation()?;
        Ok(match self.keys.get(&digest) {
            Some(entry) if entry.generation == generation => Some(self.check(entry)),
            _ => None,
        })
    }

    fn check(&self, entry: CachedKey) -> Result<Principal, KeyRefusal> {
        let (principal, expires) = entry.outcome?;
        let now = chrono::Utc::now();
        if let Some(expires) = expires
            && now >= expires
        {
            return Err(KeyRefusal::Expired(
                expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ));
        }
        if let Principal::Key { key_id, .. } = &principal {
            self.note_use(key_id, now);
        }
        Ok(principal)
    }

    fn read_key(&self, presented: &str) -> anyhow::Result<KeyOutcome> {
        let Some((id, secret)) = split_key(presented) else {
            return Ok(Err(KeyRefusal::Unknown));
        };
        let Some(grant) = self.store.catalog().key_grant(id)? else {
            return Ok(Err(KeyRefusal::Unknown));
        };
        // Digests of 256-bit secrets: comparing them reveals nothing usable about the secret.
        if grant.secret_hash != sha256(secret.as_bytes()) {
            return Ok(Err(KeyRefusal::Unknown));
        }
        if grant.key.revoked_at.is_some() {
            return Ok(Err(KeyRefusal::Revoked));
        }
        if grant.user.disabled {
            return Ok(Err(KeyRefusal::OwnerDisabled));
        }
        let expires = match &grant.key.expires_at {
            None => None,
            Some(at) => Some(
                chrono::DateTime::parse_from_rfc3339(at)
                    .map_err(|e| anyhow::anyhow!("expiry of key {id}: {e}"))?
                    .with_timezone(&chrono::Utc),
            ),
        };
        let account = Account {
            user_id: grant.user.id,
            email: grant.user.email,
            admin: grant.user.admin,
            memberships: grant.memberships.into_iter().collect(),
            grants: grant.grants.into_iter().collect(),
        };
        let principal = Principal::Key {
            key_id: grant.key.id,
            scopes: Scopes::of(&grant.key.scopes),
            account: Arc::new(account),
        };
        Ok(Ok((principal, expires)))
    }

    /// Records a use of key `id`, writing it at most once every [`LAST_USE_EVERY_SECS`]
    /// (on a background thread: the request does not wait for SQLite).
    fn note_use(&self, id: &str, now: chrono::DateTime<chrono::Utc>) {
        let secs = now.timestamp();
        {
            let mut touched =
                self.touched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if touched.get(id).is_some_and(|last| secs - last < LAST_USE_EVERY_SECS) {
                return;
            }
            touched.insert(id.to_owned(), secs);
        }
        let store = Arc::clone(&self.store);
        let uses = vec![(id.to_owned(), now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))];
        let write = move || {
            if let Err(e) = store.catalog().touch_keys(&uses) {
                tracing::warn!(error = %e, "cannot record an API key's last use");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn_blocking(write);
            }
            Err(_) => write(),
        }
    }
}

/// The operator at the shell, for the audit log (`$USER`, else `$LOGNAME`).
pub fn operator() -> Actor {
    Actor::Operator(std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).ok())
}

/// The kinds an organization may have, for messages.
pub fn org_kinds() -> Vec<&'static str> {
    OrgKind::ALL.iter().map(|k| k.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_addresses_are_web_addresses() {
        for ok in ["https://www.strasbourg.eu/", "http://x.org", "https://a.b/logo.png?v=2#top"] {
            assert!(is_web_address(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "//x.org/a.png",
            "https://",
            "https:///path",
            "ftp://x.org/",
            "https://x.org/a b",
            "https://x.org/\u{0}",
            "data:image/png;base64,AAAA",
        ] {
            assert!(!is_web_address(bad), "{bad}");
        }
        assert!(!is_web_address(&format!("https://x.org/{}", "a".repeat(2048))));
    }

    #[test]
    fn passwords_hash_with_argon2id_and_the_stated_parameters() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterz", &hash));
        assert_ne!(hash, hash_password("correct horse battery").unwrap(), "salted");
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn key_shapes() {
        let key = format!("klb_{}_{}", "0a1b2c3d4e5f", "ab".repeat(32));
        assert_eq!(split_key(&key).map(|(id, _)| id), Some("0a1b2c3d4e5f"));
        assert_eq!(split_key("klb_0a1b2c3d4e5f_abc"), None);
        assert_eq!(split_key("abc"), None);
        assert_eq!(split_key(&key.replacen("klb_", "kbl_", 1)), None);
    }
}
