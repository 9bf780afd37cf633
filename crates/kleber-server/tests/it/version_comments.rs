//! A publisher's comment on a version (docs/versions.md#comments) on a real server: written
//! at publication (`kleber import --comment`, the management API's upload, the back office's
//! publish form), edited afterwards (`PUT .../versions/{n}/comment`, the back office, `kleber
//! versions comment`), shown wherever versions are listed (Explore `/versions`, the management
//! list, the portal's Versions tab, the Atom feed), refused with a clear error that changes
//! nothing when too long, holding a control character or aimed at an unknown version, and
//! written by a dataset's editors only, without telling others whether a private dataset
//! exists.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use kleber_app::accounts::{Accounts, operator};
use kleber_store::{Role, Scope, Store, Visibility};
use serde_json::{Value, json};

use crate::common::{TestServer, import};
use crate::forms::{Browser, PASSWORD, unescape};

const M: &str = "/api/management/v1";
const EXPLORE: &str = "/api/explore/v2.1/catalog/datasets";
const COMMENT: &str = "Correction des coordonnées de 3 stations";

struct Fixture {
    server: TestServer,
    /// Editor of `ems` (read and write).
    editor: String,
    /// The same editor's key without the write scope.
    read_only: String,
    /// Viewer of `ems` (every scope, but the viewer role).
    viewer: String,
    /// Admin of another organization.
    other: String,
}

fn csv(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("csv");
    path
}

/// Organization `ems` with a public dataset `velhop` (versions 1 and 2) and a restricted one
/// `interne`; organization `autre`; an editor (who can sign in), a viewer and an outsider.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    let v1 = csv(files.path(), "v1.csv", "station;velos\nGare;12\nHalles;4\n");
    import(&path, &v1, "velhop", Default::default());
    let v2 = csv(files.path(), "v2.csv", "station;velos\nGare;10\nHalles;4\nEtoile;7\n");
    import(&path, &v2, "velhop", Default::default());
    import(&path, &v1, "interne", Default::default());
    let accounts = Accounts::new(Arc::new(Store::open(&path).expect("store")));
    let op = operator();
    crate::common::create_orgs(&accounts, &[("ems", "Eurométropole"), ("autre", "Autre")]);
    for d in ["velhop", "interne"] {
        accounts.set_dataset_org(&op, d, "ems").expect("org");
    }
    accounts.set_visibility(&op, "interne", Visibility::Restricted).expect("restricted");
    for (email, org, role) in [
        ("editor@ems.example", "ems", Role::Editor),
        ("viewer@ems.example", "ems", Role::Viewer),
        ("other@autre.example", "autre", Role::Admin),
    ] {
        accounts.create_user(&op, email, None, false, Some(PASSWORD)).expect("user");
        accounts.set_member(&op, org, email, role).expect("member");
    }
    let key = |email: &str, scopes: &[Scope]| {
        accounts.create_key(&op, email, "tests", scopes, None).expect("key").key
    };
    let all = [Scope::Read, Scope::Write, Scope::Admin];
    let fixture = Fixture {
        editor: key("editor@ems.example", &[Scope::Read, Scope::Write]),
        read_only: key("editor@ems.example", &[Scope::Read]),
        viewer: key("viewer@ems.example", &all),
        other: key("other@autre.example", &all),
        server: TestServer::start(dir).await,
    };
    drop(accounts);
    fixture
}

impl Fixture {
    /// `method path` with `key` (none: anonymous) and a JSON or raw body: status and JSON.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, Value) {
        let mut request = self.server.client.request(method, format!("{}{path}", self.server.base));
        if let Some(key) = key {
            request = request.header("authorization", format!("Apikey {key}"));
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// `PUT` the comment `body` of version `n` of `id` as `key`.
    async fn put_comment(&self, id: &str, n: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        let path = format!("{M}/datasets/{id}/versions/{n}/comment");
        self.call(reqwest::Method::PUT, &path, key, Some(body.to_string().into_bytes())).await
    }

    /// Each version's comment in the Explore API's list, newest first.
    async fn explore_comments(&self, id: &str) -> Vec<Value> {
        let list = self.server.json(&format!("{EXPLORE}/{id}/versions"), 200).await;
        list["results"].as_array().expect("results").iter().map(|v| v["comment"].clone()).collect()
    }

    /// Each version's comment in the management API's list, newest first.
    async fn managed_comments(&self, id: &str) -> Vec<Value> {
        let path = format!("{M}/datasets/{id}/versions");
        let (status, list) = self.call(reqwest::Method::GET, &path, Some(&self.editor), None).await;
        assert_eq!(status, 200, "{list}");
        list.as_array().expect("list").iter().map(|v| v["comment"].clone()).collect()
    }

    /// Uploads `text` as a CSV file as the editor: the upload's id.
    async fn upload(&self, text: &str) -> String {
        let path = format!("{M}/uploads?filename=v3.csv");
        let (status, up) = self
            .call(reqwest::Method::POST, &path, Some(&self.editor), Some(text.as_bytes().to_vec()))
            .await;
        assert_eq!(status, 201, "{up}");
        up["upload_id"].as_str().expect("upload id").to_owned()
    }
}

#[tokio::test]
async fn a_comment_given_at_upload_shows_in_explore_and_management_lists() {
    let f = fixture().await;
    assert_eq!(f.explore_comments("velhop").await, [Value::Null, Value::Null]);
    let upload = f.upload("station;velos\nGare;10\nHalles;5\nEtoile;7\n").await;
    let body = json!({"upload": upload, "comment": format!("  {COMMENT} ")});
    let (status, published) = f
        .call(
            reqwest::Method::POST,
            &format!("{M}/datasets/velhop/versions"),
            Some(&f.editor),
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 201, "{published}");
    assert_eq!(published["version"], 3);
    // Trimmed, on the new version only.
    let expected = [json!(COMMENT), Value::Null, Value::Null];
    assert_eq!(f.explore_comments("velhop").await, expected);
    assert_eq!(f.managed_comments("velhop").await, expected);
    // The dataset's Atom feed says it in the version's entry.
    let (status, _, atom) = f.server.get(&format!("{EXPLORE}/velhop/versions.atom")).await;
    assert_eq!(status, 200);
    assert!(atom.contains(&format!("Comment: {COMMENT}")), "{atom}");
}

#[tokio::test]
async fn an_edit_changes_the_comment_and_the_versions_etag() {
    let f = fixture().await;
    let path = format!("{EXPLORE}/velhop/versions");
    let etag = |r: &reqwest::Response| {
        r.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    let before = f.server.client.get(format!("{}{path}", f.server.base)).send().await.unwrap();
    let tag_before = etag(&before);
    assert!(!tag_before.is_empty(), "the list is tagged");

    let (status, v) =
        f.put_comment("velhop", "1", Some(&f.editor), json!({"comment": COMMENT})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["number"].clone(), v["comment"].clone()), (json!(1), json!(COMMENT)));
    assert_eq!(f.explore_comments("velhop").await, [Value::Null, json!(COMMENT)]);
    assert_eq!(f.managed_comments("velhop").await, [Value::Null, json!(COMMENT)]);
    // A client revalidating its copy gets the new list, not a 304.
    let after = f
        .server
        .client
        .get(format!("{}{path}", f.server.base))
        .header("if-none-match", &tag_before)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 200);
    assert_ne!(etag(&after), tag_before);

    // Fixed afterwards, then removed with null, then with a blank text.
    let fixed = "Correction des coordonnées de 4 stations";
    let (status, v) =
        f.put_comment("velhop", "1", Some(&f.editor), json!({"comment": fixed})).await;
    assert_eq!((status, v["comment"].clone()), (200, json!(fixed)));
    assert_eq!(f.explore_comments("velhop").await, [Value::Null, json!(fixed)]);
    let (status, v) = f.put_comment("velhop", "1", Some(&f.editor), json!({"comment": null})).await;
    assert_eq!((status, v["comment"].clone()), (200, Value::Null));
    let (status, v) = f.put_comment("velhop", "2", Some(&f.editor), json!({"comment": "x"})).await;
    assert_eq!((status, v["comment"].clone()), (200, json!("x")));
    let (status, v) = f.put_comment("velhop", "2", Some(&f.editor), json!({"comment": "  "})).await;
    assert_eq!((status, v["comment"].clone()), (200, Value::Null));
    assert_eq!(f.explore_comments("velhop").await, [Value::Null, Value::Null]);

    // Each edit is in the audit log, with who and which version.
    let store = Store::open(f.server.dir_path()).expect("store");
    let entries = store.catalog().audit(100).expect("audit");
    let comments: Vec<_> = entries.iter().filter(|e| e.action == "version.comment").collect();
    assert_eq!(comments.len(), 5, "{entries:?}");
    assert!(comments.iter().all(|e| e.target == "velhop" && e.details["organization"] == "ems"));
    assert!(comments.iter().any(|e| e.details["version"] == 1 && e.details["comment"] == fixed));
}

#[tokio::test]
async fn refused_comments_and_unknown_versions_change_nothing() {
    let f = fixture().await;
    let (status, _) =
        f.put_comment("velhop", "2", Some(&f.editor), json!({"comment": COMMENT})).await;
    assert_eq!(status, 200);
    let unchanged = [json!(COMMENT), Value::Null];

    // 500 characters (not bytes) are accepted; 501 are not.
    let longest: String = "é".repeat(500);
    let (status, v) =
        f.put_comment("velhop", "1", Some(&f.editor), json!({"comment": longest})).await;
    assert_eq!((status, v["comment"].clone()), (200, json!(longest)), "{v}");
    let (status, _) = f.put_comment("velhop", "1", Some(&f.editor), json!({"comment": null})).await;
    assert_eq!(status, 200);
    let too_long = "é".repeat(501);
    let (status, e) =
        f.put_comment("velhop", "2", Some(&f.editor), json!({"comment": too_long})).await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["error_code"], "InvalidRequestBody");
    let message = e["message"].as_str().expect("message");
    assert!(message.contains("501 characters") && message.contains("at most 500"), "{message}");

    // One line: a line break or a tab is refused, saying where.
    let (status, e) =
        f.put_comment("velhop", "2", Some(&f.editor), json!({"comment": "deux\nlignes"})).await;
    assert_eq!((status, e["error_code"].clone()), (400, json!("InvalidRequestBody")), "{e}");
    let message = e["message"].as_str().expect("message");
    assert!(message.contains("U+000A") && message.contains("character 5"), "{message}");

    // Not the expected body.
    for body in [json!({"comment": 3}), json!({"text": "x"}), json!(["x"])] {
        let (status, e) = f.put_comment("velhop", "2", Some(&f.editor), body.clone()).await;
        assert_eq!((status, e["error_code"].clone()), (400, json!("InvalidRequestBody")), "{body}");
    }
    let path = format!("{M}/datasets/velhop/versions/2/comment");
    let (status, e) =
        f.call(reqwest::Method::PUT, &path, Some(&f.editor), Some(b"{not json".to_vec())).await;
    assert_eq!((status, e["error_code"].clone()), (400, json!("InvalidRequestBody")), "{e}");

    // Unknown versions, named with the versions that exist; a version that is no number.
    let (status, e) = f.put_comment("velhop", "9", Some(&f.editor), json!({"comment": "x"})).await;
    assert_eq!((status, e["error_code"].clone()), (404, json!("VersionNotFound")), "{e}");
    let message = e["message"].as_str().expect("message");
    assert!(message.contains("no version 9") && message.contains("2, 1"), "{message}");
    let (status, e) =
        f.put_comment("velhop", "deux", Some(&f.editor), json!({"comment": "x"})).await;
    assert_eq!((status, e["error_code"].clone()), (400, json!("InvalidRESTParameterError")), "{e}");
    let (status, e) = f.put_comment("nope", "1", Some(&f.editor), json!({"comment": "x"})).await;
    assert_eq!((status, e["error_code"].clone()), (404, json!("DatasetNotFound")), "{e}");

    // An upload published with a refused comment publishes nothing.
    let upload = f.upload("station;velos\nGare;1\n").await;
    let body = json!({"upload": upload, "comment": "é".repeat(501)});
    let (status, e) = f
        .call(
            reqwest::Method::POST,
            &format!("{M}/datasets/velhop/versions"),
            Some(&f.editor),
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!((status, e["error_code"].clone()), (400, json!("InvalidRequestBody")), "{e}");

    assert_eq!(f.explore_comments("velhop").await, unchanged);
    assert_eq!(f.managed_comments("velhop").await, unchanged);

    // Archived: read-only, its comments too.
    let (status, _) = f
        .call(reqwest::Method::POST, &format!("{M}/datasets/velhop/archive"), Some(&f.editor), None)
        .await;
    assert_eq!(status, 200);
    let (status, e) = f.put_comment("velhop", "1", Some(&f.editor), json!({"comment": "x"})).await;
    assert_eq!((status, e["error_code"].clone()), (409, json!("Conflict")), "{e}");
    assert!(e["message"].as_str().unwrap_or_default().contains("unarchive"), "{e}");
    assert_eq!(f.explore_comments("velhop").await, unchanged);
}

#[tokio::test]
async fn only_editors_write_comments_and_others_cannot_tell_a_private_dataset_exists() {
    let f = fixture().await;
    let body = json!({"comment": "x"});
    // Anonymous: refused before anything is looked up.
    for id in ["velhop", "interne", "nope"] {
        let (status, e) = f.put_comment(id, "1", None, body.clone()).await;
        assert_eq!(
            (status, e["error_code"].clone()),
            (401, json!("AuthenticationRequired")),
            "{e}"
        );
    }
    // Another organization's admin: the restricted dataset answers as one that does not
    // exist (same status, code and message but for the identifier); the public one it
    // reads is refused.
    let (status, hidden) = f.put_comment("interne", "1", Some(&f.other), body.clone()).await;
    let (_, missing) = f.put_comment("nope", "1", Some(&f.other), body.clone()).await;
    assert_eq!(status, 404, "{hidden}");
    assert_eq!(hidden["error_code"], missing["error_code"]);
    assert_eq!(
        hidden["message"].as_str().unwrap_or_default().replace("interne", "ID"),
        missing["message"].as_str().unwrap_or_default().replace("nope", "ID")
    );
    // An unknown version of the hidden dataset tells nothing either.
    let (status, e) = f.put_comment("interne", "9", Some(&f.other), body.clone()).await;
    assert_eq!((status, e["error_code"].clone()), (404, json!("DatasetNotFound")), "{e}");
    let (status, e) = f.put_comment("velhop", "1", Some(&f.other), body.clone()).await;
    assert_eq!((status, e["error_code"].clone()), (403, json!("Forbidden")), "{e}");
    // A viewer of the organization reads both and may change neither; nor may a key
    // without the write scope.
    for id in ["velhop", "interne"] {
        for key in [&f.viewer, &f.read_only] {
            let (status, e) = f.put_comment(id, "1", Some(key), body.clone()).await;
            assert_eq!((status, e["error_code"].clone()), (403, json!("Forbidden")), "{id}: {e}");
        }
    }
    assert_eq!(f.explore_comments("velhop").await, [Value::Null, Value::Null]);
    // The editor may.
    let (status, _) = f.put_comment("interne", "1", Some(&f.editor), body.clone()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn html_in_a_comment_is_escaped_on_the_portal_and_in_the_feed() {
    let f = fixture().await;
    let hostile = "<script>alert(1)</script> & <b>gras</b>";
    let (status, _) =
        f.put_comment("velhop", "2", Some(&f.editor), json!({"comment": hostile})).await;
    assert_eq!(status, 200);
    let (status, _, html) = f.server.get("/explore/dataset/velhop/versions/").await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert(1)"), "the comment is not escaped");
    assert!(!html.contains("<b>gras</b>"), "the comment is not escaped");
    let cell = html
        .split("<td class=\"version-comment\">")
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .expect("the comment's cell");
    assert!(!cell.contains('<') && !cell.contains('>'), "{cell}");
    // (askama writes `&` as `&#38;`, which the shared `unescape` does not know.)
    assert_eq!(unescape(cell).replace("&#38;", "&"), hostile);
    // The Atom feed's summary is text: escaped as XML.
    let (_, _, atom) = f.server.get(&format!("{EXPLORE}/velhop/versions.atom")).await;
    assert!(atom.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;gras"), "{atom}");
    assert!(!atom.contains("<script>"), "{atom}");
}

#[tokio::test]
async fn the_back_office_writes_a_comment_at_publication_and_edits_it() {
    let f = fixture().await;
    let browser = Browser::new(&f.server.base);
    let editor = browser.sign_in("editor@ems.example").await;
    // The editor's own upload (made with their key), published from the metadata form.
    let upload = f.upload("station;velos\nGare;10\nHalles;5\nEtoile;7\n").await;
    let (status, page) =
        browser.get(&format!("/admin/datasets/velhop/metadata?upload={upload}"), &editor).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"comment\""), "no comment field");
    let fields = |comment: &'static str| {
        vec![
            ("upload", upload.clone()),
            ("title", "Vélhop".to_owned()),
            ("action", "publish".to_owned()),
            ("comment", comment.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let browser = &browser;
        let editor = &editor;
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            browser.post("/admin/datasets/velhop/metadata", editor, &borrowed).await
        }
    };
    // A comment with a line break is refused: the form says why, nothing is published.
    let refused = post(fields("deux\nlignes")).await;
    assert_eq!(refused.status().as_u16(), 400);
    let text = refused.text().await.expect("body");
    assert!(unescape(&text).contains("one line of text"), "{text}");
    assert_eq!(f.explore_comments("velhop").await.len(), 2);

    let published = post(fields(COMMENT)).await;
    assert_eq!(published.status().as_u16(), 303, "{:?}", published.text().await);
    assert_eq!(f.explore_comments("velhop").await, [json!(COMMENT), Value::Null, Value::Null]);

    // The edit page lists it, and its form changes it.
    let (status, page) = browser.get("/admin/datasets/velhop/", &editor).await;
    assert_eq!(status, 200);
    let table = page.split("id=\"bo-versions\"").nth(1).unwrap_or_default();
    assert!(unescape(table).contains(COMMENT), "the comment is not listed");
    let edited = browser
        .post("/admin/datasets/velhop/versions/1/comment", &editor, &[("comment", "Première")])
        .await;
    assert_eq!(edited.status().as_u16(), 303);
    assert_eq!(
        f.explore_comments("velhop").await,
        [json!(COMMENT), Value::Null, json!("Première")]
    );
    let long = "x".repeat(501);
    let refused = browser
        .post("/admin/datasets/velhop/versions/1/comment", &editor, &[("comment", &long)])
        .await;
    assert_eq!(refused.status().as_u16(), 400);
    let missing = browser
        .post("/admin/datasets/velhop/versions/7/comment", &editor, &[("comment", "x")])
        .await;
    assert_eq!(missing.status().as_u16(), 404);
    assert!(unescape(&missing.text().await.expect("body")).contains("no version 7"));
    assert_eq!(
        f.explore_comments("velhop").await,
        [json!(COMMENT), Value::Null, json!("Première")]
    );
}

fn kleber(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kleber"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("kleber runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_command_line_writes_lists_and_edits_comments() {
    let data = tempfile::tempdir().expect("tempdir");
    let files = tempfile::tempdir().expect("tempdir");
    let file = csv(files.path(), "m.csv", "station;velos\nGare;12\n");
    let path = file.to_str().expect("utf-8 path");
    let out = kleber(&["import", path, "--dataset", "mesures", "--comment", COMMENT], data.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A refused comment publishes nothing, and says so.
    let long = "x".repeat(501);
    let out = kleber(&["import", path, "--dataset", "mesures", "--comment", &long], data.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("at most 500") && err.contains("nothing was published"), "{err}");
    let out = kleber(&["import", path, "--dataset", "mesures"], data.path());
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = kleber(&["versions", "list", "mesures"], data.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].starts_with("2 (current)") && !lines[0].contains('"'), "{listed}");
    assert!(lines[1].starts_with('1') && lines[1].contains(&format!("{COMMENT:?}")), "{listed}");

    let out = kleber(&["versions", "comment", "mesures", "2", "Deuxième"], data.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = kleber(&["versions", "comment", "mesures", "1", "--clear"], data.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = kleber(&["versions", "comment", "mesures", "5", "x"], data.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("no version 5") && err.contains("2, 1"), "{err}");

    // What the command line wrote, the server serves.
    let server = TestServer::start(data).await;
    let list = server.json(&format!("{EXPLORE}/mesures/versions"), 200).await;
    let comments: Vec<Value> =
        list["results"].as_array().expect("results").iter().map(|v| v["comment"].clone()).collect();
    assert_eq!(comments, [json!("Deuxième"), Value::Null]);
}
