//! One resolution per request: the route's [`Reads`] (from the [`super::routes`] table) turned
//! into the catalog view or the dataset version the request reads, by the application layer.
//!
//! The conditional-request layer ([`super::etag::layer`]) resolves, tags the response from the
//! resolution's stamp, and hands the resolution to the handler as a request extension
//! ([`Resolution`]); the handler answers from the same version and keys its cached body on
//! it. A request never looks the catalog up twice.
//!
//! Who asks comes from here too: [`Caller`] (and [`Resolution`], which carries it) is the only
//! way a handler gets a [`RequestContext`], always made from the principal the API-key layer
//! ([`super::apikey`]) resolved for the request. Front ends never name a principal or build a
//! context themselves (`tests/it/leak_matrix.rs` reads their sources and fails if they do), so
//! a route added later cannot forget who asks.

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use axum::http::Extensions;
use axum::http::request::Parts;
use kleber_app::{App, CacheKey, CatalogView, DatasetVersion, Principal, RequestContext};

use super::routes::{IdFrom, Reads};
use crate::error::ApiError;
use crate::state::AppState;

/// Who asks: the request's principal, as the API-key layer resolved it (anonymous when the
/// request carried no key). Extracted by handlers; its contexts are the only ones they use.
#[derive(Clone, Debug)]
pub struct Caller {
    principal: Principal,
}

impl Caller {
    /// The caller of a request, from its extensions.
    pub fn of(extensions: &Extensions) -> Caller {
        // Without the key layer's extension the request carried no key: it is anonymous.
        let principal = extensions.get::<Principal>().cloned().unwrap_or(Principal::Anonymous);
        Caller { principal }
    }

    /// The application layer's context of this request: its principal, in UTC.
    pub fn context(&self) -> RequestContext {
        RequestContext::new(self.principal.clone())
    }

    /// The context of this request in the `timezone` and `lang` it asks (a bad time zone is a
    /// 400).
    pub fn context_with(
        &self,
        timezone: Option<&str>,
        lang: Option<&str>,
    ) -> Result<RequestContext, ApiError> {
        Ok(RequestContext::with_params(self.principal.clone(), timezone, lang)?)
    }

    /// Who asks.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller::of(&parts.extensions))
    }
}

/// What a request reads, resolved.
#[derive(Clone, Debug)]
pub enum Resolved {
    /// One dataset at one version.
    Dataset(DatasetVersion),
    /// The catalog at one generation.
    Catalog(CatalogView),
    /// Nothing stored.
    Fixed,
}

/// The resolution of a request, as handlers extract it. Empty when the route is not in the
/// table or what it names could not be resolved (an unknown dataset: the handler then
/// answers the error).
#[derive(Clone, Debug)]
pub struct Resolution {
    /// The route's full pattern (the name its cached bodies are keyed by).
    pub route: Option<&'static str>,
    /// What it reads, if resolved.
    pub resolved: Option<Resolved>,
    /// Who asks (from the API key layer): what resolved is what it may see.
    caller: Caller,
    /// The request's base URL (see [`super::public_url`]): cached bodies hold absolute URLs,
    /// so they are keyed by it too.
    pub base: Option<super::PublicUrl>,
    /// The `version` the request asks (`version=N`, docs/versions.md), if any: every read of
    /// the dataset answers from that version.
    pub version: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Resolution {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Resolution>().cloned().unwrap_or_else(|| Resolution {
            route: None,
            resolved: None,
            caller: Caller::of(&parts.extensions),
            base: parts.extensions.get::<super::PublicUrl>().cloned(),
            version: requested_version(parts.uri.query()),
        }))
    }
}

impl Resolution {
    /// Who asks.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The application layer's context of this request ([`Caller::context`]).
    pub fn context(&self) -> RequestContext {
        self.caller.context()
    }

    /// The context of this request in the `timezone` and `lang` it asks
    /// ([`Caller::context_with`]).
    pub fn context_with(
        &self,
        timezone: Option<&str>,
        lang: Option<&str>,
    ) -> Result<RequestContext, ApiError> {
        self.caller.context_with(timezone, lang)
    }

    /// The stamp of what the request reads: what its `ETag` hashes.
    pub fn stamp(&self) -> Option<String> {
        match self.resolved.as_ref()? {
            Resolved::Dataset(version) => Some(version.stamp().to_owned()),
            Resolved::Catalog(view) => Some(view.stamp()),
            Resolved::Fixed => Some(String::new()),
        }
    }

    /// Dataset `id` at the version resolved for this request, as its caller may see it
    /// (resolved now if the route did not name it, e.g. several `dataset=` given).
    pub async fn dataset(&self, state: &AppState, id: &str) -> Result<DatasetVersion, ApiError> {
        let ctx = &self.context();
        if let Some(number) = &self.version {
            // Resolved at that version when the route named the dataset; else (an unknown or
            // bad version, or a dataset named otherwise) resolved now, answering the error.
            return match &self.resolved {
                Some(Resolved::Dataset(version)) if version.id() == id => Ok(version.clone()),
                _ => Ok(state.app.dataset_at(ctx, id, number).await?),
            };
        }
        match &self.resolved {
            Some(Resolved::Dataset(version)) if version.id() == id => Ok(version.clone()),
            Some(Resolved::Dataset(version)) => Ok(App::dataset_in(ctx, &version.catalog(), id)?),
            Some(Resolved::Catalog(view)) => Ok(App::dataset_in(ctx, view, id)?),
            _ => Ok(state.app.dataset(ctx, id).await?),
        }
    }

    /// The catalog at the generation resolved for this request, as its caller may see it.
    pub async fn catalog(&self, state: &AppState) -> Result<CatalogView, ApiError> {
        match &self.resolved {
            Some(Resolved::Catalog(view)) => Ok(view.clone()),
            Some(Resolved::Dataset(version)) => Ok(version.catalog()),
            _ => Ok(state.app.catalog(&self.context()).await?),
        }
    }

    /// The response-cache key of this route with `query` over `version`.
    pub fn dataset_key(&self, version: &DatasetVersion, query: Option<&str>) -> CacheKey {
        version.cache_key(self.route.unwrap_or("unrouted"), Some(&self.keyed(query)))
    }

    /// The response-cache key of this route with `query` over `view`.
    pub fn catalog_key(&self, view: &CatalogView, query: Option<&str>) -> CacheKey {
        view.cache_key(self.route.unwrap_or("unrouted"), Some(&self.keyed(query)))
    }

    /// `query` behind the request's base, so answers for two hosts never share an entry.
    fn keyed(&self, query: Option<&str>) -> String {
        let base = self.base.as_ref().map_or("", |b| b.as_str());
        format!("{base} {}", query.unwrap_or_default())
    }
}

/// Resolves what the request of `parts` reads, from its route in `state`'s table.
pub async fn resolve(state: &AppState, parts: &mut Parts) -> Resolution {
    // The principal the API key layer resolved decides what resolves; handlers reuse both.
    let caller = Caller::of(&parts.extensions);
    let base = parts.extensions.get::<super::PublicUrl>().cloned();
    let version = requested_version(parts.uri.query());
    let unresolved = |caller, base| Resolution {
        route: None,
        resolved: None,
        caller,
        base,
        version: version.clone(),
    };
    let Some(matched) = parts.extensions.get::<MatchedPath>() else {
        return unresolved(caller, base);
    };
    let Some(route) = state.routes.get(matched.as_str()) else {
        return unresolved(caller, base);
    };
    let ctx = caller.context();
    let resolved = match route.reads {
        Reads::Fixed => Some(Resolved::Fixed),
        Reads::Private => None,
        Reads::Catalog => state.app.catalog(&ctx).await.ok().map(Resolved::Catalog),
        Reads::Dataset(from) => match (dataset_id(parts, from).await, &version) {
            (Some(id), None) => state.app.dataset(&ctx, &id).await.ok().map(Resolved::Dataset),
            (Some(id), Some(number)) => {
                state.app.dataset_at(&ctx, &id, number).await.ok().map(Resolved::Dataset)
            }
            (None, _) => None,
        },
    };
    Resolution { route: Some(route.pattern), resolved, caller, base, version }
}

/// The `version` parameter of a query string, if given (the last one when repeated).
fn requested_version(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .filter(|(key, _)| key == "version")
        .map(|(_, value)| value.into_owned())
        .last()
}

/// The dataset identifier a request names, if exactly one.
async fn dataset_id(parts: &mut Parts, from: IdFrom) -> Option<String> {
    match from {
        IdFrom::Path => {
            let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
            params.iter().find(|(name, _)| *name == "id").map(|(_, value)| value.to_owned())
        }
        IdFrom::Query(name) => {
            let query = parts.uri.query()?;
            let mut ids = form_urlencoded::parse(query.as_bytes())
                .filter(|(key, _)| key == name)
                .map(|(_, value)| value.trim().to_owned());
            let first = ids.next()?;
            // Several datasets named: no single version to key on.
            ids.all(|other| other == first).then_some(first)
        }
    }
}
