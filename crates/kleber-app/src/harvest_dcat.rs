//! The DCAT-AP harvester: a catalog in Turtle, RDF/XML or JSON-LD (its syntax from the
//! `Content-Type`, else the URL's extension; parsed with `oxrdfio`), paged with Hydra (every
//! `hydra:next` or `hydra:nextPage` link is followed, each page once), turned into `Item`s
//! (docs/harvest.md#dcat-ap).
//!
//! A `dcat:Dataset` becomes a dataset: `dct:identifier` (else its IRI) is its id at the
//! source; `dct:title` and `dct:description` (French, else English, else any language),
//! `dcat:keyword` → `keyword`, `dcat:theme` (its `skos:prefLabel` when the catalog gives one,
//! else the IRI's last segment) → `theme`, `dct:publisher`'s `foaf:name` → `publisher`,
//! `dct:license` (of the dataset, else of a distribution) → `license`/`license_url`,
//! `dcat:landingPage` → `references`. A `dcat:Distribution` with a `dcat:downloadURL` (else an
//! `dcat:accessURL`) in a format Kleber reads (`dcat:mediaType`, `dct:format`, the URL's
//! extension) may be its data (the first one read is; the others are kept as links in the
//! provenance: they are the same data in other formats), one with a `downloadURL` in another
//! format is an attachment, one with only an `accessURL` is a link.
//! The harvest's query is a keyword filter: only datasets with that keyword (any case) are
//! taken.

use std::collections::{BTreeMap, BTreeSet};

use oxrdf::{NamedOrBlankNode, Term};
use oxrdfio::{RdfFormat, RdfParser};
use serde_json::{Map, Value};

use crate::harvest::{Fetcher, HarvestConfig, Item, MAX_PAGES, Resource, SourceFailure};

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const FOAF_NAME: &str = "http://xmlns.com/foaf/0.1/name";
const SKOS_PREF_LABEL: &str = "http://www.w3.org/2004/02/skos/core#prefLabel";
const RDFS_LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";
const HYDRA_NEXT: &[&str] =
    &["http://www.w3.org/ns/hydra/core#next", "http://www.w3.org/ns/hydra/core#nextPage"];
const ACCEPT: &str = "text/turtle, application/rdf+xml;q=0.9, application/ld+json;q=0.8";

/// A node: an IRI, a blank node (`_:` + its label), or a literal with its language.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Iri(String),
    Blank(String),
    Literal(String, Option<String>),
}

impl Node {
    fn key(&self) -> Option<String> {
        match self {
            Node::Iri(i) => Some(i.clone()),
            Node::Blank(b) => Some(format!("_:{b}")),
            Node::Literal(..) => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Node::Iri(s) | Node::Literal(s, _) => Some(s.as_str()),
            Node::Blank(_) => None,
        }
    }
}

/// One page's triples, by subject.
#[derive(Default)]
struct Graph {
    by_subject: BTreeMap<String, Vec<(String, Node)>>,
}

impl Graph {
    fn objects(&self, subject: &str, predicate: &str) -> Vec<&Node> {
        self.by_subject
            .get(subject)
            .into_iter()
            .flatten()
            .filter(|(p, _)| p == predicate)
            .map(|(_, o)| o)
            .collect()
    }

    /// The literal of `predicate` in French, else English, else without or in any language.
    fn literal(&self, subject: &str, predicate: &str) -> Option<String> {
        let all: Vec<(&str, Option<&str>)> = self
            .objects(subject, predicate)
            .into_iter()
            .filter_map(|n| match n {
                Node::Literal(v, l) => Some((v.as_str(), l.as_deref())),
                _ => None,
            })
            .collect();
        ["fr", "en", ""]
            .iter()
            .find_map(|want| {
                all.iter().find(|(_, l)| l.unwrap_or("").split('-').next() == Some(want))
            })
            .or_else(|| all.first())
            .map(|(v, _)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn iri(&self, subject: &str, predicate: &str) -> Option<String> {
        self.objects(subject, predicate).into_iter().find_map(|n| match n {
            Node::Iri(i) => Some(i.clone()),
            _ => None,
        })
    }

    fn has_type(&self, subject: &str, class: &str) -> bool {
        self.objects(subject, RDF_TYPE).iter().any(|n| matches!(n, Node::Iri(i) if i == class))
    }

    /// A label of `node`: its name or label in the graph, else its text.
    fn label(&self, node: &Node) -> Option<String> {
        if let Some(key) = node.key() {
            for p in [FOAF_NAME, SKOS_PREF_LABEL, RDFS_LABEL, &format!("{DCT}title")] {
                if let Some(l) = self.literal(&key, p) {
                    return Some(l);
                }
            }
        }
        node.text().map(str::to_owned)
    }
}

/// Which RDF syntax a page is in.
fn syntax(url: &str, content_type: Option<&str>) -> Result<RdfFormat, SourceFailure> {
    let media = content_type.and_then(|c| c.split(';').next()).map(str::trim).unwrap_or("");
    if let Some(f) = RdfFormat::from_media_type(media) {
        return Ok(f);
    }
    let ext = url::Url::parse(url)
        .ok()
        .and_then(|u| u.path().rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()));
    if let Some(f) = ext.as_deref().and_then(RdfFormat::from_extension) {
        return Ok(f);
    }
    Err(SourceFailure(format!(
        "{url} is not an RDF document (Content-Type {:?} and no .ttl, .rdf or .jsonld extension): give the address of a DCAT-AP catalog in Turtle, RDF/XML or JSON-LD",
        content_type.unwrap_or("none")
    )))
}

fn parse(url: &str, body: &[u8], format: RdfFormat) -> Result<Graph, SourceFailure> {
    let parser = RdfParser::from_format(format)
        .with_base_iri(url)
        .map_err(|e| SourceFailure(format!("{url}: {e}")))?;
    let mut graph = Graph::default();
    for quad in parser.for_slice(body) {
        let quad =
            quad.map_err(|e| SourceFailure(format!("{url} is not valid {}: {e}", format.name())))?;
        let subject = match quad.subject {
            NamedOrBlankNode::NamedNode(n) => n.into_string(),
            NamedOrBlankNode::BlankNode(b) => format!("_:{}", b.as_str()),
        };
        let object = match quad.object {
            Term::NamedNode(n) => Node::Iri(n.into_string()),
            Term::BlankNode(b) => Node::Blank(b.as_str().to_owned()),
            Term::Literal(l) => {
                Node::Literal(l.value().to_owned(), l.language().map(str::to_owned))
            }
            #[allow(unreachable_patterns)]
            _ => continue,
        };
        graph.by_subject.entry(subject).or_default().push((quad.predicate.into_string(), object));
    }
    Ok(graph)
}

/// The datasets of the catalog at `url` (every page) as items; no id is ever missing (a
/// catalog is not asked by id: ids not found among its datasets are reported missing).
pub(crate) async fn collect(
    fetcher: &Fetcher,
    url: &str,
    config: &HarvestConfig,
) -> Result<(Vec<Item>, Vec<String>), SourceFailure> {
    let mut items = Vec::new();
    let mut next = Some(url.trim().to_owned());
    let mut visited = BTreeSet::new();
    let mut pages = 0;
    while let Some(page) = next.take() {
        if !visited.insert(page.clone()) || pages >= MAX_PAGES {
            break;
        }
        pages += 1;
        let (status, body, content_type) = fetcher.document(&page, ACCEPT).await?;
        if !(200..300).contains(&status) {
            return Err(SourceFailure(format!("{page} answered HTTP {status}")));
        }
        let format = syntax(&page, content_type.as_deref())?;
        let graph = parse(&page, &body, format)?;
        let datasets: Vec<String> = graph
            .by_subject
            .keys()
            .filter(|s| graph.has_type(s, &format!("{DCAT}Dataset")))
            .cloned()
            .collect();
        if pages == 1
            && datasets.is_empty()
            && !graph.by_subject.keys().any(|s| graph.has_type(s, &format!("{DCAT}Catalog")))
        {
            return Err(SourceFailure(format!(
                "{page} holds no dcat:Catalog and no dcat:Dataset: not a DCAT-AP catalog"
            )));
        }
        for d in datasets {
            items.push(item(&graph, &d));
        }
        next = graph.by_subject.values().flatten().find_map(|(p, o)| match o {
            Node::Iri(i) if HYDRA_NEXT.contains(&p.as_str()) => Some(i.clone()),
            _ => None,
        });
    }
    if let Some(keyword) = config.query.as_deref().map(str::to_lowercase) {
        items.retain(|i| {
            i.metas
                .get("keyword")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|k| k.as_str().is_some_and(|k| k.to_lowercase() == keyword))
        });
    }
    let mut missing = Vec::new();
    if !config.ids.is_empty() {
        for id in &config.ids {
            if !items.iter().any(|i| &i.source_id == id) {
                missing.push(id.clone());
            }
        }
        items.retain(|i| config.ids.contains(&i.source_id));
    }
    Ok((items, missing))
}

/// The last segment of an IRI.
fn last_segment(iri: &str) -> String {
    iri.trim_end_matches('/').rsplit(['/', '#']).next().unwrap_or(iri).to_owned()
}

fn item(graph: &Graph, subject: &str) -> Item {
    let dct = |p: &str| format!("{DCT}{p}");
    let dcat = |p: &str| format!("{DCAT}{p}");
    let named = !subject.starts_with("_:");
    let source_id = graph
        .literal(subject, &dct("identifier"))
        .or_else(|| named.then(|| subject.to_owned()))
        .unwrap_or_default();
    let mut metas = Map::new();
    metas.insert(
        "title".to_owned(),
        Value::from(
            graph.literal(subject, &dct("title")).unwrap_or_else(|| last_segment(&source_id)),
        ),
    );
    if let Some(d) = graph.literal(subject, &dct("description")) {
        metas.insert("description".to_owned(), Value::from(crate::manage::render_markdown(&d)));
    }
    let mut keywords: Vec<String> = Vec::new();
    for k in graph.objects(subject, &dcat("keyword")) {
        if let Node::Literal(v, _) = k
            && !keywords.contains(v)
        {
            keywords.push(v.clone());
        }
    }
    if !keywords.is_empty() {
        metas.insert("keyword".to_owned(), Value::from(keywords));
    }
    let themes: Vec<String> = graph
        .objects(subject, &dcat("theme"))
        .into_iter()
        .filter_map(|t| {
            let key = t.key()?;
            graph.literal(&key, SKOS_PREF_LABEL).or_else(|| t.text().map(last_segment))
        })
        .collect();
    if !themes.is_empty() {
        metas.insert("theme".to_owned(), Value::from(themes));
    }
    if let Some(p) = graph.objects(subject, &dct("publisher")).first().and_then(|n| graph.label(n))
    {
        metas.insert("publisher".to_owned(), Value::from(p));
    }
    if let Some(page) = graph.iri(subject, &dcat("landingPage")) {
        metas.insert("references".to_owned(), Value::from(page));
    }
    let mut licence = graph.objects(subject, &dct("license")).first().map(|n| (*n).clone());
    let mut data = Vec::new();
    let mut attachments = Vec::new();
    let mut links = Vec::new();
    for d in graph.objects(subject, &dcat("distribution")) {
        let Some(key) = d.key() else { continue };
        if licence.is_none() {
            licence = graph.objects(&key, &dct("license")).first().map(|n| (*n).clone());
        }
        let download = graph.iri(&key, &dcat("downloadURL"));
        let access = graph.iri(&key, &dcat("accessURL"));
        let format =
            graph.objects(&key, &dct("format")).first().and_then(|n| n.text().map(str::to_owned));
        let mimetype = graph
            .objects(&key, &dcat("mediaType"))
            .first()
            .and_then(|n| n.text().map(str::to_owned))
            .map(|m| m.split("media-types/").last().unwrap_or(&m).to_owned());
        let title = graph.literal(&key, &dct("title"));
        let Some(url) = download.clone().or(access) else { continue };
        let resource = Resource { url, title, format, mimetype };
        match (resource.readable(), download.is_some()) {
            (Some(_), _) => data.push(resource),
            (None, true) => attachments.push(resource),
            (None, false) => links.push(resource),
        }
    }
    if let Some(l) = licence {
        if let Some(label) = graph.label(&l) {
            metas.insert("license".to_owned(), Value::from(label));
        }
        if let Node::Iri(i) = l {
            metas.insert("license_url".to_owned(), Value::from(i));
        }
    }
    Item {
        source_url: named.then(|| subject.to_owned()),
        source_id,
        metas,
        data,
        attachments,
        links,
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turtle_dataset_and_its_distributions_become_an_item() {
        let ttl = r#"
@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<http://x/d1> a dcat:Dataset ; dct:identifier "d1" ; dct:title "Titre"@fr, "Title"@en ;
  dcat:keyword "parking", "mobilité" ; dct:publisher [ foaf:name "Ville" ] ;
  dcat:distribution <http://x/d1/csv>, <http://x/d1/pdf>, <http://x/d1/page> .
<http://x/d1/csv> a dcat:Distribution ; dcat:downloadURL <http://x/d1.csv> ;
  dcat:mediaType <http://www.iana.org/assignments/media-types/text/csv> ;
  dct:license <http://creativecommons.org/licenses/by/4.0/> .
<http://x/d1/pdf> a dcat:Distribution ; dcat:downloadURL <http://x/doc.pdf> .
<http://x/d1/page> a dcat:Distribution ; dcat:accessURL <http://x/app> .
"#;
        let g = parse("http://x/catalog.ttl", ttl.as_bytes(), RdfFormat::Turtle).unwrap();
        let i = item(&g, "http://x/d1");
        assert_eq!(i.source_id, "d1");
        assert_eq!(i.metas["title"], "Titre");
        assert_eq!(i.metas["publisher"], "Ville");
        assert_eq!(i.metas["keyword"], serde_json::json!(["parking", "mobilité"]));
        assert_eq!(i.metas["license_url"], "http://creativecommons.org/licenses/by/4.0/");
        assert_eq!(i.data.len(), 1);
        assert_eq!(i.data[0].url, "http://x/d1.csv");
        assert_eq!(i.attachments[0].url, "http://x/doc.pdf");
        assert_eq!(i.links[0].url, "http://x/app");
    }

    #[test]
    fn syntax_comes_from_the_content_type_then_the_extension() {
        assert_eq!(
            syntax("http://x/c", Some("text/turtle; charset=utf-8")).unwrap(),
            RdfFormat::Turtle
        );
        assert_eq!(
            syntax("http://x/c.rdf", Some("application/octet-stream")).unwrap(),
            RdfFormat::RdfXml
        );
        assert!(
            syntax("http://x/c", Some("text/html")).unwrap_err().0.contains("not an RDF document")
        );
    }
}
