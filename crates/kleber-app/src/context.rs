//! Who asks, and in which language and time zone: read once per request by the front end.

use kleber_store::DatasetRecord;

use crate::Error;

/// Who is asking.
///
/// Everyone is anonymous until accounts and API keys exist; every use case already receives
/// the principal and asks it what it may read ([`Principal::may_read`]), so that private
/// datasets are decided here, once, for every front end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Principal {
    /// No credentials: published datasets only.
    #[default]
    Anonymous,
}

impl Principal {
    /// Whether this principal may read `record`. Every dataset of the catalog is public
    /// until private datasets exist, so anonymous callers read them all; the record is what
    /// that check will look at.
    pub fn may_read(&self, _record: &DatasetRecord) -> bool {
        match self {
            Principal::Anonymous => true,
        }
    }
}

/// What every use case knows about its request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Who is asking.
    pub principal: Principal,
    /// The language asked (`fr`, `en`), if any.
    pub lang: Option<String>,
    /// The time zone of the request (UTC by default), parsed once: datetimes are rendered in
    /// it, and every query the request runs is planned in it.
    pub tz: chrono_tz::Tz,
}

impl Default for RequestContext {
    fn default() -> Self {
        RequestContext::anonymous()
    }
}

impl RequestContext {
    /// An anonymous request in UTC.
    pub fn anonymous() -> RequestContext {
        RequestContext { principal: Principal::Anonymous, lang: None, tz: chrono_tz::UTC }
    }

    /// An anonymous request with the `timezone` and `lang` parameters as given (blank or
    /// absent: UTC, no language). A time zone that is not an IANA name is a 400.
    pub fn with_params(
        timezone: Option<&str>,
        lang: Option<&str>,
    ) -> Result<RequestContext, Error> {
        Ok(RequestContext {
            principal: Principal::Anonymous,
            lang: lang.map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned),
            tz: kleber_query::parse_timezone(timezone)?,
        })
    }

    /// The same request with datetimes rendered in `tz`.
    #[must_use]
    pub fn in_zone(mut self, tz: chrono_tz::Tz) -> RequestContext {
        self.tz = tz;
        self
    }
}
