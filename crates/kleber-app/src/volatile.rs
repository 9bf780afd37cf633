//! Whether a request's answer changes from call to call (`now()`, `random()`), decided once for
//! the conditional-request layer (no `ETag`) and the response cache (not kept).

/// Whether the query string calls a function whose result changes with time or chance.
///
/// Every parameter value is read (`where`, `select`, v1 `q`, ...); `name (` with spaces counts,
/// `snow(`, `` `now` `` and a bare `now` do not.
pub fn is_volatile(query: Option<&str>) -> bool {
    let Some(query) = query else { return false };
    form_urlencoded::parse(query.as_bytes()).any(|(_, value)| {
        let value = value.to_ascii_lowercase();
        ["now", "random"].iter().any(|name| calls(&value, name))
    })
}

/// Whether `text` contains `name(`, `name` not being the end of a longer identifier.
fn calls(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].trim_start();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '`')
            && after.starts_with('(')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_queries_are_recognised_whatever_the_spelling() {
        assert!(is_volatile(Some("where=date%20%3E%20now(days%3D-1)")));
        assert!(is_volatile(Some("where=date%20%3E%20NOW%20(days%3D-1)")));
        assert!(is_volatile(Some("order_by=RANDOM%20(1)")));
        assert!(is_volatile(Some("order_by=random()")));
        assert!(is_volatile(Some("select=random(1)%20as%20r")));
        assert!(is_volatile(Some("q=date%3E%23now(days%3D-1)")));
        assert!(!is_volatile(Some("where=known%3D1&select=snow(x)")));
        assert!(!is_volatile(Some("where=`now`%3D1")));
        assert!(!is_volatile(Some("select=now")));
        assert!(!is_volatile(Some("where=nowhere%3D%22x%22&order_by=randomness")));
        assert!(!is_volatile(Some("")));
        assert!(!is_volatile(None));
    }
}
