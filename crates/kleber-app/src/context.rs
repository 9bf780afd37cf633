//! Who asks, and in which language and time zone: read once per request by the front end.

use std::sync::Arc;

use kleber_store::DatasetRecord;

use crate::Error;
use crate::policy::{self, Account, DatasetAccess, Scopes};

/// Who is asking.
///
/// Every use case receives the principal and asks it what it may read
/// ([`Principal::may_read`]); the rules are in [`crate::policy`], once, for every front end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Principal {
    /// No credentials: public datasets only.
    #[default]
    Anonymous,
    /// A signed-in user (a portal session).
    User(Arc<Account>),
    /// The operator at the shell (`kleber annotate`, `kleber import`): reads, edits and
    /// administers everything, like a portal admin. Never made from a request.
    Operator,
    /// An API key, acting for its owner within its scopes.
    Key {
        /// The key's public id.
        key_id: String,
        /// What it may be used for.
        scopes: Scopes,
        /// Its owner's rights.
        account: Arc<Account>,
    },
}

impl Principal {
    /// Whether this principal may read `record` ([`policy::may_read`]).
    pub fn may_read(&self, record: &DatasetRecord) -> bool {
        policy::may_read(self, DatasetAccess::from(record))
    }

    /// Whether this principal may read a dataset described by `access`.
    pub fn may_read_access(&self, access: DatasetAccess<'_>) -> bool {
        policy::may_read(self, access)
    }

    /// Whether this principal may edit `record` ([`policy::may_edit`]).
    pub fn may_edit(&self, record: &DatasetRecord) -> bool {
        policy::may_edit(self, DatasetAccess::from(record))
    }

    /// Whether this principal may administer organization `org` ([`policy::may_admin`]).
    pub fn may_admin(&self, org: &str) -> bool {
        policy::may_admin(self, org)
    }

    /// The account behind it, if any.
    pub fn account(&self) -> Option<&Account> {
        match self {
            Principal::Anonymous | Principal::Operator => None,
            Principal::User(account) | Principal::Key { account, .. } => Some(account),
        }
    }
}

/// What every use case knows about its request.
///
/// A context is always made from a principal ([`RequestContext::new`]): there is no anonymous
/// default, so a front end cannot build one without saying who asks. The HTTP server builds
/// them only from the principal its API-key layer resolved for the request (the `Caller`
/// extractor of `kleber-server`), the command line only as [`RequestContext::operator`].
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Who is asking (read with [`RequestContext::principal`]).
    pub(crate) principal: Principal,
    /// The language asked (`fr`, `en`), if any.
    pub lang: Option<String>,
    /// The time zone of the request (UTC by default), parsed once: datetimes are rendered in
    /// it, and every query the request runs is planned in it.
    pub tz: chrono_tz::Tz,
}

impl RequestContext {
    /// A request of `principal`, in UTC, with no language.
    pub fn new(principal: Principal) -> RequestContext {
        RequestContext { principal, lang: None, tz: chrono_tz::UTC }
    }

    /// A request of the operator at the shell ([`Principal::Operator`]), in UTC.
    pub fn operator() -> RequestContext {
        RequestContext::new(Principal::Operator)
    }

    /// A request of `principal` with the `timezone` and `lang` parameters as given (blank or
    /// absent: UTC, no language). A time zone that is not an IANA name is a 400.
    pub fn with_params(
        principal: Principal,
        timezone: Option<&str>,
        lang: Option<&str>,
    ) -> Result<RequestContext, Error> {
        Ok(RequestContext {
            principal,
            lang: lang.map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned),
            tz: kleber_query::parse_timezone(timezone)?,
        })
    }

    /// Who is asking.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The same request with datetimes rendered in `tz`.
    #[must_use]
    pub fn in_zone(mut self, tz: chrono_tz::Tz) -> RequestContext {
        self.tz = tz;
        self
    }

    /// The same request in language `lang`.
    #[must_use]
    pub fn in_lang(mut self, lang: &str) -> RequestContext {
        self.lang = Some(lang.to_owned());
        self
    }
}
