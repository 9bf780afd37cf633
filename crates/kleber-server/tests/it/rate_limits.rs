//! Rate limits against a real server: the `X-RateLimit-*` headers count down, past the limit a
//! `429` comes with Opendatasoft's body (ods-api.md §2.10), per client address and per API
//! key (keys of different users never share a budget, portal admins have theirs), static
//! assets are not counted, `X-Forwarded-For` counts only when proxies are trusted, and the
//! budget comes back when the window ends.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kleber_app::accounts::{Accounts, operator};
use kleber_query::Limits;
use kleber_server::http::ratelimit::{RateLimitConfig, Window};
use kleber_store::{Scope, Store};
use serde_json::Value;

use crate::common::TestServer;

const CATALOG: &str = "/api/explore/v2.1/catalog/datasets";

/// What one answer says about the budget.
#[derive(Debug)]
struct Answer {
    status: u16,
    limit: Option<u64>,
    remaining: Option<u64>,
    reset: Option<u64>,
    retry_after: Option<u64>,
    body: String,
}

async fn ask(server: &TestServer, path: &str, key: Option<&str>, xff: Option<&str>) -> Answer {
    let mut request = server.client.get(format!("{}{path}", server.base));
    if let Some(key) = key {
        request = request.header("Authorization", format!("Apikey {key}"));
    }
    if let Some(xff) = xff {
        request = request.header("X-Forwarded-For", xff);
    }
    let response = request.send().await.expect("request");
    let number = |name: &str| {
        response.headers().get(name).map(|v| {
            v.to_str().ok().and_then(|t| t.parse::<u64>().ok()).unwrap_or_else(|| {
                panic!("{name} is not a number: {v:?}");
            })
        })
    };
    Answer {
        status: response.status().as_u16(),
        limit: number("x-ratelimit-limit"),
        remaining: number("x-ratelimit-remaining"),
        reset: number("x-ratelimit-reset"),
        retry_after: number("retry-after"),
        body: response.text().await.expect("body"),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

async fn server(config: RateLimitConfig) -> (TestServer, Accounts) {
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts = Accounts::new(std::sync::Arc::new(Store::open(dir.path()).expect("store")));
    let server =
        TestServer::start_configured(dir, Limits::default(), Duration::from_secs(30), |state| {
            state.with_rate_limits(config)
        })
        .await;
    (server, accounts)
}

/// A key with the `read` scope of a new user (`admin`: a portal admin).
fn key(accounts: &Accounts, email: &str, admin: bool) -> String {
    accounts.create_user(&operator(), email, None, admin, None).expect("user");
    accounts.create_key(&operator(), email, "rate", &[Scope::Read], None).expect("key").key
}

fn config(anonymous: u64, user: u64, admin: u64) -> RateLimitConfig {
    RateLimitConfig { anonymous, user, admin, ..RateLimitConfig::default() }
}

/// The `429` body, checked key by key and in the documented order.
fn check_refusal(answer: &Answer, errorcode: u64, limit: u64, unit: &str, error: &str) {
    assert_eq!(answer.status, 429, "{answer:?}");
    let body: Value = serde_json::from_str(&answer.body).expect("JSON body");
    let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["errorcode", "reset_time", "limit_time_unit", "call_limit", "error"]);
    assert_eq!(body["errorcode"], errorcode);
    assert_eq!(body["limit_time_unit"], unit);
    assert_eq!(body["call_limit"], limit);
    assert_eq!(body["error"], error);
    let reset = answer.reset.expect("X-RateLimit-Reset on the 429");
    let reset_time = chrono::DateTime::parse_from_rfc3339(body["reset_time"].as_str().unwrap())
        .expect("reset_time is RFC 3339");
    assert_eq!(u64::try_from(reset_time.timestamp()).unwrap(), reset);
    assert!(body["reset_time"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_eq!((answer.limit, answer.remaining), (Some(limit), Some(0)));
    let retry = answer.retry_after.expect("Retry-After");
    assert!(retry <= reset.saturating_sub(now()) + 1, "Retry-After {retry}, reset {reset}");
}

#[tokio::test]
async fn anonymous_headers_count_down_then_429_with_the_documented_body() {
    let (server, _accounts) = server(config(3, 0, 0)).await;
    let before = now();
    let mut remaining = Vec::new();
    // Every answer counts and carries the headers, errors included.
    for path in [CATALOG, "/api/explore/v2.1/catalog/datasets/nope", CATALOG] {
        let answer = ask(&server, path, None, None).await;
        assert_eq!(answer.limit, Some(3), "{path}: {answer:?}");
        let reset = answer.reset.expect("reset");
        assert_eq!(reset % 86_400, 0, "a daily window resets at midnight UTC");
        assert!(reset > before && reset <= now() + 86_400, "{reset}");
        remaining.push(answer.remaining.expect("remaining"));
    }
    assert_eq!(remaining, [2, 1, 0]);
    // Static assets are not counted and carry no headers.
    let asset = ask(&server, "/static/does-not-exist.css", None, None).await;
    assert_eq!((asset.limit, asset.remaining), (None, None), "{asset:?}");
    let refused = ask(&server, CATALOG, None, None).await;
    check_refusal(
        &refused,
        10005,
        3,
        "day",
        "You have exceeded the requests limit for anonymous users.",
    );
    // Refused requests keep being refused in the window, on every route.
    let again = ask(&server, "/explore/", None, None).await;
    assert_eq!(again.status, 429);
}

#[tokio::test]
async fn keys_have_their_own_budgets_by_role() {
    let (server, accounts) = server(config(1, 2, 4)).await;
    let anne = key(&accounts, "anne@example.org", false);
    let bob = key(&accounts, "bob@example.org", false);
    let root = key(&accounts, "root@example.org", true);
    for expected in [1, 0] {
        let answer = ask(&server, CATALOG, Some(&anne), None).await;
        assert_eq!((answer.status, answer.limit), (200, Some(2)), "{answer:?}");
        assert_eq!(answer.remaining, Some(expected));
    }
    let refused = ask(&server, CATALOG, Some(&anne), None).await;
    check_refusal(
        &refused,
        10002,
        2,
        "day",
        "Too many requests on the domain. Please contact the domain administrator.",
    );
    // Another user's key, the anonymous budget of the same address, and an admin's key are
    // untouched by anne's.
    let other = ask(&server, CATALOG, Some(&bob), None).await;
    assert_eq!((other.status, other.remaining), (200, Some(1)), "{other:?}");
    let anonymous = ask(&server, CATALOG, None, None).await;
    assert_eq!((anonymous.status, anonymous.limit, anonymous.remaining), (200, Some(1), Some(0)));
    let admin = ask(&server, CATALOG, Some(&root), None).await;
    assert_eq!((admin.status, admin.limit, admin.remaining), (200, Some(4), Some(3)));
    // The same key sent as the parameter spends the same budget.
    let by_param = ask(&server, &format!("{CATALOG}?apikey={bob}"), None, None).await;
    assert_eq!((by_param.status, by_param.remaining), (200, Some(0)));
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_trusted_proxies() {
    let (direct, _a) = server(config(1, 0, 0)).await;
    assert_eq!(ask(&direct, CATALOG, None, Some("1.1.1.1")).await.status, 200);
    // Not trusted: a client cannot get a fresh budget by writing the header.
    assert_eq!(ask(&direct, CATALOG, None, Some("2.2.2.2")).await.status, 429);

    let proxied = RateLimitConfig { trusted_proxies: 1, ..config(1, 0, 0) };
    let (proxied, _b) = server(proxied).await;
    assert_eq!(ask(&proxied, CATALOG, None, Some("1.1.1.1")).await.status, 200);
    assert_eq!(ask(&proxied, CATALOG, None, Some("1.1.1.1")).await.status, 429);
    assert_eq!(ask(&proxied, CATALOG, None, Some("2.2.2.2")).await.status, 200);
    // The proxy appends the address it saw; what the client wrote before it does not count.
    assert_eq!(ask(&proxied, CATALOG, None, Some("9.9.9.9, 2.2.2.2")).await.status, 429);
    // IPv6 clients are counted by their /64.
    assert_eq!(ask(&proxied, CATALOG, None, Some("2001:db8:0:1::1")).await.status, 200);
    assert_eq!(ask(&proxied, CATALOG, None, Some("2001:db8:0:1::2")).await.status, 429);
}

#[tokio::test]
async fn the_budget_comes_back_when_the_window_ends() {
    let per_second = RateLimitConfig { window: Window::Second, ..config(2, 0, 0) };
    let (server, _accounts) = server(per_second).await;
    // The three requests must fall in one window: start just after a second begins, and try
    // again in the rare case a window ended between them anyway.
    let mut refused = None;
    for _ in 0..5 {
        let wait = 1_000 - SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_millis();
        tokio::time::sleep(Duration::from_millis(u64::from(wait) + 20)).await;
        let answers = [
            ask(&server, CATALOG, None, None).await,
            ask(&server, CATALOG, None, None).await,
            ask(&server, CATALOG, None, None).await,
        ];
        if answers.iter().all(|a| a.reset == answers[0].reset) {
            let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
            assert_eq!(statuses, [200, 200, 429], "{answers:?}");
            refused = answers.into_iter().nth(2);
            break;
        }
    }
    let refused = refused.expect("three requests within one second");
    check_refusal(
        &refused,
        10005,
        2,
        "second",
        "You have exceeded the requests limit for anonymous users.",
    );
    let reset = refused.reset.unwrap();
    while now() < reset {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = ask(&server, CATALOG, None, None).await;
    assert_eq!(after.status, 200, "{after:?}");
    assert!(after.reset.unwrap() > reset, "{after:?}");
    assert_eq!(after.remaining, Some(1));
}

#[tokio::test]
async fn without_limits_answers_carry_no_headers() {
    let (server, _accounts) = server(RateLimitConfig::default()).await;
    for _ in 0..3 {
        let answer = ask(&server, CATALOG, None, None).await;
        assert_eq!((answer.status, answer.limit, answer.remaining), (200, None, None));
    }
}
