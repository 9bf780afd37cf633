//! Portal sessions: sign-in with email and password, the session a cookie carries, its CSRF
//! token, sign-out, and the throttling of failed sign-ins.
//!
//! ## Tokens
//!
//! A session is created at every successful sign-in, with a new token (32 random bytes, 64
//! hexadecimal digits) and a new CSRF secret (32 random bytes): a token known before sign-in
//! is never promoted, so a session cannot be fixed by someone else. The catalog keeps only the
//! SHA-256 digest of the token (like API keys, a fast hash is enough for 256 random bits).
//! A session lasts [`SESSION_TTL_SECS`] from sign-in; sign-out deletes it from the catalog,
//! and disabling a user deletes all of theirs.
//!
//! A session is read from the catalog on every request that carries its cookie (one SQLite
//! read, on a blocking thread): a sign-out, a disabled user or a changed membership takes
//! effect at the next request, in every process that serves the data directory.
//!
//! ## CSRF
//!
//! Forms that change something carry the session's CSRF token, the hexadecimal form of its
//! secret (the synchronizer-token pattern); [`Session::check_csrf`] compares digests, so the
//! comparison's time tells nothing about the secret.
//!
//! ## Throttling
//!
//! [`MAX_FAILURES`] failed sign-ins within [`THROTTLE_WINDOW_SECS`], counted per client
//! address and per account (the email as typed, lowercased), refuse further attempts from that
//! address or for that account until the oldest failure leaves the window; the refusal says
//! when. The counts are kept in memory (a restart forgets them). An unknown email, a wrong
//! password and a disabled account fail alike, in about the same time (an unknown email is
//! checked against a fixed hash).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kleber_store::Actor;
use kleber_store::accounts::email_key;
use sha2::{Digest, Sha256};

use crate::accounts::{AccountError, Accounts, verify_password};
use crate::policy::Account;
use crate::{App, Error, Principal};

/// How long a session lasts after sign-in, in seconds (12 hours).
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

/// Failed sign-ins allowed per address and per account within [`THROTTLE_WINDOW_SECS`].
pub const MAX_FAILURES: usize = 5;

/// The window failed sign-ins are counted in, in seconds (15 minutes).
pub const THROTTLE_WINDOW_SECS: u64 = 15 * 60;

/// Addresses and accounts tracked at most; past it, entries without a recent failure go.
const THROTTLE_ENTRIES: usize = 100_000;

/// A signed-in session, as a request presents it.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user's rights, as [`Principal::User`].
    pub principal: Principal,
    /// The user's email.
    pub email: String,
    /// The user's display name.
    pub name: String,
    /// When the session ends (RFC 3339).
    pub expires_at: String,
    /// Who acts, for the audit log.
    pub actor: Actor,
    csrf_secret: Vec<u8>,
}

impl Session {
    /// The token forms of this session carry.
    pub fn csrf_token(&self) -> String {
        hex::encode(&self.csrf_secret)
    }

    /// Whether `presented` is this session's CSRF token.
    pub fn check_csrf(&self, presented: &str) -> bool {
        same_token(presented, &self.csrf_token())
    }
}

/// A new session: the token to put in the cookie (shown once, never stored) and the session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The cookie's value.
    pub token: String,
    /// The session.
    pub session: Session,
}

/// Why a sign-in is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRefusal {
    /// Unknown email, wrong password, no password set, or a disabled account: one answer.
    Invalid,
    /// Too many failures: retry after this many seconds.
    Throttled {
        /// Seconds until an attempt is accepted again.
        retry_after_secs: u64,
    },
}

/// Failed sign-ins per address and per account, in memory.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    fn window() -> Duration {
        Duration::from_secs(THROTTLE_WINDOW_SECS)
    }

    /// Seconds to wait before any of `keys` may try again, if one is over the limit.
    fn retry_after(&self, keys: &[String], now: Instant) -> Option<u64> {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut wait = None;
        for key in keys {
            let Some(times) = failures.get_mut(key) else {
                continue;
            };
            while times.front().is_some_and(|t| now.duration_since(*t) >= Self::window()) {
                times.pop_front();
            }
            if times.len() >= MAX_FAILURES
                && let Some(oldest) = times.front()
            {
                let left = Self::window().saturating_sub(now.duration_since(*oldest));
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        wait
    }

    fn fail(&self, keys: &[String], now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if failures.len() >= THROTTLE_ENTRIES {
            failures.retain(|_, times| {
                times.back().is_some_and(|t| now.duration_since(*t) < Self::window())
            });
        }
        for key in keys {
            let times = failures.entry(key.clone()).or_default();
            times.push_back(now);
            while times.len() > MAX_FAILURES {
                times.pop_front();
            }
        }
    }

    fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key);
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn random_32() -> Result<[u8; 32], AccountError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AccountError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A fixed argon2id hash of a password nobody types, checked when the email is unknown so that
/// an unknown email costs the same time as a wrong password.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$a2xlYmVyLWRlY295LXNhbHQ$0J4b1jWfC1a0mSz3c6NQ3q3TNtDkmu3sJb0jVnHb2Lw";

/// Whether `token` has the shape of a session token (64 lowercase hexadecimal digits).
pub fn is_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A new random token of the session shape (for the sign-in form's CSRF cookie).
pub fn new_token() -> Result<String, Error> {
    Ok(hex::encode(random_32().map_err(Error::internal)?))
}

/// Whether two tokens are equal, compared by digest (the time taken tells nothing about
/// where they differ).
pub fn same_token(a: &str, b: &str) -> bool {
    sha256(a.as_bytes()) == sha256(b.as_bytes())
}

impl Accounts {
    /// Signs `email` in with `password`, from client `address`: a new session, or why not.
    /// Blocking (argon2id and SQLite): call it from a blocking context.
    pub fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<Result<SignedIn, SignInRefusal>, AccountError> {
        let now = Instant::now();
        let account_key = format!("account:{}", email_key(email));
        let keys = [format!("address:{address}"), account_key.clone()];
        if let Some(retry_after_secs) = self.throttle().retry_after(&keys, now) {
            return Ok(Err(SignInRefusal::Throttled { retry_after_secs }));
        }
        let user = self.store().catalog().get_user(email)?;
        let hash = match &user {
            Some(user) => self.store().catalog().password_hash(&user.email)?,
            None => None,
        };
        let matches = verify_password(password, hash.as_deref().unwrap_or(DECOY_HASH));
        let user = match user {
            Some(user) if matches && hash.is_some() && !user.disabled => user,
            _ => {
                self.throttle().fail(&keys, now);
                return Ok(Err(SignInRefusal::Invalid));
            }
        };
        self.throttle().clear(&account_key);
        let token = hex::encode(random_32()?);
        let csrf_secret = random_32()?;
        let digest = sha256(token.as_bytes());
        self.store().catalog().create_session(user.id, &digest, &csrf_secret, SESSION_TTL_SECS)?;
        let session = self.session(&token)?.ok_or_else(|| {
            AccountError::Invalid("the new session cannot be read back".to_owned())
        })?;
        Ok(Ok(SignedIn { token, session }))
    }

    /// The session of cookie value `token`, if it is current. Blocking (one SQLite read).
    pub fn session(&self, token: &str) -> Result<Option<Session>, AccountError> {
        if !is_token(token) {
            return Ok(None);
        }
        let digest = sha256(token.as_bytes());
        let Some(grant) = self.store().catalog().session_grant(&digest)? else {
            return Ok(None);
        };
        let account = Account {
            user_id: grant.user.id,
            email: grant.user.email.clone(),
            admin: grant.user.admin,
            memberships: grant.memberships.into_iter().collect(),
            grants: grant.grants.into_iter().collect(),
        };
        Ok(Some(Session {
            principal: Principal::User(Arc::new(account)),
            email: grant.user.email,
            name: grant.user.name,
            expires_at: grant.expires_at,
            actor: Actor::User { user_id: grant.user.id, session: hex::encode(&digest[..4]) },
            csrf_secret: grant.csrf_secret,
        }))
    }

    /// Deletes the session of `token`; `false` when there was none.
    pub fn sign_out(&self, token: &str) -> Result<bool, AccountError> {
        if !is_token(token) {
            return Ok(false);
        }
        Ok(self.store().catalog().delete_session(&sha256(token.as_bytes()))?)
    }
}

/// How long an invitation link stays valid, in seconds (7 days).
pub const INVITATION_TTL_SECS: i64 = 7 * 24 * 3600;

/// A new invitation: the one-time token of its link (shown once, never stored) and its expiry.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The token, for `/invitation/<token>`.
    pub token: String,
    /// When the link stops working (RFC 3339).
    pub expires_at: String,
}

impl Accounts {
    /// Invites `email` into `org` with `role` (creating the user without a password if
    /// needed): a one-time link token, valid [`INVITATION_TTL_SECS`], that replaces any earlier
    /// one of the user. The catalog keeps only its SHA-256 digest.
    pub fn invite(
        &self,
        actor: &Actor,
        email: &str,
        org: &str,
        role: kleber_store::Role,
    ) -> Result<Invitation, AccountError> {
        let token = hex::encode(random_32()?);
        let digest = sha256(token.as_bytes());
        let expires_at = self.store().account_change(|c| {
            c.create_invitation(actor, email, org, role, &digest, INVITATION_TTL_SECS)
        })?;
        Ok(Invitation { token, expires_at })
    }

    /// The user a current invitation `token` is for.
    pub fn invitation_user(&self, token: &str) -> Result<Option<kleber_store::User>, AccountError> {
        if !is_token(token) {
            return Ok(None);
        }
        Ok(self.store().catalog().invitation_user(&sha256(token.as_bytes()))?)
    }

    /// Uses invitation `token` to set the user's password (checked and hashed like any
    /// password); `None` when the link is unknown, used, expired or the user disabled.
    pub fn accept_invitation(
        &self,
        token: &str,
        password: &str,
    ) -> Result<Option<kleber_store::User>, AccountError> {
        if !is_token(token) {
            return Ok(None);
        }
        let hash = crate::accounts::hash_password(password)?;
        let digest = sha256(token.as_bytes());
        Ok(self.store().account_change(|c| c.accept_invitation(&digest, &hash))?)
    }
}

impl App {
    /// [`Accounts::sign_in`] on a blocking thread.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<Result<SignedIn, SignInRefusal>, Error> {
        let (email, password, address) =
            (email.to_owned(), password.to_owned(), address.to_owned());
        self.blocking_accounts(move |a| a.sign_in(&email, &password, &address)).await
    }

    /// [`Accounts::session`] on a blocking thread.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, Error> {
        let token = token.to_owned();
        self.blocking_accounts(move |a| a.session(&token)).await
    }

    /// [`Accounts::sign_out`] on a blocking thread.
    pub async fn sign_out(&self, token: &str) -> Result<bool, Error> {
        let token = token.to_owned();
        self.blocking_accounts(move |a| a.sign_out(&token)).await
    }

    /// Runs an account use case on a blocking thread.
    pub async fn blocking_accounts<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
    ) -> Result<T, Error> {
        let accounts = Arc::clone(&self.accounts);
        tokio::task::spawn_blocking(move || f(&accounts)).await.map_err(Error::internal)?.map_err(
            |e| match e {
                AccountError::Invalid(message) => Error::BadParameter(message),
                other => Error::internal(other),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoy_hash_parses_with_the_stated_parameters() {
        use argon2::password_hash::PasswordHash;
        let parsed = PasswordHash::new(DECOY_HASH).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert!(!verify_password("", DECOY_HASH));
    }

    #[test]
    fn the_throttle_counts_failures_in_the_window() {
        let throttle = Throttle::default();
        let keys = ["address:a".to_owned(), "account:x".to_owned()];
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(throttle.retry_after(&keys, start), None);
            throttle.fail(&keys, start);
        }
        let wait = throttle.retry_after(&keys, start + Duration::from_secs(60)).unwrap();
        assert_eq!(wait, THROTTLE_WINDOW_SECS - 60);
        assert_eq!(throttle.retry_after(&["address:b".to_owned()], start), None);
        let later = start + Duration::from_secs(THROTTLE_WINDOW_SECS);
        assert_eq!(throttle.retry_after(&keys, later), None, "failures leave the window");
    }
}
