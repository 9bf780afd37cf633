//! Links that carry a page's state in their query string.
//!
//! Portal pages keep their whole state in the URL (`?q=velo&refine.theme=Mobilité&page=2`),
//! so every link is the current query with one change: a refinement added or removed, another
//! sort, another page. [`Query`] holds the pairs in order and builds those links.

/// A query string, as ordered pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (without `?`).
    pub fn parse(raw: &str) -> Query {
        Query { pairs: form_urlencoded::parse(raw.as_bytes()).into_owned().collect() }
    }

    /// A query from pairs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Query {
        Query { pairs }
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The last value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// True when `key` has the value `value`.
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.pairs.iter().any(|(k, v)| k == key && v == value)
    }

    /// The query without any value of the keys in `keys`.
    pub fn without(&self, keys: &[&str]) -> Query {
        Query {
            pairs: self
                .pairs
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// The query without the pair `key=value`.
    pub fn without_pair(&self, key: &str, value: &str) -> Query {
        Query {
            pairs: self.pairs.iter().filter(|(k, v)| !(k == key && v == value)).cloned().collect(),
        }
    }

    /// The query with `key` set to `value` (replacing its values).
    pub fn set(&self, key: &str, value: &str) -> Query {
        let mut q = self.without(&[key]);
        q.pairs.push((key.to_owned(), value.to_owned()));
        q
    }

    /// The query with one more pair.
    pub fn add(&self, key: &str, value: &str) -> Query {
        let mut q = self.clone();
        q.pairs.push((key.to_owned(), value.to_owned()));
        q
    }

    /// The pair toggled: removed if present, added otherwise.
    pub fn toggle(&self, key: &str, value: &str) -> Query {
        if self.has(key, value) { self.without_pair(key, value) } else { self.add(key, value) }
    }

    /// True when there is no pair.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The encoded query string, without `?`.
    pub fn encode(&self) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.pairs).finish()
    }

    /// `path`, followed by `?query` when the query is not empty.
    pub fn href(&self, path: &str) -> String {
        if self.pairs.is_empty() { path.to_owned() } else { format!("{path}?{}", self.encode()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_change_one_thing_and_keep_the_rest() {
        let q = Query::parse("q=v%C3%A9lo&refine.theme=Mobilit%C3%A9&page=3");
        assert_eq!(q.get("q"), Some("vélo"));
        let next = q.set("page", "4");
        assert_eq!(
            next.href("/explore/"),
            "/explore/?q=v%C3%A9lo&refine.theme=Mobilit%C3%A9&page=4"
        );
        let removed = q.toggle("refine.theme", "Mobilité").without(&["page"]);
        assert_eq!(removed.encode(), "q=v%C3%A9lo");
        assert_eq!(Query::default().href("/explore/"), "/explore/");
        assert!(q.toggle("refine.theme", "Culture").has("refine.theme", "Culture"));
    }
}
