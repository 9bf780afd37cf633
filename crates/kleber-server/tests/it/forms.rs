//! Helpers of the tests that sign in and post the portal's forms: cookies, the CSRF token of
//! a page's form, and form bodies.

use reqwest::Response;

/// The value of cookie `name` set by `response`.
pub(crate) fn cookie_value(response: &Response, name: &str) -> Option<String> {
    response.headers().get_all("set-cookie").iter().find_map(|v| {
        let first = v.to_str().ok()?.split(';').next()?;
        let (n, value) = first.split_once('=')?;
        (n == name).then(|| value.to_owned())
    })
}

/// The CSRF token of the first form of `html`.
pub(crate) fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// `fields` as an `application/x-www-form-urlencoded` body.
pub(crate) fn form(fields: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (n, v) in fields {
        s.append_pair(n, v);
    }
    s.finish()
}

/// The password of every account the signed-in tests create.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// A signed-in session: its cookie and the CSRF token of its forms.
pub(crate) struct Signed {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

/// A browser of the portal at `base` that follows no redirect, so tests see each `Location`.
pub(crate) struct Browser {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
}

impl Browser {
    pub(crate) fn new(base: &str) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Browser { client, base: base.to_owned() }
    }

    /// GETs `path` as `who`: the status and the body.
    pub(crate) async fn get(&self, path: &str, who: &Signed) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("Cookie", &who.cookie)
            .send()
            .await
            .expect("GET");
        (response.status().as_u16(), response.text().await.expect("body"))
    }

    /// POSTs an urlencoded form from the portal's origin, with `csrf` as the token.
    pub(crate) async fn post_with(
        &self,
        path: &str,
        who: &Signed,
        csrf: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let mut all = vec![("csrf", csrf)];
        all.extend_from_slice(fields);
        self.client
            .post(format!("{}{path}", self.base))
            .header("Cookie", &who.cookie)
            .header("Origin", &self.base)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&all))
            .send()
            .await
            .expect("POST")
    }

    /// POSTs a form with `who`'s own CSRF token.
    pub(crate) async fn post(&self, path: &str, who: &Signed, fields: &[(&str, &str)]) -> Response {
        self.post_with(path, who, &who.csrf, fields).await
    }

    /// Signs `email` in with [`PASSWORD`] through the login form.
    pub(crate) async fn sign_in(&self, email: &str) -> Signed {
        let response = self.client.get(format!("{}/login/", self.base)).send().await.expect("GET");
        let token = cookie_value(&response, "kleber_csrf").expect("the csrf cookie");
        let response = self
            .client
            .post(format!("{}/login", self.base))
            .header("Cookie", format!("kleber_csrf={token}"))
            .header("Origin", &self.base)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf", &token), ("email", email), ("password", PASSWORD)]))
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER, "sign-in of {email}");
        let session = cookie_value(&response, "kleber_session").expect("the session cookie");
        let who = Signed { cookie: format!("kleber_session={session}"), csrf: String::new() };
        let (_, account) = self.get("/account/", &who).await;
        Signed { csrf: csrf_of(&account), ..who }
    }
}

/// The `Location` of `response`, or "".
pub(crate) fn location(response: &Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// The text of the element with id `id` (up to its closing tag), or "" when absent.
pub(crate) fn element<'a>(html: &'a str, id: &str) -> &'a str {
    let Some(at) = html.find(&format!("id=\"{id}\"")) else { return "" };
    let rest = &html[at..];
    let start = rest.find('>').map_or(0, |i| i + 1);
    let end = rest.find("</").unwrap_or(rest.len());
    &rest[start..end.max(start)]
}

/// `s` with the HTML escapes the templates write turned back into characters.
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
}
