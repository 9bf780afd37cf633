//! Kleber's public portal, without HTTP: templates, messages, view models and static files.
//!
//! The portal's pages are rendered on the server, useful without JavaScript and enhanced by
//! it. This crate knows nothing of HTTP (only `kleber-server` does): the server reads the
//! request and the data, fills in a view model of [`pages`] (display-ready text and hrefs,
//! with the [`view::Layout`] every page shares), and calls [`render`], which returns the HTML.
//!
//! - **Templates** are askama templates in `templates/`, checked at compile time; every value
//!   is HTML-escaped unless a template says `|safe`, which only these take: a description
//!   sanitized by [`sanitize_html`], and JSON made script-safe by [`view::script_json`].
//! - **Messages** are the typed French and English catalogs of [`i18n`]; French is the default.
//! - **Static files** are in [`assets`]: our own CSS and JS (`assets/src/`), and Leaflet,
//!   Leaflet.markercluster and Chart.js, fetched from the npm registry at build time by
//!   `build.rs` (pinned by `assets/package-lock.json`, never committed), each served at a URL
//!   holding its content hash.
//! - **Formats**: numbers, dates and field labels the way each language writes them are in
//!   [`mod@format`]; [`geometry`] describes a shape in words (a line's length, an area).
//! - **URLs** carry the page's state in the query string; [`url::Query`] builds the links.

pub mod admin;
pub mod api_docs;
pub mod assets;
pub mod auth;
pub mod backoffice;
pub mod derive;
pub mod format;
pub mod geometry;
pub mod harvests;
pub mod i18n;
pub mod notifications;
pub mod pages;
pub mod portal_admin;
pub mod processors;
pub mod sources;
pub mod url;
pub mod view;
pub mod webhooks;

pub use askama::Template;
pub use i18n::{Lang, Messages};

/// A page could not be rendered (a bug: templates are checked at compile time, so this only
/// happens when formatting a value fails).
#[derive(Debug, thiserror::Error)]
#[error("cannot render the page: {0}")]
pub struct Error(#[from] askama::Error);

/// Renders a page of [`pages`].
pub fn render<T: askama::Template>(page: &T) -> Result<String, Error> {
    Ok(page.render()?)
}

/// Keeps the safe part of a publisher's HTML description: paragraphs, lists, emphasis, links
/// (opened with `rel="noopener noreferrer nofollow"`), nothing that runs or styles.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(html)
        .to_string()
}

/// The visible text of an HTML description, on one line, cut to about `max` characters at a
/// word boundary (with an ellipsis when cut).
pub fn plain_text(html: &str, max: usize) -> String {
    // Block ends become spaces, so that `<p>a</p><p>b</p>` stays two words.
    let mut spaced = html.to_owned();
    for tag in ["</p>", "</li>", "</div>", "<br", "</h", "</td>", "</tr>", "</dd>", "</dt>"] {
        spaced = spaced.replace(tag, &format!(" {tag}"));
    }
    let cleaned = ammonia::Builder::empty().clean(&spaced).to_string();
    let decoded = cleaned
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    let text = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_text_and_links_but_never_scripts() {
        let html = "<p onclick=\"x()\">Places <b>libres</b> &amp; <a href=\"javascript:alert(1)\">état</a></p><script>alert(1)</script><a href=\"https://x.org\">x</a>";
        let safe = sanitize_html(html);
        assert!(
            !safe.contains("script") && !safe.contains("onclick") && !safe.contains("javascript"),
            "{safe}"
        );
        assert!(
            safe.contains("<b>libres</b>") && safe.contains("href=\"https://x.org\""),
            "{safe}"
        );
        assert_eq!(plain_text(html, 200), "Places libres & état x");
        assert_eq!(plain_text("<p>un deux trois quatre</p>", 12), "un deux…");
    }
}
