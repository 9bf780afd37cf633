//! Rate limits: a budget of requests per window for each API key and each anonymous client
//! address, with Opendatasoft's headers and its `429` body.
//!
//! Each caller has a budget by role ([`RateLimitConfig`]): anonymous callers one per client
//! address, keys of users one per key, keys of portal admins one per key with the admin
//! limit (a portal session, when it exists, one per user). A limit of 0 turns the role's
//! limit off. Windows are fixed and aligned on the epoch, so a daily window resets at
//! midnight UTC, as Opendatasoft's quotas do.
//!
//! Every counted answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (epoch seconds of the next reset); past the limit the answer is
//! `429` with Opendatasoft's body (errorcode 10005 for anonymous callers, 10002 for keys)
//! and `Retry-After`. Static assets of the portal (`/static/`) are not counted.
//!
//! The client address is the connection's peer; behind reverse proxies
//! ([`RateLimitConfig::trusted_proxies`] > 0) it is read from `X-Forwarded-For`, counting
//! that many addresses from its right end (the ones the proxies appended), never its
//! client-written left part. IPv6 addresses are counted by their /64 network, which one
//! client usually holds whole.
//!
//! Counters live in a bounded cache ([`RateLimitConfig::max_clients`] entries, 16 bytes of
//! counter each plus the key): a flood of distinct addresses evicts the least used counters
//! instead of growing memory. An evicted client starts its window afresh, so eviction can
//! only give a client more requests, never refuse one wrongly.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kleber_app::Principal;

use crate::state::AppState;

/// Default number of clients whose counters are kept.
pub const DEFAULT_MAX_CLIENTS: usize = 100_000;

/// The length of a rate-limit window (Opendatasoft's `limit_time_unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Window {
    /// One second (for tests).
    Second,
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day, reset at midnight UTC (Opendatasoft's).
    Day,
}

impl Window {
    /// Its length in seconds.
    pub fn seconds(self) -> u64 {
        match self {
            Window::Second => 1,
            Window::Minute => 60,
            Window::Hour => 3600,
            Window::Day => 86_400,
        }
    }

    /// Its name in the `429` body's `limit_time_unit`.
    pub fn unit(self) -> &'static str {
        match self {
            Window::Second => "second",
            Window::Minute => "minute",
            Window::Hour => "hour",
            Window::Day => "day",
        }
    }
}

/// The limits, per role (requests per window; 0: no limit).
#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// Anonymous requests per client address.
    pub anonymous: u64,
    /// Requests per API key of a user (or per signed-in user).
    pub user: u64,
    /// Requests per API key of a portal admin.
    pub admin: u64,
    /// The window the limits count in.
    pub window: Window,
    /// Reverse proxies in front of the server whose `X-Forwarded-For` is trusted (0: the
    /// header is ignored and the connection's peer is the client).
    pub trusted_proxies: usize,
    /// Clients whose counters are kept at most.
    pub max_clients: usize,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            anonymous: 0,
            user: 0,
            admin: 0,
            window: Window::Day,
            trusted_proxies: 0,
            max_clients: DEFAULT_MAX_CLIENTS,
        }
    }
}

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Client {
    /// An anonymous client address (IPv6: its /64).
    Addr(IpAddr),
    /// An API key, by its public id.
    Key(String),
    /// A signed-in user.
    User(i64),
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The limit of the caller's role.
    pub limit: u64,
    /// Requests left in the window after this one.
    pub remaining: u64,
    /// Epoch seconds when the window ends.
    pub reset: u64,
    /// Over the limit: refused.
    pub exceeded: bool,
    /// An anonymous caller (decides the `429` body).
    pub anonymous: bool,
}

/// The counters of every client, bounded.
pub struct RateLimiter {
    config: RateLimitConfig,
    counters: quick_cache::sync::Cache<Client, Arc<AtomicU64>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("config", &self.config)
            .field("clients", &self.counters.len())
            .finish()
    }
}

/// A counter packs the window's number (32 low bits of it) and the count in one `u64`.
fn pack(window: u64, count: u64) -> u64 {
    ((window & 0xffff_ffff) << 32) | count.min(0xffff_ffff)
}

impl RateLimiter {
    /// Counters for `config`.
    pub fn new(config: RateLimitConfig) -> RateLimiter {
        let counters = quick_cache::sync::Cache::new(config.max_clients.max(1));
        RateLimiter { config, counters }
    }

    /// The configuration.
    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Whether any role is limited.
    pub fn enabled(&self) -> bool {
        self.config.anonymous > 0 || self.config.user > 0 || self.config.admin > 0
    }

    /// Counters currently kept.
    pub fn clients(&self) -> usize {
        self.counters.len()
    }

    /// Counts one request of `principal` from `addr` at `now` (epoch seconds); `None` when
    /// its role is not limited.
    pub fn hit(&self, principal: &Principal, addr: IpAddr, now: u64) -> Option<Verdict> {
        let (client, limit) = match principal {
            Principal::Anonymous => (Client::Addr(network(addr)), self.config.anonymous),
            Principal::Key { key_id, account, .. } => (
                Client::Key(key_id.clone()),
                if account.admin { self.config.admin } else { self.config.user },
            ),
            Principal::User(account) => (
                Client::User(account.user_id),
                if account.admin { self.config.admin } else { self.config.user },
            ),
            _ => return None,
        };
        if limit == 0 {
            return None;
        }
        let seconds = self.config.window.seconds();
        let window = now / seconds;
        let counter = self.counters.get_or_insert_with(&client, || {
            Ok::<_, std::convert::Infallible>(Arc::new(AtomicU64::new(0)))
        });
        let Ok(counter) = counter;
        let update = |packed: u64| {
            let (w, count) = (packed >> 32, packed & 0xffff_ffff);
            Some(if w == window & 0xffff_ffff { pack(window, count + 1) } else { pack(window, 1) })
        };
        let previous =
            counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, update).unwrap_or_default();
        let count = update(previous).map_or(1, |packed| packed & 0xffff_ffff);
        Some(Verdict {
            limit,
            remaining: limit.saturating_sub(count),
            reset: (window + 1) * seconds,
            exceeded: count > limit,
            anonymous: matches!(principal, Principal::Anonymous),
        })
    }

    /// The `429` answer of `verdict`: Opendatasoft's body, the headers, `Retry-After`.
    pub fn refusal(&self, verdict: Verdict, now: u64) -> Response {
        let (errorcode, error) = if verdict.anonymous {
            (10005, "You have exceeded the requests limit for anonymous users.")
        } else {
            (10002, "Too many requests on the domain. Please contact the domain administrator.")
        };
        let reset_time = i64::try_from(verdict.reset)
            .ok()
            .and_then(|s| chrono::DateTime::<chrono::Utc>::from_timestamp(s, 0))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let body = serde_json::json!({
            "errorcode": errorcode,
            "reset_time": reset_time,
            "limit_time_unit": self.config.window.unit(),
            "call_limit": verdict.limit,
            "error": error,
        });
        let mut response = (StatusCode::TOO_MANY_REQUESTS, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(header::RETRY_AFTER, HeaderValue::from(verdict.reset.saturating_sub(now)));
        set_headers(headers, verdict);
        response
    }

    /// The client address of a request whose connection came from `peer`.
    pub fn client_addr(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> IpAddr {
        let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let hops = self.config.trusted_proxies;
        if hops == 0 {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        // The peer is the last proxy; the address `hops` proxies saw is `hops` from the end
        // of the header (or its first address when fewer proxies wrote it).
        let Some(index) =
            forwarded.len().checked_sub(hops).or((!forwarded.is_empty()).then_some(0))
        else {
            return peer;
        };
        forwarded.get(index).and_then(|text| parse_addr(text)).unwrap_or(peer)
    }
}

/// An address of `X-Forwarded-For`: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`.
fn parse_addr(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>().ok().or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The unit one client is counted by: an IPv4 address, or an IPv6 address's /64 network.
fn network(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ))
            }
        },
    }
}

fn set_headers(headers: &mut HeaderMap, verdict: Verdict) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(verdict.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(verdict.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(verdict.reset));
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Middleware (inside the API key layer, which resolved the [`Principal`]): counts the
/// request, refuses it with `429` past the limit, and adds the headers to its answer.
pub async fn layer<F: Future<Output = Response>>(
    state: &AppState,
    request: Request,
    next: impl FnOnce(Request) -> F,
) -> Response {
    let limiter = &state.rate_limits;
    if !limiter.enabled() || request.uri().path().starts_with("/static/") {
        return next(request).await;
    }
    let principal = request.extensions().get::<Principal>().cloned().unwrap_or_default();
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let addr = limiter.client_addr(request.headers(), peer);
    let now = now_secs();
    let Some(verdict) = limiter.hit(&principal, addr, now) else {
        return next(request).await;
    };
    if verdict.exceeded {
        return limiter.refusal(verdict, now);
    }
    let mut response = next(request).await;
    set_headers(response.headers_mut(), verdict);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(anonymous: u64, hops: usize, max_clients: usize) -> RateLimiter {
        RateLimiter::new(RateLimitConfig {
            anonymous,
            user: 0,
            admin: 0,
            window: Window::Minute,
            trusted_proxies: hops,
            max_clients,
        })
    }

    #[test]
    fn counts_down_refuses_and_resets_with_the_window() {
        let l = limiter(2, 0, 10);
        let a = IpAddr::from([10, 0, 0, 1]);
        let p = Principal::Anonymous;
        let v = l.hit(&p, a, 120).unwrap();
        assert_eq!((v.remaining, v.reset, v.exceeded), (1, 180, false));
        assert_eq!(l.hit(&p, a, 150).unwrap().remaining, 0);
        let v = l.hit(&p, a, 179).unwrap();
        assert!(v.exceeded && v.remaining == 0);
        let v = l.hit(&p, a, 180).unwrap();
        assert_eq!((v.remaining, v.reset, v.exceeded), (1, 240, false));
        assert_eq!(l.hit(&Principal::Operator, a, 180), None);
    }

    #[test]
    fn ipv6_counts_by_network_and_forwarded_for_only_when_trusted() {
        assert_eq!(
            network("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(network("::ffff:10.0.0.1".parse().unwrap()), IpAddr::from([10, 0, 0, 1]));
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 1.2.3.4"));
        headers.append("x-forwarded-for", HeaderValue::from_static("[2001:db8::1]:443"));
        let local = IpAddr::from([127, 0, 0, 1]);
        let peer = Some(local);
        assert_eq!(limiter(1, 0, 1).client_addr(&headers, peer), local);
        assert_eq!(
            limiter(1, 1, 1).client_addr(&headers, peer),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(limiter(1, 2, 1).client_addr(&headers, peer), IpAddr::from([1, 2, 3, 4]));
        assert_eq!(limiter(1, 9, 1).client_addr(&headers, peer), IpAddr::from([6, 6, 6, 6]));
        assert_eq!(limiter(1, 1, 1).client_addr(&HeaderMap::new(), peer), local);
    }

    #[test]
    fn a_flood_of_addresses_keeps_memory_bounded() {
        let l = limiter(5, 0, 1000);
        for i in 0..50_000u32 {
            l.hit(&Principal::Anonymous, IpAddr::from(i.to_be_bytes()), 60);
        }
        assert!(l.clients() <= 1000, "{} counters kept", l.clients());
    }
}
