//! The administration pages against a real server: who may open which page (others get the
//! missing page), every form's CSRF and origin checks, the changes each form makes and the
//! audit entries they write, the audit log's filters and pages, and invitations mailed
//! through a real SMTP server (aiosmtpd from PyPI) on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kleber_ingest::ImportOptions;
use kleber_store::{AuditFilter, NewOrganization, OrgKind, Role, Store, Visibility};
use reqwest::{Client, Response, StatusCode, redirect};

use crate::common::{TestServer, import};
use crate::forms::{cookie_value, csrf_of, form};

const PASSWORD: &str = "correct horse battery";
const ROOT: &str = "root@example.org";
const ADA: &str = "ada@example.org"; // ems admin
const EVE: &str = "eve@example.org"; // ems editor
const VIC: &str = "vic@example.org"; // ems viewer
const OSCAR: &str = "oscar@example.org"; // colmar admin
const NOBODY: &str = "nobody@example.org"; // no organization

fn accounts(dir: &Path) -> kleber_app::accounts::Accounts {
    kleber_app::accounts::Accounts::new(Arc::new(Store::open(dir).expect("store")))
}

fn org<'a>(id: &'a str, name: &'a str) -> NewOrganization<'a> {
    NewOrganization {
        id,
        name,
        kind: OrgKind::Metropolis,
        description: None,
        website: None,
        logo: None,
    }
}

/// Organizations `ems` (with a restricted dataset) and `colmar`, and one user per role.
fn fixture(dir: &Path) {
    let csv = dir.join("rows.csv");
    std::fs::write(&csv, "nom;valeur\nA;1\nB;2\n").unwrap();
    import(dir, &csv, "interne", ImportOptions::default());
    import(dir, &csv, "ouvert", ImportOptions::default());
    let a = accounts(dir);
    let op = kleber_app::accounts::operator();
    a.create_org(&op, &org("ems", "Eurométropole")).unwrap();
    a.create_org(&op, &org("colmar", "Ville de Colmar")).unwrap();
    a.set_dataset_org(&op, "interne", "ems").unwrap();
    a.set_visibility(&op, "interne", Visibility::Restricted).unwrap();
    for (email, admin) in
        [(ROOT, true), (ADA, false), (EVE, false), (VIC, false), (OSCAR, false), (NOBODY, false)]
    {
        a.create_user(&op, email, None, admin, Some(PASSWORD)).unwrap();
    }
    a.set_member(&op, "ems", ADA, Role::Admin).unwrap();
    a.set_member(&op, "ems", EVE, Role::Editor).unwrap();
    a.set_member(&op, "ems", VIC, Role::Viewer).unwrap();
    a.set_member(&op, "colmar", OSCAR, Role::Admin).unwrap();
}

async fn portal_with(
    configure: impl FnOnce(kleber_server::AppState) -> kleber_server::AppState,
) -> (TestServer, PathBuf, Client) {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path());
    let path = dir.path().to_path_buf();
    let server = TestServer::start_configured(
        dir,
        kleber_query::Limits::default(),
        std::time::Duration::from_secs(30),
        configure,
    )
    .await;
    let client = Client::builder().redirect(redirect::Policy::none()).build().unwrap();
    (server, path, client)
}

async fn portal() -> (TestServer, PathBuf, Client) {
    portal_with(|s| s).await
}

/// A signed-in browser: its session cookie and CSRF token.
struct Signed {
    cookie: String,
    csrf: String,
}

struct Browser<'a> {
    server: &'a TestServer,
    client: &'a Client,
}

impl Browser<'_> {
    async fn get(&self, path: &str, cookie: &str) -> Response {
        let mut request = self.client.get(format!("{}{path}", self.server.base));
        if !cookie.is_empty() {
            request = request.header("Cookie", cookie);
        }
        request.send().await.unwrap()
    }

    async fn page(&self, path: &str, who: Option<&Signed>) -> (u16, String) {
        let response = self.get(path, who.map_or("", |s| s.cookie.as_str())).await;
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn post_with(
        &self,
        path: &str,
        cookie: &str,
        body: &str,
        origin: Option<&str>,
    ) -> Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.server.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if !cookie.is_empty() {
            request = request.header("Cookie", cookie);
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().await.unwrap()
    }

    /// POSTs `fields` (and the session's CSRF token) from the portal's own origin.
    async fn post(&self, path: &str, who: &Signed, fields: &[(&str, &str)]) -> Response {
        let mut all = vec![("csrf", who.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_with(path, &who.cookie, &form(&all), Some(&self.server.base)).await
    }

    async fn sign_in(&self, email: &str) -> Signed {
        let response = self.get("/login/", "").await;
        let token = cookie_value(&response, "kleber_csrf").expect("the csrf cookie");
        let body = form(&[("csrf", &token), ("email", email), ("password", PASSWORD)]);
        let response = self
            .post_with("/login", &format!("kleber_csrf={token}"), &body, Some(&self.server.base))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {email}");
        let cookie =
            format!("kleber_session={}", cookie_value(&response, "kleber_session").unwrap());
        let account = self.get("/account/", &cookie).await;
        let csrf = csrf_of(&account.text().await.unwrap());
        Signed { cookie, csrf }
    }
}

fn location(response: &Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// Every audit entry, newest first.
fn audit(dir: &Path) -> Vec<kleber_store::AuditEntry> {
    let filter = AuditFilter { limit: 10_000, ..AuditFilter::default() };
    accounts(dir).audit_page(&filter).unwrap().1
}

fn user_id(dir: &Path, email: &str) -> i64 {
    accounts(dir).store().catalog().get_user(email).unwrap().unwrap().id
}

fn members(dir: &Path, org: &str) -> Vec<(String, Role)> {
    let a = accounts(dir);
    a.store().catalog().members(org).unwrap().into_iter().map(|(u, r)| (u.email, r)).collect()
}

const PAGES: [&str; 6] = [
    "/admin/",
    "/admin/audit/",
    "/admin/organizations/ems/",
    "/admin/organizations/colmar/",
    "/admin/organizations/",
    "/admin/users/",
];

#[tokio::test]
async fn each_role_opens_its_admin_pages_and_gets_the_missing_page_elsewhere() {
    let (server, _dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    // (who, expected status of each page of PAGES)
    let table: [(Option<&str>, [u16; 6]); 7] = [
        (None, [404, 404, 404, 404, 404, 404]),
        (Some(NOBODY), [404, 404, 404, 404, 404, 404]),
        (Some(VIC), [404, 404, 404, 404, 404, 404]),
        (Some(EVE), [404, 404, 404, 404, 404, 404]),
        (Some(ADA), [200, 200, 200, 404, 404, 404]),
        (Some(OSCAR), [200, 200, 404, 200, 404, 404]),
        (Some(ROOT), [200, 200, 200, 200, 200, 200]),
    ];
    for (who, expected) in table {
        let signed = match who {
            Some(email) => Some(b.sign_in(email).await),
            None => None,
        };
        // The missing page, as this caller sees it.
        let (status, missing) = b.page("/admin/no-such-page/", signed.as_ref()).await;
        assert_eq!(status, 404);
        for (path, want) in PAGES.iter().zip(expected) {
            let (status, body) = b.page(path, signed.as_ref()).await;
            assert_eq!(status, want, "{path} as {who:?}: {body}");
            if want == 404 {
                assert_eq!(body, missing, "{path} as {who:?}: not the missing page");
            } else {
                assert!(body.contains("<h1>"), "{path} as {who:?}: {body}");
            }
        }
        // The account page links the administration to admins only.
        if let Some(s) = &signed {
            let (_, account) = b.page("/account/", Some(s)).await;
            assert_eq!(
                account.contains("href=\"/admin/\""),
                expected[0] == 200,
                "account page of {who:?}"
            );
        }
    }
    // An organization admin's index lists their organization, a portal admin's the portal's
    // pages; an unknown organization is a missing page even for a portal admin.
    let ada = b.sign_in(ADA).await;
    let (_, index) = b.page("/admin/", Some(&ada)).await;
    assert!(index.contains("href=\"/admin/organizations/ems/\""), "{index}");
    assert!(!index.contains("/admin/users/") && !index.contains("colmar"), "{index}");
    let root = b.sign_in(ROOT).await;
    let (_, index) = b.page("/admin/?lang=en", Some(&root)).await;
    assert!(index.contains("href=\"/admin/users/\"") && index.contains("Portal administration"));
    assert_eq!(b.page("/admin/organizations/nope/", Some(&root)).await.0, 404);
    // API keys never open the pages (they are for sessions), even a portal admin's.
    let dir = server.stop();
    let key = {
        let a = accounts(dir.path());
        let scopes = [kleber_store::Scope::Read, kleber_store::Scope::Admin];
        a.create_key(&kleber_app::accounts::operator(), ROOT, "k", &scopes, None).unwrap().key
    };
    let server = TestServer::start(dir).await;
    for path in PAGES {
        let response =
            client.get(format!("{}{path}?apikey={key}", server.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path} with a key");
    }
}

#[tokio::test]
async fn an_organization_admin_manages_members_and_invitations_and_each_change_is_audited() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    let ada = b.sign_in(ADA).await;
    let ada_id = user_id(&dir, ADA);
    let org_page = "/admin/organizations/ems/";

    // The page shows members with their roles and the members' keys.
    let op = kleber_app::accounts::operator();
    let key =
        accounts(&dir).create_key(&op, EVE, "eve's script", &[kleber_store::Scope::Write], None);
    let key_id = key.unwrap().record.id;
    let (status, page) = b.page(&format!("{org_page}?lang=en"), Some(&ada)).await;
    assert_eq!(status, 200);
    for text in [EVE, VIC, ADA, "editor", "viewer", key_id.as_str(), "eve&#39;s script", "Members"]
    {
        assert!(page.contains(text), "{text} in the page");
    }
    assert!(!page.contains(OSCAR), "another organization's member");

    // Change a role.
    let response = b
        .post("/admin/organizations/ems/members/role", &ada, &[("email", VIC), ("role", "editor")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/organizations/ems/?saved=1");
    assert!(members(&dir, "ems").contains(&(VIC.to_owned(), Role::Editor)));
    let entry = &audit(&dir)[0];
    assert_eq!((entry.action.as_str(), entry.target.as_str()), ("member.set", "ems"));
    assert_eq!(entry.actor, format!("user:{ada_id}"));
    assert!(entry.via.as_deref().is_some_and(|v| v.starts_with("session:")), "{entry:?}");
    assert_eq!(entry.details["user"], VIC);

    // A bad role and a non-member are refused on the page, changing nothing.
    let before = audit(&dir).len();
    let response = b
        .post("/admin/organizations/ems/members/role", &ada, &[("email", VIC), ("role", "boss")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("administrateur, éditeur ou lecteur"));
    let response = b
        .post("/admin/organizations/ems/members/role", &ada, &[("email", OSCAR), ("role", "admin")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("is not a member of organization"));
    assert!(!members(&dir, "ems").iter().any(|(e, _)| e == OSCAR));
    assert_eq!(audit(&dir).len(), before, "refused forms write nothing");

    // Another organization's admin cannot touch ems: the missing page, nothing changed.
    let oscar = b.sign_in(OSCAR).await;
    let response =
        b.post("/admin/organizations/ems/members/remove", &oscar, &[("email", VIC)]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(members(&dir, "ems").iter().any(|(e, _)| e == VIC));

    // Remove a member.
    let response = b.post("/admin/organizations/ems/members/remove", &ada, &[("email", VIC)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!members(&dir, "ems").iter().any(|(e, _)| e == VIC));
    assert_eq!(audit(&dir)[0].action, "member.remove");

    // Invite: the link is shown once, works, and is listed as pending.
    let response = b
        .post(
            "/admin/organizations/ems/invitations",
            &ada,
            &[("email", "new@example.org"), ("role", "editor")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page = response.text().await.unwrap();
    let link = between(&page, "<code id=\"invitation-link\">", "</code>");
    assert!(link.starts_with(&format!("{}/invitation/", server.base)), "{link}");
    let path = link.trim_start_matches(&server.base).to_owned();
    assert_eq!(b.page(&path, None).await.0, 200, "the link opens the password form");
    let entry = &audit(&dir)[0];
    assert_eq!((entry.action.as_str(), entry.target.as_str()), ("user.invite", "new@example.org"));
    assert_eq!(entry.actor, format!("user:{ada_id}"));
    let (_, page) = b.page(org_page, Some(&ada)).await;
    let pending = between(&page, "<table id=\"invitations\">", "</table>");
    assert!(pending.contains("new@example.org") && pending.contains("éditeur"), "{pending}");
    assert!(!page.contains(link), "the link is shown once only");

    // Revoke it: the link stops working, the never-signed-in user leaves the organization.
    let response = b
        .post("/admin/organizations/ems/invitations/revoke", &ada, &[("email", "new@example.org")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.page(&path, None).await.0, 404);
    assert!(!members(&dir, "ems").iter().any(|(e, _)| e == "new@example.org"));
    let entry = &audit(&dir)[0];
    assert_eq!(entry.action, "user.invitation.revoke");
    assert_eq!(entry.details["organization"], "ems");
    // Revoking again: nothing to revoke, the missing page.
    let response = b
        .post("/admin/organizations/ems/invitations/revoke", &ada, &[("email", "new@example.org")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // An invitation to a bad address is refused with the reason.
    let response = b
        .post(
            "/admin/organizations/ems/invitations",
            &ada,
            &[("email", "not-an-address"), ("role", "viewer")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("invalid email"));

    // Ada reads her organization's entries in the audit log, not colmar's.
    accounts(&dir).set_member(&op, "colmar", NOBODY, Role::Viewer).unwrap();
    let (status, log) = b.page("/admin/audit/", Some(&ada)).await;
    assert_eq!(status, 200);
    let rows = between(&log, "<tbody>", "</tbody>");
    assert!(rows.contains("user.invitation.revoke") && rows.contains("member.remove"), "{rows}");
    assert!(!rows.contains("colmar") && !rows.contains(NOBODY), "{rows}");
}

#[tokio::test]
async fn a_portal_admin_creates_and_edits_organizations_and_manages_users() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    let root = b.sign_in(ROOT).await;
    let root_id = user_id(&dir, ROOT);
    let fields = [
        ("id", "ville-selestat"),
        ("name", "Ville de Sélestat"),
        ("kind", "commune"),
        ("description", "Une commune d'Alsace."),
        ("website", "https://www.selestat.fr/"),
    ];
    let response = b.post("/admin/organizations", &root, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/organizations/ville-selestat/?saved=1");
    let created = accounts(&dir).store().catalog().get_org("ville-selestat").unwrap().unwrap();
    assert_eq!((created.name.as_str(), created.kind), ("Ville de Sélestat", OrgKind::Commune));
    assert_eq!(created.website.as_deref(), Some("https://www.selestat.fr/"));
    let entry = &audit(&dir)[0];
    assert_eq!(
        (entry.action.as_str(), entry.actor.clone()),
        ("org.create", format!("user:{root_id}"))
    );
    let (status, page) = b.page("/admin/organizations/ville-selestat/?saved=1", Some(&root)).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"admin-saved\"") && page.contains("id=\"edit-org\""));

    // Refused: a duplicate, a bad identifier, a bad kind, a web address that is not one.
    let before = audit(&dir).len();
    for (fields, says) in [
        (vec![("id", "ems"), ("name", "X"), ("kind", "commune")], "already exists"),
        (vec![("id", "Bad Id"), ("name", "X"), ("kind", "commune")], "Bad Id"),
        (vec![("id", "x-y"), ("name", "X"), ("kind", "empire")], "type d&#39;organisation"),
        (
            vec![
                ("id", "x-y"),
                ("name", "X"),
                ("kind", "commune"),
                ("website", "javascript:alert(1)"),
            ],
            "not a web address",
        ),
    ] {
        let response = b.post("/admin/organizations", &root, &fields).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{fields:?}");
        let body = response.text().await.unwrap();
        assert!(body.contains(says), "{fields:?}: {says} in {body}");
    }
    assert_eq!(audit(&dir).len(), before);
    assert!(accounts(&dir).store().catalog().get_org("x-y").unwrap().is_none());

    // Edit.
    let edit = [("name", "Sélestat"), ("kind", "city"), ("description", ""), ("website", "")];
    let response = b.post("/admin/organizations/ville-selestat/edit", &root, &edit).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let edited = accounts(&dir).store().catalog().get_org("ville-selestat").unwrap().unwrap();
    assert_eq!((edited.name.as_str(), edited.kind), ("Sélestat", OrgKind::City));
    assert_eq!((edited.description, edited.website), (None, None));
    assert_eq!(audit(&dir)[0].action, "org.update");
    // An organization admin may not edit or create organizations.
    let ada = b.sign_in(ADA).await;
    let response = b.post("/admin/organizations/ems/edit", &ada, &edit).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = b.post("/admin/organizations", &ada, &fields).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        accounts(&dir).store().catalog().get_org("ems").unwrap().unwrap().name,
        "Eurométropole"
    );

    // Users: make Eve admin, then disable Nobody, whose session ends at once.
    let nobody = b.sign_in(NOBODY).await;
    assert_eq!(b.page("/account/", Some(&nobody)).await.0, 200);
    let response = b.post("/admin/users/admin", &root, &[("email", EVE), ("admin", "true")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(accounts(&dir).store().catalog().get_user(EVE).unwrap().unwrap().admin);
    assert_eq!(audit(&dir)[0].action, "user.admin");
    let response = b.post("/admin/users/disable", &root, &[("email", NOBODY)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(accounts(&dir).store().catalog().get_user(NOBODY).unwrap().unwrap().disabled);
    assert_eq!(audit(&dir)[0].action, "user.disable");
    assert_eq!(b.get("/account/", &nobody.cookie).await.status(), StatusCode::SEE_OTHER);
    let (_, users) = b.page("/admin/users/?lang=en", Some(&root)).await;
    let row = between(&users, NOBODY, "</tr>");
    assert!(row.contains("disabled"), "{row}");

    // A portal admin cannot disable themself nor drop their own flag.
    let before = audit(&dir).len();
    let response = b.post("/admin/users/disable", &root, &[("email", ROOT)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("your own account"));
    let response =
        b.post("/admin/users/admin", &root, &[("email", ROOT), ("admin", "false")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(audit(&dir).len(), before);
    // Nor may anyone else use these forms.
    let response = b.post("/admin/users/disable", &ada, &[("email", VIC)]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!accounts(&dir).store().catalog().get_user(VIC).unwrap().unwrap().disabled);
}

/// Every form of the administration pages: (path, fields).
const FORMS: [(&str, &[(&str, &str)]); 9] = [
    ("/admin/organizations", &[("id", "neuve"), ("name", "Neuve"), ("kind", "commune")]),
    ("/admin/organizations/ems/edit", &[("name", "Changé"), ("kind", "city")]),
    ("/admin/organizations/ems/members/role", &[("email", VIC), ("role", "admin")]),
    ("/admin/organizations/ems/members/remove", &[("email", VIC)]),
    ("/admin/organizations/ems/invitations", &[("email", "z@example.org"), ("role", "viewer")]),
    ("/admin/organizations/ems/invitations/revoke", &[("email", VIC)]),
    ("/admin/users/disable", &[("email", VIC)]),
    ("/admin/users/admin", &[("email", VIC), ("admin", "true")]),
    ("/admin/organizations/colmar/members/remove", &[("email", OSCAR)]),
];

#[tokio::test]
async fn every_admin_form_refuses_a_missing_or_wrong_csrf_token_or_another_origin() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    let root = b.sign_in(ROOT).await;
    let other = b.sign_in(ADA).await;
    let before = audit(&dir).len();
    for (path, fields) in FORMS {
        let with = |csrf: &str| {
            let mut all = vec![("csrf", csrf)];
            all.extend_from_slice(fields);
            form(&all)
        };
        let cases = [
            ("no token", form(fields), Some(server.base.clone())),
            ("empty token", with(""), Some(server.base.clone())),
            ("another session's token", with(&other.csrf), Some(server.base.clone())),
            ("another origin", with(&root.csrf), Some("https://evil.example".to_owned())),
            ("no origin", with(&root.csrf), None),
        ];
        for (what, body, origin) in cases {
            let response = b.post_with(path, &root.cookie, &body, origin.as_deref()).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} with {what}");
        }
    }
    // Nothing was changed, and the session's own token is accepted (the forms work).
    assert_eq!(audit(&dir).len(), before, "a refused form writes nothing");
    assert!(members(&dir, "ems").iter().any(|(e, r)| e == VIC && *r == Role::Viewer));
    let response = b.post(FORMS[2].0, &root, FORMS[2].1).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_audit_page_filters_by_who_action_organization_and_date_and_pages() {
    let (server, dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    let op = kleber_app::accounts::operator();
    let a = accounts(&dir);
    // 60 role changes in colmar: more than a page.
    for n in 0..60 {
        let role = if n % 2 == 0 { Role::Editor } else { Role::Viewer };
        a.set_member(&op, "colmar", NOBODY, role).unwrap();
    }
    let root = b.sign_in(ROOT).await;
    let total = audit(&dir).len();
    let (status, page) = b.page("/admin/audit/?lang=en", Some(&root)).await;
    assert_eq!(status, 200);
    assert!(page.contains("You read every entry"), "English");
    assert!(page.contains(&format!("<p id=\"audit-total\">{total} entries</p>")), "{total}");
    assert_eq!(between(&page, "<tbody>", "</tbody>").matches("<tr>").count(), 50);
    assert!(page.contains("href=\"/admin/audit/?page=2\""), "a next page");
    let (_, second) = b.page("/admin/audit/?page=2", Some(&root)).await;
    assert_eq!(between(&second, "<tbody>", "</tbody>").matches("<tr>").count(), total - 50);
    assert!(second.contains("href=\"/admin/audit/\"") && !second.contains("page=3"));

    // Filters: action and organization together, the actor, dates.
    let (_, page) = b.page("/admin/audit/?action=member.set&org=colmar", Some(&root)).await;
    let expected =
        audit(&dir).iter().filter(|e| e.action == "member.set" && e.target == "colmar").count();
    assert_eq!(expected, 61, "60 changes and Oscar's membership");
    assert!(page.contains(&format!("<p id=\"audit-total\">{expected} entr")), "{expected}");
    assert!(
        page.contains("href=\"/admin/audit/?action=member.set&#38;org=colmar&#38;page=2\""),
        "the next page keeps the filters: {}",
        between(&page, "<nav aria-label", "</nav>")
    );
    let who = format!(
        "operator:{}",
        std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".to_owned())
    );
    let (_, page) = b
        .page(
            &format!("/admin/audit/?actor={}&action=org.create", crate::common::enc(&who)),
            Some(&root),
        )
        .await;
    assert!(
        page.contains("<p id=\"audit-total\">2 entr"),
        "two organizations created by the operator"
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (_, page) = b.page(&format!("/admin/audit/?until={today}"), Some(&root)).await;
    assert!(page.contains("<p id=\"audit-total\">0 entr"), "nothing before today");
    let (status, page) = b.page("/admin/audit/?since=yesterday", Some(&root)).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("since") && page.contains("yesterday") && page.contains("id=\"admin-error\"")
    );
    assert_eq!(b.page("/admin/audit/?page=0", Some(&root)).await.0, 400);

    // Oscar administers colmar: he reads its entries only, and may not ask for ems's.
    let oscar = b.sign_in(OSCAR).await;
    let (_, page) = b.page("/admin/audit/", Some(&oscar)).await;
    let colmar = audit(&dir)
        .iter()
        .filter(|e| {
            e.target == "colmar"
                || e.details["org"] == "colmar"
                || e.details["organization"] == "colmar"
        })
        .count();
    assert!(
        page.contains(&format!("<p id=\"audit-total\">{colmar} entr")),
        "{colmar}: {}",
        between(&page, "audit-total", "</p>")
    );
    assert!(page.contains("Ville de Colmar") && !page.contains("Eurométropole"));
    let (status, page) = b.page("/admin/audit/?org=ems", Some(&oscar)).await;
    assert_eq!(status, 400);
    assert!(page.contains("You do not administer organization &#34;ems&#34;"), "{page}");
}

#[tokio::test]
async fn cards_link_organization_pages_and_the_home_page_counts_organizations() {
    let (server, _dir, client) = portal().await;
    let b = Browser { server: &server, client: &client };
    // Anonymous: the public dataset of the default organization only.
    let (_, home) = b.page("/", None).await;
    let count = between(&home, "<li id=\"count-publishers\">", "</li>");
    assert_eq!(count, "<strong>1</strong> organisation");
    let (_, catalog) = b.page("/explore/", None).await;
    assert!(catalog.contains("href=\"/organizations/default/\">default</a>"), "{catalog}");
    assert!(!catalog.contains("href=\"/publisher/"), "no card links the old publisher pages");
    // Vic, a viewer of ems, also sees its restricted dataset, and its organization.
    let vic = b.sign_in(VIC).await;
    let (_, home) = b.page("/?lang=en", Some(&vic)).await;
    let count = between(&home, "<li id=\"count-publishers\">", "</li>");
    assert_eq!(count, "<strong>2</strong> organizations");
    let (_, catalog) = b.page("/explore/", Some(&vic)).await;
    assert!(catalog.contains("href=\"/organizations/ems/\">Eurométropole</a>"), "{catalog}");
}

#[tokio::test]
async fn an_anonymous_bad_limit_on_the_audit_api_asks_for_credentials() {
    let (server, _dir, _client) = portal().await;
    for query in ["?limit=0", "?limit=abc", "?where=x"] {
        let v = server.json(&format!("/api/management/v1/audit{query}"), 401).await;
        assert_eq!(v["error_code"], "AuthenticationRequired", "{query}");
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let at = text.find(start).unwrap_or_else(|| panic!("{start} in the page")) + start.len();
    let rest = &text[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

fn python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/.venv/bin/python")
}

/// A mail as received.
#[derive(Debug)]
struct Mail {
    to: String,
    from: String,
    subject: String,
    body: String,
}

impl Mail {
    fn link(&self) -> String {
        let at = self.body.find("http://").expect("a link in the mail");
        self.body[at..].split_whitespace().next().unwrap().to_owned()
    }
}

/// A real SMTP server (aiosmtpd, from tests/clients/.venv) storing what it receives in a
/// Maildir; stopped when dropped.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let python = python();
        let probe = std::process::Command::new(&python).args(["-c", "import aiosmtpd"]).output();
        assert!(
            probe.is_ok_and(|o| o.status.success()),
            "aiosmtpd is missing from tests/clients/.venv: run scripts/install-test-deps.sh"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = tempfile::tempdir().unwrap();
        let child = std::process::Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed().as_secs() < 20, "aiosmtpd did not listen on {port}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        SmtpServer { child, port, maildir }
    }

    /// The messages received, waiting up to 10 s for `n`, read by Python's `email` package
    /// (headers decoded, body decoded from its transfer encoding).
    fn messages(&self, n: usize) -> Vec<Mail> {
        let new = self.maildir.path().join("box").join("new");
        let start = std::time::Instant::now();
        let files = loop {
            let found: Vec<PathBuf> = std::fs::read_dir(&new)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            if found.len() >= n || start.elapsed().as_secs() > 10 {
                break found;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let read = "import email, json, sys\nfrom email import policy\n\
                    m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)\n\
                    print(json.dumps([str(m['To']), str(m['From']), str(m['Subject']), m.get_content()]))";
        files
            .iter()
            .map(|file| {
                let out = std::process::Command::new(python())
                    .args(["-c", read])
                    .arg(file)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                let v: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
                Mail {
                    to: v[0].clone(),
                    from: v[1].clone(),
                    subject: v[2].clone(),
                    body: v[3].clone(),
                }
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn invitations_are_mailed_through_a_real_smtp_server_and_a_failure_is_only_reported() {
    let smtp = SmtpServer::start();
    let url = format!("smtp+plain://127.0.0.1:{}", smtp.port);
    let mailer = kleber_server::mail::Mailer::new(&url, "Portail <portail@example.org>").unwrap();
    let (server, dir, client) = portal_with(|s| s.with_mail(mailer)).await;
    let b = Browser { server: &server, client: &client };
    let ada = b.sign_in(ADA).await;
    let response = b
        .post(
            "/admin/organizations/ems/invitations?lang=en",
            &ada,
            &[("email", "mia@example.org"), ("role", "editor")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"invitation-mailed\""), "{page}");
    let shown = between(&page, "<code id=\"invitation-link\">", "</code>").to_owned();
    let messages = smtp.messages(1);
    assert_eq!(messages.len(), 1);
    let mail = &messages[0];
    assert_eq!(mail.to, "mia@example.org");
    assert_eq!(mail.from, "Portail <portail@example.org>");
    assert_eq!(mail.subject, "Invitation to Eurométropole on the open data portal");
    assert!(mail.body.contains("as editor"), "{}", mail.body);
    assert_eq!(mail.link(), shown, "the mail carries the link the admin sees");
    let path = shown.trim_start_matches(&server.base).to_owned();
    let (status, form) = b.page(&path, None).await;
    assert_eq!(status, 200, "the mailed link works");
    assert!(form.contains("mia@example.org"));

    // The command line mails too (in French by default).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(["user", "invite", "leo@example.org", "--org", "ems", "--role", "viewer"])
        .args(["--url", &server.base, "--smtp-url", &url, "--smtp-from", "portail@example.org"])
        .arg("--data-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let messages = smtp.messages(2);
    let mail = messages.iter().find(|m| m.to == "leo@example.org").expect("the CLI's mail");
    assert_eq!(mail.subject, "Invitation à rejoindre Eurométropole sur le portail open data");
    assert!(mail.body.contains("comme lecteur"), "{}", mail.body);
    assert_eq!(mail.link(), printed);
    assert_eq!(b.page(printed.trim_start_matches(&server.base), None).await.0, 200);

    // With the SMTP server gone, the invitation is still made and the failure said.
    drop(smtp);
    let response = b
        .post(
            "/admin/organizations/ems/invitations",
            &ada,
            &[("email", "zoe@example.org"), ("role", "viewer")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"invitation-mail-failed\""), "{page}");
    assert!(page.contains("id=\"invitation-link\""));
    assert!(audit(&dir).iter().any(|e| e.action == "user.invite" && e.target == "zoe@example.org"));
    // And bad mail flags are refused before anything is written.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(["user", "invite", "max@example.org", "--org", "ems", "--role", "viewer"])
        .args(["--smtp-url", &url])
        .arg("--data-dir")
        .arg(&dir)
        .env_remove("KLEBER_SMTP_FROM")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--smtp-from"));
    assert!(accounts(&dir).store().catalog().get_user("max@example.org").unwrap().is_none());
}
