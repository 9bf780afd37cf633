//! `GET /api/docs`: the portal's page documenting every API, rendered on the server from the
//! OpenAPI document ([`super::document`]): operations grouped by tag, their parameters,
//! answers and a `curl` example on this portal, in French or English. No script needed.

use axum::extract::RawQuery;
use axum::http::HeaderMap;
use axum::response::Response;
use kleber_web::api_docs::{ApiDocsPage, DocOperation, DocParam, DocTag, words};
use serde_json::Value;

use crate::http::PublicUrl;
use crate::http::resolve::Caller;
use crate::state::AppState;
use crate::web::errors::PageError;
use crate::web::{Framing, PageContext, page};

/// The page.
#[utoipa::path(get, path = "/api/docs", tag = "meta", security(()),
    responses((status = 200, description = "This document as a page (French or English)", content_type = "text/html")))]
pub async fn get_docs(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    base: PublicUrl,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let ctx = PageContext::new(&headers, raw.as_deref(), Some(&base), caller);
    let words = words(ctx.lang);
    let layout = ctx.layout(words.title, super::DOCS_PATH);
    let document = serde_json::from_str(super::document_json()).unwrap_or(Value::Null);
    let view = ApiDocsPage {
        layout,
        words,
        document_url: base.url(super::OPENAPI_PATH),
        tags: tags(&document, &base),
    };
    page(&state, &ctx, &view, Framing::SameOrigin)
}

/// The operations of `document` grouped by tag, in the order of its `tags`.
pub fn tags(document: &Value, base: &PublicUrl) -> Vec<DocTag> {
    let mut tags: Vec<DocTag> = document["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let name = text(&t["name"]);
            DocTag {
                anchor: anchor(&name),
                description: text(&t["description"]),
                name,
                operations: Vec::new(),
            }
        })
        .collect();
    let Some(paths) = document["paths"].as_object() else { return tags };
    for (path, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for (method, operation) in item {
            let tag = operation["tags"][0].as_str().unwrap_or("other");
            let at = match tags.iter().position(|t| t.name == tag) {
                Some(at) => at,
                None => {
                    tags.push(DocTag {
                        name: tag.to_owned(),
                        anchor: anchor(tag),
                        description: String::new(),
                        operations: Vec::new(),
                    });
                    tags.len() - 1
                }
            };
            tags[at].operations.push(operation_view(path, method, operation, base));
        }
    }
    tags.retain(|t| !t.operations.is_empty());
    tags
}

fn operation_view(path: &str, method: &str, operation: &Value, base: &PublicUrl) -> DocOperation {
    let params: Vec<DocParam> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| DocParam {
            name: text(&p["name"]),
            location: text(&p["in"]),
            kind: kind(&p["schema"]),
            required: p["required"].as_bool().unwrap_or(false),
            description: code_spans(&text(&p["description"])),
        })
        .collect();
    let responses = operation["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, r)| (status.clone(), text(&r["description"])))
        .collect();
    let method_upper = method.to_ascii_uppercase();
    let url = base.url(path);
    let example = if method_upper == "GET" {
        format!("curl '{url}'")
    } else {
        format!("curl -X {method_upper} '{url}'")
    };
    DocOperation {
        anchor: text(&operation["operationId"]),
        method: method_upper,
        path: path.to_owned(),
        summary: code_spans(&text(&operation["summary"])),
        description: code_spans(&text(&operation["description"])),
        params,
        responses,
        example,
    }
}

/// A parameter's type in words: `integer (-1..100, default 10)`, `one of en, fr`.
fn kind(schema: &Value) -> String {
    let mut out = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(types) => {
            types.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | ")
        }
        _ => "string".to_owned(),
    };
    let mut notes = Vec::new();
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(short).collect();
        notes.push(values.join(", "));
    }
    match (schema.get("minimum"), schema.get("maximum")) {
        (Some(min), Some(max)) => notes.push(format!("{min}..{max}")),
        (Some(min), None) => notes.push(format!("≥ {min}")),
        (None, Some(max)) => notes.push(format!("≤ {max}")),
        (None, None) => {}
    }
    if let Some(default) = schema.get("default") {
        notes.push(format!("default {}", short(default)));
    }
    if !notes.is_empty() {
        out = format!("{out} ({})", notes.join("; "));
    }
    out
}

fn short(value: &Value) -> String {
    match value {
        Value::String(s) => s.escape_default().to_string(),
        other => other.to_string(),
    }
}

/// `text` as HTML: escaped, and its Markdown code spans (`` `x` ``) as `<code>`.
pub fn code_spans(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut open = false;
    let closes = text.matches('`').count();
    let mut seen = 0;
    for c in text.chars() {
        match c {
            // An odd last backtick stays as it is.
            '`' if open || seen + 1 < closes => {
                seen += 1;
                out.push_str(if open { "</code>" } else { "<code>" });
                open = !open;
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn anchor(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::code_spans;

    #[test]
    fn code_spans_are_code_and_the_rest_is_escaped() {
        assert_eq!(
            code_spans("`facet:value` <b> & `x`"),
            "<code>facet:value</code> &lt;b&gt; &amp; <code>x</code>"
        );
        assert_eq!(code_spans("a ` b"), "a ` b");
        assert_eq!(code_spans("`a` ` b"), "<code>a</code> ` b");
    }
}
