//! An action's parameters, as CKAN reads them: the query string of a GET (a repeated name
//! is a list), or the JSON object (or form) of a POST. CKAN's GET clients send structured
//! values (`filters`, `facet.field`) as JSON text, so the accessors take both forms.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::shared::ckan_error::CkanError;

/// The parameters of one call.
#[derive(Debug, Default, Clone)]
pub(crate) struct Args(Map<String, Value>);

/// Pairs of a query string or form body, a repeated name becoming a list.
fn from_pairs(text: &[u8]) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, value) in form_urlencoded::parse(text) {
        let value = Value::String(value.into_owned());
        match map.get_mut(key.as_ref()) {
            None => {
                map.insert(key.into_owned(), value);
            }
            Some(Value::Array(items)) => items.push(value),
            Some(first) => {
                let first = first.take();
                map.insert(key.into_owned(), Value::Array(vec![first, value]));
            }
        }
    }
    map
}

impl Args {
    /// The parameters of a request: a POST's body (JSON object or form) when it has one,
    /// else the query string.
    pub(crate) fn parse(
        post: bool,
        content_type: Option<&str>,
        query: Option<&str>,
        body: &Bytes,
    ) -> Result<Args, CkanError> {
        let blank = body.iter().all(u8::is_ascii_whitespace);
        if !post || blank {
            return Ok(Args(from_pairs(query.unwrap_or_default().as_bytes())));
        }
        let form = content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
        let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if form && !looks_json {
            return Ok(Args(from_pairs(body)));
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Args(map)),
            Ok(other) => Err(CkanError::bad_request(format!(
                "JSON Error: Request data JSON decoded to {} but it needs to be a dictionary.",
                kind(&other)
            ))),
            Err(e) => {
                Err(CkanError::bad_request(format!("JSON Error: the body is not JSON ({e}).")))
            }
        }
    }

    /// Every parameter, in name order.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter()
    }

    /// The raw value of `name`, if given (a JSON `null` counts as not given).
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A text parameter (a number is taken as its text; a list is refused).
    pub(crate) fn str(&self, name: &str) -> Result<Option<String>, CkanError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(CkanError::validation(
                name,
                format!("Expected a string, found {}.", kind(other)),
            )),
        }
    }

    /// A required text parameter: CKAN's `Missing value` otherwise.
    pub(crate) fn required(&self, name: &str) -> Result<String, CkanError> {
        match self.str(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            _ => Err(CkanError::validation(name, "Missing value")),
        }
    }

    /// An integer parameter within `min..=max`.
    pub(crate) fn int(
        &self,
        name: &str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, CkanError> {
        let value = match self.get(name) {
            None => return Ok(default),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        match value {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            Some(n) => Err(CkanError::validation(
                name,
                format!("Must be an integer from {min} to {max}; {n} was given."),
            )),
            None => Err(CkanError::validation(name, "Invalid integer")),
        }
    }

    /// A boolean parameter (`true`/`false` in any case, `1`/`0`, `yes`/`no`, or JSON).
    pub(crate) fn bool(&self, name: &str, default: bool) -> Result<bool, CkanError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(true),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(false),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Ok(true),
                "false" | "0" | "no" | "off" | "" => Ok(false),
                _ => Err(CkanError::validation(name, format!("Not a boolean: {s:?}."))),
            },
            Some(other) => {
                Err(CkanError::validation(name, format!("Not a boolean: {}.", kind(other))))
            }
        }
    }

    /// A list of texts: a JSON list, a JSON list written as text, or text separated by commas.
    pub(crate) fn list(&self, name: &str) -> Result<Option<Vec<String>>, CkanError> {
        let items = match self.get(name) {
            None => return Ok(None),
            Some(Value::Array(items)) => items.clone(),
            Some(Value::String(s)) if s.trim_start().starts_with('[') => {
                match serde_json::from_str::<Value>(s) {
                    Ok(Value::Array(items)) => items,
                    _ => {
                        return Err(CkanError::validation(
                            name,
                            "Not a JSON list of strings.".to_owned(),
                        ));
                    }
                }
            }
            Some(Value::String(s)) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
            Some(other) => {
                return Err(CkanError::validation(
                    name,
                    format!("Expected a list of strings, found {}.", kind(other)),
                ));
            }
        };
        items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                other => Err(CkanError::validation(
                    name,
                    format!("Expected a list of strings, found an item that is {}.", kind(&other)),
                )),
            })
            .collect::<Result<Vec<String>, CkanError>>()
            .map(Some)
    }

    /// An object parameter: a JSON object, or one written as JSON text.
    pub(crate) fn object(&self, name: &str) -> Result<Option<Map<String, Value>>, CkanError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map.clone())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(map)) => Ok(Some(map)),
                _ => Err(CkanError::validation(name, "Not a JSON object.")),
            },
            Some(other) => Err(CkanError::validation(
                name,
                format!("Expected a JSON object, found {}.", kind(other)),
            )),
        }
    }
}

/// What kind of JSON value `v` is, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(query: &str) -> Args {
        Args::parse(false, None, Some(query), &Bytes::new()).unwrap()
    }

    #[test]
    fn query_strings_and_bodies() {
        let a = get("q=a&facet.field=%5B%22tags%22%5D&rows=5&sort=name+asc&x=1&x=2");
        assert_eq!(a.str("q").unwrap().as_deref(), Some("a"));
        assert_eq!(a.list("facet.field").unwrap(), Some(vec!["tags".to_owned()]));
        assert_eq!(a.int("rows", 10, 0, 1000).unwrap(), 5);
        assert_eq!(a.list("x").unwrap(), Some(vec!["1".to_owned(), "2".to_owned()]));
        assert!(a.str("x").is_err());
        let body = Bytes::from_static(br#"{"id": "velib", "limit": 3, "filters": {"a": 1}}"#);
        let b = Args::parse(true, Some("application/json"), Some("ignored=1"), &body).unwrap();
        assert_eq!(b.required("id").unwrap(), "velib");
        assert_eq!(b.int("limit", 100, 0, 32000).unwrap(), 3);
        assert!(b.object("filters").unwrap().is_some());
        assert!(b.get("ignored").is_none());
        let form = Bytes::from_static(b"id=velib");
        let f = Args::parse(true, Some("application/x-www-form-urlencoded"), None, &form).unwrap();
        assert_eq!(f.required("id").unwrap(), "velib");
    }

    #[test]
    fn bad_values_are_validation_errors_naming_the_parameter() {
        let a = get("rows=many&include_private=perhaps&filters=%5B1%5D");
        for e in [
            a.int("rows", 10, 0, 1000).unwrap_err(),
            a.bool("include_private", false).unwrap_err(),
            a.object("filters").unwrap_err(),
            a.required("id").unwrap_err(),
        ] {
            assert_eq!(e.status, 409, "{e:?}");
            assert_eq!(e.error["__type"], "Validation Error");
        }
        assert!(get("rows=1001").int("rows", 10, 0, 1000).is_err());
        for body in [&b"[1]"[..], b"{not json", b"\"text\""] {
            let e =
                Args::parse(true, Some("application/json"), None, &Bytes::copy_from_slice(body))
                    .unwrap_err();
            assert_eq!(e.status, 400);
            assert!(e.message().starts_with("Bad request - JSON Error"), "{}", e.message());
        }
    }
}
