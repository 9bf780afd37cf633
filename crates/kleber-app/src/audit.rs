//! Reading the audit log: who may read which entries, and the query.
//!
//! A portal admin (a signed-in admin, or a key of an admin with the `admin` scope) and the
//! operator read every entry. An organization's admin (with the `admin` scope, for a key)
//! reads the entries about the organizations they administer ([`kleber_store::AuditFilter`]
//! says which entries are about an organization); entries about users and keys are the
//! portal admins' only. Anyone else is refused: anonymous callers with
//! [`Error::Unauthenticated`], others with [`Error::Forbidden`]. Whether a caller may read
//! one organization's entries is asked of [`crate::policy::may_admin`].

use kleber_store::{AuditEntry, AuditFilter};

use crate::{App, Error, Principal};

/// Most entries one page holds.
pub const MAX_LIMIT: usize = 100;

/// Largest offset accepted (pages further back: narrow with `until`).
pub const MAX_OFFSET: usize = 100_000;

/// What the caller asks for.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this organization's entries.
    pub org: Option<String>,
    /// Only this actor's entries (`operator:NAME`, `user:ID`, `system`).
    pub actor: Option<String>,
    /// Only this action's entries.
    pub action: Option<String>,
    /// Only entries at or after this time (RFC 3339, or a date `YYYY-MM-DD`).
    pub since: Option<String>,
    /// Only entries before this time (same forms).
    pub until: Option<String>,
    /// Entries per page (1 to [`MAX_LIMIT`]).
    pub limit: usize,
    /// Entries skipped.
    pub offset: usize,
}

/// One page of the log.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// Entries the query selects, in all.
    pub total_count: u64,
    /// This page's entries, newest first.
    pub entries: Vec<AuditEntry>,
}

/// Whose entries `principal` may read: `None` for all, else the organizations it
/// administers (possibly none).
fn readable_orgs(principal: &Principal) -> Result<Option<Vec<String>>, Error> {
    let account = match principal {
        Principal::Operator => return Ok(None),
        Principal::Anonymous => {
            return Err(Error::Unauthenticated(
                "The audit log is readable by administrators: send an API key with the admin scope (Authorization: Apikey <key>).".to_owned(),
            ));
        }
        Principal::User(account) => account,
        Principal::Key { scopes, account, .. } => {
            // Entries name the organization's datasets, restricted ones and drafts included:
            // a key that may not read those may not read the log either.
            if !scopes.admin || !scopes.read {
                return Err(Error::Forbidden(
                    "Reading the audit log needs an API key with both the admin and the read scopes."
                        .to_owned(),
                ));
            }
            account
        }
    };
    if account.admin {
        return Ok(None);
    }
    let orgs: Vec<String> =
        account.memberships.keys().filter(|org| principal.may_admin(org)).cloned().collect();
    if orgs.is_empty() {
        return Err(Error::Forbidden(
            "The audit log is readable by portal admins and by organization admins (for their organizations' entries).".to_owned(),
        ));
    }
    Ok(Some(orgs))
}

/// A time bound as stored (`YYYY-MM-DDTHH:MM:SS+00:00`), from RFC 3339 or a date.
fn time_bound(name: &str, text: &str) -> Result<String, Error> {
    let text = text.trim();
    let at = match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(at) => at.with_timezone(&chrono::Utc),
        Err(_) => match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => date.and_time(chrono::NaiveTime::MIN).and_utc(),
            Err(_) => {
                let shown: String = text.chars().take(40).collect();
                return Err(Error::BadParameter(format!(
                    "Invalid value for {name} API parameter: {shown:?} is neither an RFC 3339 time (2026-01-31T12:00:00Z) nor a date (2026-01-31)."
                )));
            }
        },
    };
    Ok(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
}

impl App {
    /// Whether `principal` may read some of the audit log: `Ok` for the operator, portal admins
    /// and organization admins; the refusal [`App::audit`] would answer otherwise. Front ends
    /// ask it before checking their own parameters, so an anonymous caller is told to
    /// authenticate whatever it sent.
    pub fn may_read_audit(&self, principal: &Principal) -> Result<(), Error> {
        readable_orgs(principal).map(|_| ())
    }

    /// The page of the audit log `query` asks for, of the entries `principal` may read.
    pub async fn audit(
        &self,
        principal: &Principal,
        query: AuditQuery,
    ) -> Result<AuditPage, Error> {
        let readable = readable_orgs(principal)?;
        if query.limit == 0 || query.limit > MAX_LIMIT {
            return Err(Error::BadParameter(format!(
                "Invalid value for limit API parameter: {} was found but 1 <= limit <= {MAX_LIMIT} is expected.",
                query.limit
            )));
        }
        if query.offset > MAX_OFFSET {
            return Err(Error::BadParameter(format!(
                "Invalid value for offset API parameter: {} was found but 0 <= offset <= {MAX_OFFSET} is expected; narrow the pages with until.",
                query.offset
            )));
        }
        let orgs = match (readable, query.org) {
            (None, None) => None,
            (None, Some(org)) => Some(vec![org]),
            (Some(orgs), None) => Some(orgs),
            (Some(orgs), Some(org)) => {
                if !orgs.contains(&org) {
                    return Err(Error::Forbidden(format!(
                        "You do not administer organization {org:?}: its audit entries are not readable with these credentials."
                    )));
                }
                Some(vec![org])
            }
        };
        let filter = AuditFilter {
            orgs,
            actor: query.actor,
            action: query.action,
            since: query.since.as_deref().map(|t| time_bound("since", t)).transpose()?,
            until: query.until.as_deref().map(|t| time_bound("until", t)).transpose()?,
            limit: query.limit,
            offset: query.offset,
        };
        let store = std::sync::Arc::clone(&self.store);
        let (total_count, entries) =
            tokio::task::spawn_blocking(move || store.catalog().audit_page(&filter))
                .await
                .map_err(Error::internal)??;
        Ok(AuditPage { total_count, entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds_take_rfc3339_and_dates_in_the_stored_form() {
        assert_eq!(time_bound("since", "2026-01-31").unwrap(), "2026-01-31T00:00:00+00:00");
        assert_eq!(
            time_bound("since", "2026-01-31T13:00:00+01:00").unwrap(),
            "2026-01-31T12:00:00+00:00"
        );
        let error = time_bound("until", "yesterday").unwrap_err().to_string();
        assert!(error.contains("until") && error.contains("yesterday"), "{error}");
    }

    #[test]
    fn anonymous_and_keys_without_admin_are_refused() {
        assert!(matches!(readable_orgs(&Principal::Anonymous), Err(Error::Unauthenticated(_))));
        assert!(matches!(readable_orgs(&Principal::Operator), Ok(None)));
        let account =
            std::sync::Arc::new(crate::policy::Account { admin: true, ..Default::default() });
        let key = |admin| Principal::Key {
            key_id: "k".to_owned(),
            scopes: crate::policy::Scopes { read: true, write: false, admin },
            account: std::sync::Arc::clone(&account),
        };
        assert!(matches!(readable_orgs(&key(false)), Err(Error::Forbidden(_))));
        assert!(matches!(readable_orgs(&key(true)), Ok(None)));
    }
}
