//! Which surface a request path belongs to: an API (JSON errors) or the portal (HTML pages),
//! and among APIs the legacy v1 surface (v1 error shape).

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// Whether `path` belongs to an API (whose errors must be JSON) rather than to HTML pages.
pub fn is_api_path(path: &str) -> bool {
    let mut parts = segments(path);
    match parts.next() {
        Some("api") => true,
        Some("explore") => {
            parts.next() == Some("dataset")
                && parts.next().is_some()
                && parts.next() == Some("download")
        }
        _ => false,
    }
}

/// Whether `path` belongs to the legacy v1 surface, whose errors have the v1 shape
/// (`{"errorcode", "error", "error_code"}`): `/api/records/1.0`, `/api/datasets/1.0` and
/// `/explore/dataset/{id}/download`.
pub fn is_v1_path(path: &str) -> bool {
    let parts: Vec<&str> = segments(path).take(3).collect();
    matches!(parts.as_slice(), ["api", "records" | "datasets", "1.0", ..])
        || (parts.first() == Some(&"explore") && is_api_path(path))
}

/// Whether `path` belongs to CKAN's Action API (`/api/3/action/*`, `/api/action/*`), whose
/// errors have CKAN's shape (`{"help", "success": false, "error": {"__type", ...}}`).
pub fn is_ckan_path(path: &str) -> bool {
    let parts: Vec<&str> = segments(path).take(3).collect();
    matches!(parts.as_slice(), ["api", "action", ..] | ["api", "3", "action", ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths() {
        assert!(is_api_path("/api/explore/v2.1/catalog"));
        assert!(is_api_path("/api/anything"));
        assert!(is_api_path("/explore/dataset/a/download/"));
        assert!(!is_api_path("/explore/dataset/a/"));
        assert!(!is_api_path("/explore/dataset/a/table"));
        assert!(!is_api_path("/"));
        assert!(!is_api_path("/apiary"));
        assert!(is_v1_path("/api/records/1.0/search/"));
        assert!(is_v1_path("/api/datasets/1.0/parkings"));
        assert!(is_v1_path("/explore/dataset/a/download"));
        assert!(!is_v1_path("/api/explore/v2.1/catalog"));
        assert!(!is_v1_path("/api/records/2.0/search"));
        assert!(!is_v1_path("/explore/dataset/a"));
        assert!(is_ckan_path("/api/3/action/package_show"));
        assert!(is_ckan_path("/api/action/package_list/"));
        assert!(is_ckan_path("/api/action"));
        assert!(!is_ckan_path("/api/2/action/package_show"));
        assert!(!is_ckan_path("/api/explore/v2.1/catalog"));
    }
}
