//! The static files the portal serves under `/static/`: our own CSS and JS
//! (`assets/src/`) and the browser libraries fetched from npm at build time (see `build.rs`).
//!
//! Each file gets a URL with a content hash (`/static/app.3f2a9c1b.css`), so it can be cached
//! for a year and a new build is fetched at once. Leaflet's images keep their plain names
//! (`/static/images/marker-icon.png`), because Leaflet's CSS refers to them by name; they are
//! cached for a day.

use std::sync::LazyLock;

use sha1::{Digest, Sha1};

include!(concat!(env!("OUT_DIR"), "/vendor.rs"));

/// Our own files: (name, bytes).
const OWN: &[(&str, &[u8])] = &[
    ("app.css", include_bytes!("../assets/src/app.css")),
    ("app.js", include_bytes!("../assets/src/app.js")),
    ("map.js", include_bytes!("../assets/src/map.js")),
    ("chart.js", include_bytes!("../assets/src/chart.js")),
    ("backoffice.js", include_bytes!("../assets/src/backoffice.js")),
];

/// One static file.
#[derive(Debug)]
pub struct Asset {
    /// Its logical name (`app.css`, `images/marker-icon.png`).
    pub name: &'static str,
    /// Its content.
    pub bytes: &'static [u8],
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// The first 10 hexadecimal digits of the SHA-1 of its content.
    pub hash: String,
    /// The path it is served at.
    pub url: String,
    /// True when the URL holds the hash, so the file may be cached forever.
    pub immutable: bool,
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn build(name: &'static str, bytes: &'static [u8]) -> Asset {
    let digest = Sha1::digest(bytes);
    let hash: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    let immutable = !name.starts_with("images/");
    let url = if immutable {
        match name.rsplit_once('.') {
            Some((stem, ext)) => format!("/static/{stem}.{hash}.{ext}"),
            None => format!("/static/{name}.{hash}"),
        }
    } else {
        format!("/static/{name}")
    };
    Asset { name, bytes, content_type: content_type(name), hash, url, immutable }
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    OWN.iter().chain(VENDOR.iter()).map(|(name, bytes)| build(name, bytes)).collect()
});

/// Every static file.
pub fn all() -> &'static [Asset] {
    &ASSETS
}

/// The file served at `path` (the URL path, `/static/...`), if any.
pub fn by_url(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.url == path)
}

/// The current URL of the file named `name` (`app.css`), or `/static/<name>` if unknown.
pub fn url(name: &str) -> String {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map_or_else(|| format!("/static/{name}"), |a| a.url.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_hashed_url_and_a_type() {
        for name in ["app.css", "app.js", "leaflet.js", "chart.umd.min.js", "MarkerCluster.css"] {
            let url = url(name);
            let asset = by_url(&url).unwrap_or_else(|| panic!("{name} not served at {url}"));
            assert!(asset.immutable && url.contains(&asset.hash), "{url}");
            assert!(!asset.bytes.is_empty());
        }
        let icon = by_url("/static/images/marker-icon.png").expect("leaflet's marker icon");
        assert_eq!(icon.content_type, "image/png");
        assert!(!icon.immutable);
    }
}
