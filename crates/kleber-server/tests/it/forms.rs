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
