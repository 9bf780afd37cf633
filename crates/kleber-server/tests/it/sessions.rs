//! Portal sessions against a real server: sign-in with an argon2id password, the session
//! cookie (a new token at every sign-in), the principal it gives on the portal and the API,
//! sign-out deleting the session server-side, CSRF and origin checks on every form, sign-in
//! throttling, disabled users, and the account page's API keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kleber_ingest::ImportOptions;
use kleber_store::{NewOrganization, OrgKind, Role, Store, Visibility};
use reqwest::{Client, Response, StatusCode, redirect};

use crate::common::{TestServer, import};
use crate::forms::form;

const PASSWORD: &str = "correct horse battery";
const ANNE: &str = "anne@example.org";
const BOB: &str = "bob@example.org";
const CATALOG: &str = "/api/explore/v2.1/catalog/datasets";

fn accounts(dir: &Path) -> kleber_app::accounts::Accounts {
    kleber_app::accounts::Accounts::new(Arc::new(Store::open(dir).expect("store")))
}

/// A portal with a public dataset `ouvert` and a restricted one `interne` of organization
/// `ems`, whose viewer is Anne; Bob belongs to no organization. Both have a password.
async fn portal() -> (TestServer, PathBuf, Client) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("rows.csv");
    std::fs::write(&csv, "nom;valeur\nA;1\nB;2\n").unwrap();
    import(dir.path(), &csv, "ouvert", ImportOptions::default());
    import(dir.path(), &csv, "interne", ImportOptions::default());
    let a = accounts(dir.path());
    let op = kleber_app::accounts::operator();
    let org = NewOrganization {
        id: "ems",
        name: "Eurométropole",
        kind: OrgKind::Metropolis,
        description: None,
        website: None,
        logo: None,
    };
    a.create_org(&op, &org).unwrap();
    a.set_dataset_org(&op, "interne", "ems").unwrap();
    a.set_visibility(&op, "interne", Visibility::Restricted).unwrap();
    a.create_user(&op, ANNE, Some("Anne"), false, Some(PASSWORD)).unwrap();
    a.create_user(&op, BOB, None, false, Some(PASSWORD)).unwrap();
    a.set_member(&op, "ems", ANNE, Role::Viewer).unwrap();
    let path = dir.path().to_path_buf();
    let server = TestServer::start(dir).await;
    let client = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    (server, path, client)
}

fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The value of cookie `name` set by `response`.
fn cookie_value(response: &Response, name: &str) -> Option<String> {
    set_cookies(response).iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (n, v) = first.split_once('=')?;
        (n == name).then(|| v.to_owned())
    })
}

/// The `csrf` hidden field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

struct Browser<'a> {
    server: &'a TestServer,
    client: &'a Client,
}

impl Browser<'_> {
    async fn get(&self, path: &str, cookies: &str) -> Response {
        let mut request = self.client.get(format!("{}{path}", self.server.base));
        if !cookies.is_empty() {
            request = request.header("Cookie", cookies);
        }
        request.send().await.unwrap()
    }

    /// POSTs a form from the portal's own origin.
    async fn post(&self, path: &str, cookies: &str, body: &str) -> Response {
        self.post_with(path, cookies, body, &[("Origin", &self.server.base)]).await
    }

    async fn post_with(
        &self,
        path: &str,
        cookies: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.server.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if !cookies.is_empty() {
            request = request.header("Cookie", cookies);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// The sign-in form's CSRF token, equal to the cookie it sets.
    async fn login_token(&self) -> String {
        let response = self.get("/login/", "").await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = cookie_value(&response, "kleber_csrf").expect("the csrf cookie");
        let html = response.text().await.unwrap();
        assert_eq!(csrf_of(&html), cookie);
        cookie
    }

    async fn sign_in_response(&self, email: &str, password: &str, extra: &str) -> Response {
        let token = self.login_token().await;
        let cookies = format!("kleber_csrf={token}{extra}");
        let body =
            form(&[("csrf", &token), ("email", email), ("password", password), ("next", "/")]);
        self.post("/login", &cookies, &body).await
    }

    /// Signs in; returns the session cookie's value.
    async fn sign_in(&self, email: &str) -> String {
        let response = self.sign_in_response(email, PASSWORD, "").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap());
        cookie_value(&response, "kleber_session").expect("a session cookie")
    }

    async fn catalog_ids(&self, cookies: &str) -> Vec<String> {
        let response = self.get(CATALOG, cookies).await;
        assert_eq!(response.status(), StatusCode::OK);
        let v: serde_json::Value = response.json().await.unwrap();
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["dataset_id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The account page's CSRF token for session `token`.
    async fn account_token(&self, token: &str) -> String {
        let response = self.get("/account/", &format!("kleber_session={token}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        csrf_of(&response.text().await.unwrap())
    }
}

fn sessions_in(dir: &Path) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    let mut stmt = conn.prepare("SELECT token_hash FROM sessions").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

#[tokio::test]
async fn passwords_are_argon2id_and_tokens_are_stored_hashed() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    let hash: String = conn
        .query_row("SELECT password_hash FROM users WHERE email_key = ?1", [ANNE], |r| r.get(0))
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    let token = b.sign_in(ANNE).await;
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|c| c.is_ascii_hexdigit()));
    let stored = sessions_in(&dir);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 32, "a SHA-256 digest");
    assert_ne!(stored[0], token.as_bytes());
    assert!(!String::from_utf8_lossy(&stored[0]).contains(&token));
}

#[tokio::test]
async fn a_session_reads_restricted_data_until_sign_out_deletes_it() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    assert!(!b.catalog_ids("").await.contains(&"interne".to_owned()));

    let response = b.sign_in_response(ANNE, PASSWORD, "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    let set = set_cookies(&response);
    let session = set.iter().find(|c| c.starts_with("kleber_session=")).unwrap();
    for attribute in ["; Path=/", "; HttpOnly", "; SameSite=Lax", "; Max-Age=43200"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    assert!(set.iter().any(|c| c.starts_with("kleber_csrf=;") && c.contains("Max-Age=0")));
    let token = cookie_value(&response, "kleber_session").unwrap();
    let cookies = format!("kleber_session={token}");

    // The API (for the portal's scripts) and the account page see what Anne may read.
    assert_eq!(b.catalog_ids(&cookies).await, ["interne", "ouvert"]);
    let response = b.get(&format!("{CATALOG}/interne"), &cookies).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cache = response.headers()["cache-control"].to_str().unwrap().to_owned();
    assert!(cache.starts_with("private"), "{cache}");
    assert!(response.headers()["vary"].to_str().unwrap().contains("Cookie"));
    let response = b.get("/account/", &cookies).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains(ANNE), "{html}");
    assert!(html.contains("href=\"/explore/dataset/interne/\""), "{html}");
    assert!(!html.contains("href=\"/explore/dataset/ouvert/\""), "public datasets are not listed");
    // A key wins over a cookie: a key of a user without rights reads public data only.
    let key = server.api_key();
    let response = client
        .get(format!("{}{CATALOG}", server.base))
        .header("Cookie", &cookies)
        .header("Authorization", format!("Apikey {key}"))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = response.json().await.unwrap();
    assert_eq!(v["total_count"], 1, "{v}");

    // Behind a TLS proxy the cookie is Secure.
    let token_b = b.login_token().await;
    let body = form(&[("csrf", &token_b), ("email", BOB), ("password", PASSWORD)]);
    let https = format!("https://{}", server.base.trim_start_matches("http://"));
    let response = b
        .post_with(
            "/login",
            &format!("kleber_csrf={token_b}"),
            &body,
            &[("Origin", &https), ("X-Forwarded-Proto", "https")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let secure = set_cookies(&response).into_iter().find(|c| c.starts_with("kleber_session="));
    assert!(secure.unwrap().ends_with("; Secure"));

    // Sign-out deletes the session: the same cookie, replayed, is anonymous.
    let csrf = b.account_token(&token).await;
    let before = sessions_in(&dir).len();
    let response = b.post("/logout", &cookies, &form(&[("csrf", &csrf)])).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cleared = set_cookies(&response).into_iter().find(|c| c.starts_with("kleber_session="));
    assert!(cleared.unwrap().contains("Max-Age=0"));
    assert_eq!(sessions_in(&dir).len(), before - 1);
    assert_eq!(b.catalog_ids(&cookies).await, ["ouvert"]);
    let response = b.get(&format!("{CATALOG}/interne"), &cookies).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = b.get("/account/", &cookies).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login/?next=/account/");
    let audit: Vec<String> = {
        let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
        let mut stmt = conn.prepare("SELECT action FROM audit_log ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(audit.last().map(String::as_str), Some("session.delete"), "{audit:?}");
    assert_eq!(audit.iter().filter(|a| *a == "session.create").count(), 2, "{audit:?}");
}

#[tokio::test]
async fn every_sign_in_gets_a_new_token_and_ends_the_previous_session() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    // A token chosen by someone else before sign-in is never adopted.
    let planted = "ab".repeat(32);
    let response = b.sign_in_response(ANNE, PASSWORD, &format!("; kleber_session={planted}")).await;
    let first = cookie_value(&response, "kleber_session").unwrap();
    assert_ne!(first, planted);
    assert_eq!(b.catalog_ids(&format!("kleber_session={planted}")).await, ["ouvert"]);
    // Signing in again with a session: a new token, and the old one stops working.
    let response = b.sign_in_response(ANNE, PASSWORD, &format!("; kleber_session={first}")).await;
    let second = cookie_value(&response, "kleber_session").unwrap();
    assert_ne!(second, first);
    assert_eq!(b.catalog_ids(&format!("kleber_session={first}")).await, ["ouvert"]);
    assert_eq!(b.catalog_ids(&format!("kleber_session={second}")).await, ["interne", "ouvert"]);
    assert_eq!(sessions_in(&dir).len(), 1);

    // An expired session is refused, and deleted at the next sign-in.
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    conn.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00+00:00'", []).unwrap();
    let expired = format!("kleber_session={second}");
    assert_eq!(b.catalog_ids(&expired).await, ["ouvert"]);
    assert_eq!(b.get("/account/", &expired).await.status(), StatusCode::SEE_OTHER);
    let third = b.sign_in(BOB).await;
    assert_eq!(sessions_in(&dir).len(), 1, "only the new session is left");
    assert_eq!(b.catalog_ids(&format!("kleber_session={third}")).await, ["ouvert"]);
}

/// What a refused form answers: 403 and the reason on the page.
async fn assert_refused(response: Response, reason: &str) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains(reason), "expected {reason:?} in {html}");
}

#[tokio::test]
async fn every_form_refuses_missing_wrong_foreign_and_cross_origin_tokens() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    let anne = b.sign_in(ANNE).await;
    let bob = b.sign_in(BOB).await;
    let anne_csrf = b.account_token(&anne).await;
    let bob_csrf = b.account_token(&bob).await;
    assert_ne!(anne_csrf, bob_csrf);
    let key = accounts(&dir)
        .create_key(
            &kleber_app::accounts::operator(),
            ANNE,
            "k",
            &[kleber_store::Scope::Read],
            None,
        )
        .unwrap();
    let revoke = format!("/account/keys/{}/revoke", key.record.id);
    let login_token = b.login_token().await;
    let other_login_token = b.login_token().await;

    let missing = "pas de jeton de sécurité (CSRF). Rechargez";
    let wrong = "ne correspond pas à votre session";
    let foreign = "envoyé depuis un autre site";
    let anonymous = "(ni Origin ni Referer)";
    let session = format!("kleber_session={anne}");
    // (path, cookies, the right token, another session's token, other fields)
    type Case<'a> = (&'a str, String, String, String, Vec<(&'a str, &'a str)>);
    let forms: Vec<Case<'_>> = vec![
        (
            "/login",
            format!("kleber_csrf={login_token}"),
            login_token.clone(),
            other_login_token.clone(),
            vec![("email", ANNE), ("password", PASSWORD)],
        ),
        ("/logout", session.clone(), anne_csrf.clone(), bob_csrf.clone(), vec![]),
        (
            "/account/keys",
            session.clone(),
            anne_csrf.clone(),
            bob_csrf.clone(),
            vec![("name", "new"), ("scope", "read")],
        ),
        (&revoke, session.clone(), anne_csrf.clone(), bob_csrf.clone(), vec![]),
    ];
    for (path, cookies, right, others, fields) in &forms {
        let with = |token: Option<&str>| {
            let mut all: Vec<(&str, &str)> = fields.clone();
            if let Some(token) = token {
                all.push(("csrf", token));
            }
            form(&all)
        };
        assert_refused(b.post(path, cookies, &with(None)).await, missing).await;
        assert_refused(b.post(path, cookies, &with(Some(""))).await, missing).await;
        assert_refused(b.post(path, cookies, &with(Some(&"0".repeat(64)))).await, wrong).await;
        assert_refused(b.post(path, cookies, &with(Some(others))).await, wrong).await;
        let evil = [("Origin", "http://evil.example")];
        assert_refused(b.post_with(path, cookies, &with(Some(right)), &evil).await, foreign).await;
        let null = [("Origin", "null")];
        assert_refused(b.post_with(path, cookies, &with(Some(right)), &null).await, foreign).await;
        let referer = [("Referer", "http://evil.example/login/")];
        assert_refused(b.post_with(path, cookies, &with(Some(right)), &referer).await, foreign)
            .await;
        assert_refused(b.post_with(path, cookies, &with(Some(right)), &[]).await, anonymous).await;
        // English pages say it in English.
        let en = format!("{cookies}; lang=en");
        assert_refused(b.post(path, &en, &with(None)).await, "has no security (CSRF) token").await;
    }
    // Nothing changed: Anne's session works, her key is active, no key was created.
    assert_eq!(b.catalog_ids(&session).await, ["interne", "ouvert"]);
    let keys = accounts(&dir).keys(Some(ANNE)).unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].revoked_at.is_none());
    assert_eq!(sessions_in(&dir).len(), 2);

    // The same forms pass with the right token, from a same-origin Referer too.
    let referer = format!("{}/account/", server.base);
    let body = form(&[("csrf", &anne_csrf), ("name", "portail"), ("scope", "read")]);
    let response = b.post_with("/account/keys", &session, &body, &[("Referer", &referer)]).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let at = html.find("id=\"created-key\">").unwrap() + "id=\"created-key\">".len();
    let new_key = html[at..at + html[at..].find('<').unwrap()].to_owned();
    assert!(new_key.starts_with("klb_"), "{new_key}");
    // The key is shown once: the account page does not show it again.
    let page = b.get("/account/", &session).await.text().await.unwrap();
    assert!(!page.contains(&new_key));
    assert!(page.contains("portail"));
    // It reads what Anne reads, until she revokes it.
    let with_key = |k: &str| {
        client
            .get(format!("{}{CATALOG}", server.base))
            .header("Authorization", format!("Apikey {k}"))
    };
    let v: serde_json::Value = with_key(&new_key).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["total_count"], 2, "{v}");
    let response = b.post(&revoke, &session, &form(&[("csrf", &anne_csrf)])).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = new_key.split('_').nth(1).unwrap();
    let response = b
        .post(&format!("/account/keys/{id}/revoke"), &session, &form(&[("csrf", &anne_csrf)]))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(with_key(&new_key).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // Bob cannot revoke Anne's keys: they do not exist for him.
    let other = accounts(&dir)
        .create_key(
            &kleber_app::accounts::operator(),
            ANNE,
            "k2",
            &[kleber_store::Scope::Read],
            None,
        )
        .unwrap();
    let path = format!("/account/keys/{}/revoke", other.record.id);
    let response =
        b.post(&path, &format!("kleber_session={bob}"), &form(&[("csrf", &bob_csrf)])).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        accounts(&dir)
            .keys(Some(ANNE))
            .unwrap()
            .iter()
            .any(|k| k.id == other.record.id && k.revoked_at.is_none())
    );
    // Bad key forms say what is wrong and create nothing.
    for (fields, message) in [
        (vec![("name", ""), ("scope", "read")], "Donnez un nom"),
        (vec![("name", "x")], "au moins un droit"),
        (vec![("name", "x"), ("scope", "root")], "unknown scope"),
        (vec![("name", "x"), ("scope", "read"), ("expires", "0")], "entre 1 et 3650"),
        (vec![("name", "x"), ("scope", "read"), ("expires", "soon")], "entre 1 et 3650"),
    ] {
        let mut all = fields.clone();
        all.push(("csrf", &anne_csrf));
        let response = b.post("/account/keys", &session, &form(&all)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{message}: {html}");
    }
    assert_eq!(accounts(&dir).keys(Some(ANNE)).unwrap().len(), 3);
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_and_disabled_users_refused_alike() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    let failure = |response: Response| async move {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(cookie_value(&response, "kleber_session").is_none());
        let html = response.text().await.unwrap();
        let at = html.find("role=\"alert\"").expect("an error message");
        html[at..at + html[at..].find("</p>").unwrap()].to_owned()
    };
    // Wrong password, unknown email, disabled account: one message.
    let wrong = failure(b.sign_in_response(ANNE, "not the password", "").await).await;
    assert!(wrong.contains("Adresse e-mail ou mot de passe incorrect."), "{wrong}");
    let unknown = failure(b.sign_in_response("nobody@example.org", PASSWORD, "").await).await;
    assert_eq!(unknown, wrong);
    let bob = b.sign_in(BOB).await;
    accounts(&dir).disable_user(&kleber_app::accounts::operator(), BOB).unwrap();
    assert_eq!(b.catalog_ids(&format!("kleber_session={bob}")).await, ["ouvert"]);
    assert_eq!(
        b.get("/account/", &format!("kleber_session={bob}")).await.status(),
        StatusCode::SEE_OTHER,
        "disabling a user ends their sessions"
    );
    let disabled = failure(b.sign_in_response(BOB, PASSWORD, "").await).await;
    assert_eq!(disabled, wrong);
    // Five failures from this address within 15 minutes: the sixth attempt, even right, is
    // refused with 429 and Retry-After, and no session is made.
    let _ = failure(b.sign_in_response(ANNE, "still not it", "").await).await;
    let _ = failure(b.sign_in_response(ANNE, "nor this", "").await).await;
    let response = b.sign_in_response(ANNE, PASSWORD, "").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(cookie_value(&response, "kleber_session").is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("connexion. Réessayez dans 15 minutes."), "{html}");
    let sessions = sessions_in(&dir);
    assert!(sessions.is_empty(), "Bob's session was deleted, none was made since");
}

/// `tests/browser/signin.mjs` in headless Chromium: sign in, see the restricted dataset, sign
/// out and no longer see it; axe finds no violation on the sign-in, account and invitation
/// pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_and_out_in_the_browser() {
    crate::browser::require_tools();
    let _one = crate::browser::ONE_BROWSER.lock().await;
    let (server, dir, _client) = portal().await;
    let op = kleber_app::accounts::operator();
    let invitation = accounts(&dir).invite(&op, "claire@example.org", "ems", Role::Viewer).unwrap();
    let link = format!("/invitation/{}", invitation.token);
    let (status, output) =
        crate::browser::run_node_with("signin.mjs", &[&server.base, &link]).await;
    println!("{output}");
    assert!(status.success(), "node tests/browser/signin.mjs failed ({status}):\n{output}");
}

fn invite(dir: &Path, email: &str, org: &str, url: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(["user", "invite", email, "--org", org, "--role", "viewer", "--url", url])
        .arg("--data-dir")
        .arg(dir)
        .env_remove("KLEBER_PUBLIC_URL")
        .output()
        .unwrap()
}

#[tokio::test]
async fn an_invitation_link_sets_a_password_once() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    let out = invite(&dir, "claire@example.org", "nope", &server.base);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown organization \"nope\""), "{stderr}");

    let out = invite(&dir, "claire@example.org", "ems", &format!("{}/", server.base));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let link = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let path = link.strip_prefix(&server.base).unwrap().to_owned();
    assert!(path.starts_with("/invitation/"), "{link}");
    let token = path.trim_start_matches("/invitation/");
    assert_eq!(token.len(), 64);
    let stored: Vec<Vec<u8>> = {
        let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
        let mut stmt = conn.prepare("SELECT token_hash FROM invitations").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].len(), 32, "only a digest is stored");

    // The page names the account and sets the signed-out forms' CSRF cookie.
    let response = b.get(&path, "").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
    let csrf = cookie_value(&response, "kleber_csrf").unwrap();
    let html = response.text().await.unwrap();
    assert!(html.contains("claire@example.org"), "{html}");
    assert_eq!(csrf_of(&html), csrf);
    let cookies = format!("kleber_csrf={csrf}");
    let new_password = "a brand new password";
    // Refused forms change nothing.
    let body = form(&[("password", new_password), ("confirm", new_password)]);
    assert_refused(b.post(&path, &cookies, &body).await, "pas de jeton").await;
    for (password, confirm, message) in [
        ("short", "short", "trop court"),
        (new_password, "something else entirely", "sont différents"),
    ] {
        let body = form(&[("csrf", &csrf), ("password", password), ("confirm", confirm)]);
        let response = b.post(&path, &cookies, &body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.text().await.unwrap().contains(message), "{message}");
    }
    let refused = b.sign_in_response("claire@example.org", new_password, "").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "no password yet");

    let body = form(&[("csrf", &csrf), ("password", new_password), ("confirm", new_password)]);
    let response = b.post(&path, &cookies, &body).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login/?next=/account/");
    // Once only.
    assert_eq!(b.get(&path, "").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(b.post(&path, &cookies, &body).await.status(), StatusCode::NOT_FOUND);
    // Claire signs in and reads what a viewer of ems reads.
    let response = b.sign_in_response("claire@example.org", new_password, "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = cookie_value(&response, "kleber_session").unwrap();
    assert_eq!(b.catalog_ids(&format!("kleber_session={session}")).await, ["interne", "ouvert"]);

    // A new invitation replaces the previous one; an expired link is unknown.
    let first = invite(&dir, "dan@example.org", "ems", &server.base);
    let second = invite(&dir, "dan@example.org", "ems", &server.base);
    let first = String::from_utf8(first.stdout).unwrap().trim().replace(&server.base, "");
    let second = String::from_utf8(second.stdout).unwrap().trim().replace(&server.base, "");
    assert_eq!(b.get(&first, "").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(b.get(&second, "").await.status(), StatusCode::OK);
    let conn = rusqlite::Connection::open(dir.join("catalog.sqlite")).unwrap();
    conn.execute("UPDATE invitations SET expires_at = '2000-01-01T00:00:00+00:00'", []).unwrap();
    assert_eq!(b.get(&second, "").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(b.get("/invitation/not-a-token", "").await.status(), StatusCode::NOT_FOUND);
    let actions: Vec<String> = {
        let mut stmt = conn.prepare("SELECT action FROM audit_log ORDER BY id").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(actions.iter().filter(|a| *a == "user.invite").count(), 3, "{actions:?}");
    assert!(actions.contains(&"user.invitation.accept".to_owned()), "{actions:?}");
}
