//! Whether a request's answer changes from call to call (`now()`, `random()`), decided once for
//! the conditional-request layer (no `ETag`) and the response cache (not kept).
//!
//! The decision is read from the parsed clauses ([`kleber_odsql::volatile`]), not from the
//! text, so a string or a field name that looks like a call does not count.

/// Whether the query string calls a function whose result changes with time or chance.
pub fn is_volatile(query: Option<&str>) -> bool {
    let Some(query) = query else { return false };
    form_urlencoded::parse(query.as_bytes())
        .any(|(name, value)| kleber_odsql::volatile::param_is_volatile(&name, &value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_queries_are_recognised_from_their_clauses() {
        assert!(is_volatile(Some("where=date%20%3E%20now(days%3D-1)")));
        assert!(is_volatile(Some("where=date%20%3E%20NOW%20(days%3D-1)")));
        assert!(is_volatile(Some("order_by=RANDOM%20(1)")));
        assert!(is_volatile(Some("order_by=random()")));
        assert!(is_volatile(Some("select=random(1)%20as%20r")));
        assert!(is_volatile(Some("q=date%3E%23now(days%3D-1)")));
        assert!(!is_volatile(Some("where=known%3D1&select=snow(x)")));
        assert!(!is_volatile(Some("where=`now`%3D1")));
        assert!(!is_volatile(Some("where=nom%3D%22now()%22")));
        assert!(!is_volatile(Some("select=now")));
        assert!(!is_volatile(Some("where=nowhere%3D%22x%22&order_by=randomness")));
        assert!(!is_volatile(Some("")));
        assert!(!is_volatile(None));
    }
}
