//! What every handler shares: the application layer, the portal's settings, the route table
//! and the bounds of spooled exports.

use std::sync::Arc;
use std::time::Duration;

use kleber_app::{App, Limits};
use kleber_query::Engine;
use kleber_store::Store;

use crate::http::public_url::PublicUrl;
use crate::http::routes::RouteTable;
use crate::shared::portal::PortalConfig;

pub use kleber_app::DEFAULT_RESULT_CACHE_MB;

/// Default number of exports spooled to disk at once.
pub const DEFAULT_MAX_SPOOLED_EXPORTS: usize = 8;

/// Default disk space the spooled exports may hold together, in MiB.
pub const DEFAULT_MAX_SPOOL_MB: u64 = 4096;

/// Shared state of the server: one pointer, since every request clones it several times
/// (each extractor and middleware layer takes its own copy), and one atomic count is cheaper
/// than one per field (`bench/profile.py o` found 5 % of a small request's CPU in cloning and
/// dropping the fields one by one).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] points to.
#[derive(Clone)]
pub struct Shared {
    /// The application layer: every front end reaches data through it, and only through it.
    pub app: Arc<App>,
    /// The portal's settings (tile server), page-view counts and page caches.
    pub web: Arc<PortalConfig>,
    /// What each route reads (filled in by [`crate::app`]).
    pub routes: Arc<RouteTable>,
    /// The bounds of exports spooled to `<data dir>/tmp/exports` (cleaned when made).
    pub spool: Arc<kleber_export::SpoolBudget>,
    /// How long a client may leave an export's next chunk untaken before the export is
    /// dropped, releasing its query stream and spool file.
    pub export_stall: Duration,
    /// The configured public base URL (`--public-url`); when unset, each request's `Host`.
    pub public_url: Option<PublicUrl>,
    /// The request budgets of keys and client addresses (`http::ratelimit`).
    pub rate_limits: Arc<crate::http::ratelimit::RateLimiter>,
    /// Outgoing mail (`--smtp-url`), when configured: invitations are also mailed.
    pub mail: Option<crate::mail::Mailer>,
}

impl AppState {
    /// A state over `store` with `engine`, queries bounded by `query_timeout`.
    pub fn new(store: Store, engine: Engine, query_timeout: Duration) -> AppState {
        let app = App::new(store, engine, Limits { query_timeout });
        let spool = kleber_export::SpoolBudget::new(
            app.spool_dir(),
            DEFAULT_MAX_SPOOLED_EXPORTS,
            DEFAULT_MAX_SPOOL_MB << 20,
        );
        AppState(Arc::new(Shared {
            app: Arc::new(app),
            web: Arc::new(PortalConfig::default()),
            routes: Arc::new(RouteTable::default()),
            spool,
            export_stall: Duration::from_secs(crate::shared::stall::DEFAULT_EXPORT_STALL_SECS),
            public_url: None,
            rate_limits: Arc::new(crate::http::ratelimit::RateLimiter::new(
                crate::http::ratelimit::RateLimitConfig::default(),
            )),
            mail: None,
        }))
    }

    /// The fields, to change before the state is shared (a shared state is copied first).
    pub(crate) fn shared_mut(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.0)
    }

    /// The same state sending invitations with `mailer`.
    #[must_use]
    pub fn with_mail(mut self, mailer: crate::mail::Mailer) -> AppState {
        self.shared_mut().mail = Some(mailer);
        self
    }

    /// The same state where a client that takes no chunk of an export for `stall` loses it.
    #[must_use]
    pub fn with_export_stall(mut self, stall: Duration) -> AppState {
        self.shared_mut().export_stall = stall;
        self
    }

    /// The same state with the upload bounds of `limits`. Call it before the state is
    /// shared (cloned).
    #[must_use]
    pub fn with_upload_limits(mut self, limits: kleber_app::uploads::UploadLimits) -> AppState {
        match Arc::get_mut(&mut self.shared_mut().app) {
            Some(app) => app.set_upload_limits(limits),
            None => tracing::warn!("the upload limits are set after the state was shared"),
        }
        self
    }

    /// The same state with a response cache of `mb` MiB (0 turns it off). Call it before
    /// the state is shared (cloned).
    #[must_use]
    pub fn with_result_cache_mb(mut self, mb: u64) -> AppState {
        match Arc::get_mut(&mut self.shared_mut().app) {
            Some(app) => app.set_result_cache_mb(mb),
            None => tracing::warn!("the response cache size is set after the state was shared"),
        }
        self
    }

    /// The same state with at most `max_exports` exports spooled at once, holding at most
    /// `max_mb` MiB of disk together.
    #[must_use]
    pub fn with_spool_limits(mut self, max_exports: usize, max_mb: u64) -> AppState {
        self.shared_mut().spool =
            kleber_export::SpoolBudget::new(self.app.spool_dir(), max_exports, max_mb << 20);
        self
    }

    /// The same state with the rate limits of `config` (counters start empty).
    #[must_use]
    pub fn with_rate_limits(mut self, config: crate::http::ratelimit::RateLimitConfig) -> AppState {
        self.shared_mut().rate_limits = Arc::new(crate::http::ratelimit::RateLimiter::new(config));
        self
    }

    /// The same state with the map tiles of `url` (a Leaflet URL template) and `attribution`.
    #[must_use]
    pub fn with_tile_url(mut self, url: String, attribution: String) -> AppState {
        self.shared_mut().web = Arc::new(PortalConfig {
            tile_url: url,
            tile_attribution: attribution,
            ..Default::default()
        });
        self
    }

    /// The same state with absolute URLs built on `url` instead of each request's `Host`.
    #[must_use]
    pub fn with_public_url(mut self, url: PublicUrl) -> AppState {
        self.shared_mut().public_url = Some(url);
        self
    }
}
