//! The page's language: `?lang=fr|en` (remembered in a `lang` cookie), else the cookie, else
//! the browser's `Accept-Language`, else French.

use axum::http::{HeaderMap, HeaderValue, header};
use kleber_web::Lang;
use kleber_web::url::Query;

/// The language of a request, and the cookie to set when `?lang=` chose it.
pub fn negotiate(query: &Query, headers: &HeaderMap) -> (Lang, Option<HeaderValue>) {
    if let Some(lang) = query.get("lang").and_then(Lang::from_code) {
        let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.code());
        return (lang, HeaderValue::from_str(&cookie).ok());
    }
    if let Some(lang) = cookie_lang(headers) {
        return (lang, None);
    }
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    (Lang::negotiate(accept), None)
}

fn cookie_lang(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("lang="))
        .find_map(Lang::from_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_beats_cookie_beats_accept_language() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en-US,en;q=0.9"));
        assert_eq!(negotiate(&Query::default(), &headers).0, Lang::En);
        headers.insert(header::COOKIE, HeaderValue::from_static("x=1; lang=fr"));
        assert_eq!(negotiate(&Query::default(), &headers), (Lang::Fr, None));
        let (lang, cookie) = negotiate(&Query::parse("lang=en"), &headers);
        assert_eq!(lang, Lang::En);
        assert!(cookie.unwrap().to_str().unwrap().starts_with("lang=en;"));
        assert_eq!(negotiate(&Query::parse("lang=xx"), &HeaderMap::new()).0, Lang::Fr);
    }
}
