//! The catalog as DCAT-AP, the profile of DCAT that data.gouv.fr, data.europa.eu and the
//! national portals harvest.
//!
//! A front end describes what a caller may see as plain values ([`Catalog`], [`Dataset`],
//! [`Distribution`], [`DataService`], [`Page`]); [`graph`] turns them into an RDF graph with
//! `oxrdf` (never text templates), under one of two [`Profile`]s, and [`serialize`] writes it
//! in Turtle, RDF/XML, JSON-LD or N-Triples with `oxrdfio`.
//!
//! What each value becomes (docs/interoperability.md#datagouvfr--dataeuropaeu-dcat-ap):
//!
//! - every IRI-valued node is typed (`foaf:Agent`, `dct:LicenseDocument`, `skos:Concept`,
//!   `dct:Location`, ...) and every concept of a controlled vocabulary carries its
//!   `skos:prefLabel` and `skos:inScheme`, so SEMIC's range shapes pass without loading the EU
//!   vocabularies;
//! - the profiles differ where DCAT-AP changed: version info is `dcat:version` in 3.0 and
//!   `owl:versionInfo` in 2.1.1; High-Value Dataset tagging (`dcatap:hvdCategory`,
//!   `dcatap:applicableLegislation`) exists in 3.0 only;
//! - a page of a large catalog carries a `hydra:PartialCollectionView` (first, last, previous,
//!   next) and the `hydra:Collection` it belongs to, with its `hydra:totalItems`.
//!
//! This crate knows nothing of HTTP, the store or access rules: the caller gives only what
//! the requester may see.

pub mod vocab;

use std::fmt;

use oxrdf::{BlankNode, Graph, Literal, NamedNode, NamedOrBlankNode, Term, Triple};
use oxrdfio::{RdfFormat, RdfSerializer};

use vocab::{
    ADMS, DCAT, DCATAP, DCT, EU_AUTHORITY, FOAF, HYDRA, LOCN, OWL, PROV, RDF, RDFS, SKOS, VCARD,
    XSD,
};

/// A failure to describe the catalog: an address that is not an IRI (a bug of the caller:
/// addresses come from the portal's validated public URL and identifiers), or an I/O error
/// of the serialiser.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An address could not be made an IRI.
    #[error("{iri:?} is not an IRI: {reason}")]
    Iri {
        /// The text.
        iri: String,
        /// Why.
        reason: String,
    },
    /// The serialiser failed.
    #[error("RDF serialisation failed: {0}")]
    Serialize(#[from] std::io::Error),
}

/// This crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The DCAT-AP version a graph follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// DCAT-AP 3.0 (the default).
    #[default]
    V3,
    /// DCAT-AP 2.1.1, for harvesters not on 3.0 yet.
    V2_1_1,
}

impl Profile {
    /// The profile a `profile` parameter names: `3`, `3.0`, `3.0.1`, `dcat_ap_3`, or `2`,
    /// `2.1`, `2.1.1`, `dcat_ap_2.1.1`.
    pub fn from_name(name: &str) -> Option<Profile> {
        match name.trim_start_matches("dcat_ap_").trim_start_matches("dcat-ap-") {
            "3" | "3.0" | "3.0.0" | "3.0.1" => Some(Profile::V3),
            "2" | "2.1" | "2.1.1" => Some(Profile::V2_1_1),
            _ => None,
        }
    }

    /// The IRI of the specification the graph conforms to.
    pub fn specification(self) -> &'static str {
        match self {
            Profile::V3 => "http://data.europa.eu/r5r/",
            Profile::V2_1_1 => {
                "https://joinup.ec.europa.eu/collection/semantic-interoperability-community-semic/solution/dcat-application-profile-data-portals-europe/release/211"
            }
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::V3 => "3.0",
            Profile::V2_1_1 => "2.1.1",
        })
    }
}

/// An RDF serialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialization {
    /// Turtle (`text/turtle`).
    Turtle,
    /// RDF/XML (`application/rdf+xml`).
    RdfXml,
    /// JSON-LD (`application/ld+json`).
    JsonLd,
    /// N-Triples (`application/n-triples`).
    NTriples,
}

impl Serialization {
    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Serialization::Turtle => "text/turtle; charset=utf-8",
            Serialization::RdfXml => "application/rdf+xml; charset=utf-8",
            Serialization::JsonLd => "application/ld+json",
            Serialization::NTriples => "application/n-triples",
        }
    }

    /// The extension of a downloaded file.
    pub fn extension(self) -> &'static str {
        match self {
            Serialization::Turtle => "ttl",
            Serialization::RdfXml => "rdf",
            Serialization::JsonLd => "jsonld",
            Serialization::NTriples => "nt",
        }
    }

    /// The serialisation a `format` parameter names (`ttl`/`turtle`, `rdf`/`rdfxml`/`xml`,
    /// `jsonld`/`json-ld`, `nt`/`ntriples`).
    pub fn from_name(name: &str) -> Option<Serialization> {
        Some(match name {
            "ttl" | "turtle" => Serialization::Turtle,
            "rdf" | "rdfxml" | "xml" | "dcat" => Serialization::RdfXml,
            "jsonld" | "json-ld" => Serialization::JsonLd,
            "nt" | "ntriples" | "n-triples" => Serialization::NTriples,
            _ => return None,
        })
    }

    /// The serialisation of a media type of an `Accept` header, if one.
    pub fn from_media_type(media_type: &str) -> Option<Serialization> {
        Some(match media_type {
            "text/turtle" | "application/x-turtle" => Serialization::Turtle,
            "application/rdf+xml" => Serialization::RdfXml,
            "application/ld+json" => Serialization::JsonLd,
            "application/n-triples" => Serialization::NTriples,
            _ => return None,
        })
    }

    fn format(self) -> RdfFormat {
        match self {
            Serialization::Turtle => RdfFormat::Turtle,
            Serialization::RdfXml => RdfFormat::RdfXml,
            Serialization::JsonLd => {
                RdfFormat::JsonLd { profile: oxrdfio::JsonLdProfileSet::empty() }
            }
            Serialization::NTriples => RdfFormat::NTriples,
        }
    }
}

/// A text and its language (an ISO 639-1 code), if known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The text.
    pub value: String,
    /// Its language.
    pub lang: Option<String>,
}

impl Text {
    /// `value` in `lang`.
    pub fn new(value: impl Into<String>, lang: Option<&str>) -> Text {
        Text { value: value.into(), lang: lang.map(str::to_owned) }
    }
}

/// A publisher (`foaf:Agent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Its IRI.
    pub iri: String,
    /// Its name.
    pub name: String,
    /// Its kind (an organization kind: `city`, `company`, ...), mapped to an ADMS publisher
    /// type by [`vocab::publisher_type`].
    pub kind: Option<String>,
    /// Its web site.
    pub homepage: Option<String>,
}

/// A contact point (`vcard:Kind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Its IRI.
    pub iri: String,
    /// Name (`vcard:fn`).
    pub name: String,
    /// Email address.
    pub email: Option<String>,
    /// Web page.
    pub url: Option<String>,
}

/// A licence: an IRI and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    /// Where its text is (the licence's IRI).
    pub iri: String,
    /// Its name.
    pub name: String,
}

/// One way to get a dataset's data: an export format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    /// Its IRI.
    pub iri: String,
    /// The export format's name (`csv`, `geojson`, ...), mapped by [`vocab::file_type`].
    pub format: String,
    /// Its title.
    pub title: Text,
    /// Where the file is downloaded (`dcat:accessURL` and `dcat:downloadURL`).
    pub download_url: String,
    /// When its data was published (RFC 3339).
    pub issued: Option<String>,
    /// When it last changed (RFC 3339).
    pub modified: Option<String>,
}

/// A dataset as DCAT-AP describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dataset {
    /// Its IRI (also its `dct:identifier`).
    pub iri: String,
    /// Its title, in each language given.
    pub title: Vec<Text>,
    /// Its description (plain text), in each language given.
    pub description: Vec<Text>,
    /// Its publisher.
    pub publisher: Option<Agent>,
    /// Its contact point.
    pub contact: Option<Contact>,
    /// Kleber's themes (mapped by [`vocab::data_themes`], and kept as keywords).
    pub themes: Vec<String>,
    /// Keywords.
    pub keywords: Vec<Text>,
    /// Its licence.
    pub licence: Option<Licence>,
    /// When it was first published (RFC 3339).
    pub issued: Option<String>,
    /// When its data or metadata last changed (RFC 3339).
    pub modified: Option<String>,
    /// Its update frequency (Kleber's `update_frequency`, mapped by [`vocab::FREQUENCIES`]).
    pub frequency: Option<String>,
    /// The place it covers, by name.
    pub spatial: Option<Text>,
    /// The period it covers (`YYYY-MM-DD` start and end, either may be open).
    pub temporal: Option<(Option<String>, Option<String>)>,
    /// Its languages (ISO 639-1).
    pub languages: Vec<String>,
    /// The portal's page of the dataset.
    pub landing_page: Option<String>,
    /// Standards it conforms to (IRIs), with their names.
    pub conforms_to: Vec<(String, String)>,
    /// Its version (the current version number).
    pub version: Option<String>,
    /// Whether it is archived (`adms:status` deprecated; its distributions too).
    pub archived: bool,
    /// The datasets it was derived from (IRIs), for derived datasets.
    pub derived_from: Vec<String>,
    /// Its High-Value Dataset category (a name of [`vocab::HVD_CATEGORIES`]).
    pub hvd_category: Option<String>,
    /// Its distributions.
    pub distributions: Vec<Distribution>,
}

/// The API that serves the datasets (`dcat:DataService`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataService {
    /// Its IRI.
    pub iri: String,
    /// Its title.
    pub title: String,
    /// The endpoint's URL.
    pub endpoint_url: String,
    /// The endpoint's description (the OpenAPI document).
    pub endpoint_description: String,
    /// The licence of the service, if any.
    pub licence: Option<Licence>,
}

/// Where a page is in a paged catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The collection (the unpaged URL).
    pub collection: String,
    /// This page's URL.
    pub this: String,
    /// The first page's.
    pub first: String,
    /// The last page's.
    pub last: String,
    /// The previous page's, if any.
    pub previous: Option<String>,
    /// The next page's, if any.
    pub next: Option<String>,
    /// How many datasets the whole catalog holds.
    pub total: u64,
}

/// The catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// Its IRI.
    pub iri: String,
    /// Its title.
    pub title: Text,
    /// Its description.
    pub description: Text,
    /// Who publishes the portal.
    pub publisher: Agent,
    /// The portal's home page.
    pub homepage: String,
    /// Its language (ISO 639-1).
    pub language: String,
    /// When it last changed (RFC 3339): the latest change of its datasets.
    pub modified: Option<String>,
    /// The API.
    pub service: DataService,
    /// The datasets (of this page).
    pub datasets: Vec<Dataset>,
    /// The page, when the catalog is paged.
    pub page: Option<Page>,
}

/// What a graph is built for: a whole catalog (or a page of it), or one dataset.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// The catalog.
    Catalog(&'a Catalog),
    /// One dataset, with the service that serves it.
    Dataset(&'a Dataset, &'a DataService),
}

/// The graph of `subject` under `profile`.
pub fn graph(subject: Subject<'_>, profile: Profile) -> Result<Graph> {
    let mut b = Builder { graph: Graph::new(), profile, blanks: 0 };
    match subject {
        Subject::Catalog(catalog) => b.catalog(catalog)?,
        Subject::Dataset(dataset, service) => {
            b.dataset(dataset, Some(&service.iri))?;
            b.service(service, std::slice::from_ref(dataset))?;
        }
    }
    Ok(b.graph)
}

/// Writes `graph` in `serialization`, with the usual prefixes.
pub fn serialize(graph: &Graph, serialization: Serialization) -> Result<Vec<u8>> {
    let mut serializer = RdfSerializer::from_format(serialization.format());
    if serialization != Serialization::NTriples {
        for (prefix, iri) in vocab::PREFIXES {
            serializer = serializer
                .with_prefix(*prefix, *iri)
                .map_err(|e| Error::Iri { iri: (*iri).to_owned(), reason: e.to_string() })?;
        }
    }
    // Sorted by subject, then predicate and object, so each subject is written once (Turtle,
    // RDF/XML) and the same graph always gives the same bytes.
    let mut triples: Vec<_> = graph.iter().collect();
    triples.sort_by_cached_key(|t| {
        (t.subject.to_string(), t.predicate.as_str().to_owned(), t.object.to_string())
    });
    let mut writer = serializer.for_writer(Vec::new());
    for triple in triples {
        writer.serialize_triple(triple)?;
    }
    Ok(writer.finish()?)
}

fn iri(text: &str) -> Result<NamedNode> {
    NamedNode::new(text).map_err(|e| Error::Iri { iri: text.to_owned(), reason: e.to_string() })
}

fn term(namespace: &str, local: &str) -> NamedNode {
    // The namespaces are constants of `vocab` and the local names constants of this file:
    // the concatenation is an IRI.
    NamedNode::new_unchecked(format!("{namespace}{local}"))
}

fn literal(text: &Text) -> Literal {
    text.lang
        .as_deref()
        .and_then(|lang| Literal::new_language_tagged_literal(text.value.as_str(), lang).ok())
        .unwrap_or_else(|| Literal::new_simple_literal(text.value.as_str()))
}

fn plain(text: &str) -> Literal {
    Literal::new_simple_literal(text)
}

fn english(text: &str) -> Literal {
    Literal::new_language_tagged_literal_unchecked(text, "en")
}

/// An RFC 3339 instant as `xsd:dateTime`, a `YYYY-MM-DD` as `xsd:date`, anything else as
/// nothing (never a plain string: DCAT-AP wants a typed date).
fn date_literal(text: &str) -> Option<Literal> {
    let is_date = |s: &str| {
        s.len() == 10
            && s.bytes()
                .enumerate()
                .all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
    };
    if is_date(text) {
        return Some(Literal::new_typed_literal(text, term(XSD, "date")));
    }
    let (day, time) = text.split_once('T')?;
    if !is_date(day) || time.len() < 8 {
        return None;
    }
    Some(Literal::new_typed_literal(text, term(XSD, "dateTime")))
}

struct Builder {
    graph: Graph,
    profile: Profile,
    /// Blank nodes made so far: their labels are `b1`, `b2`... in the order of the input,
    /// so the same input always gives the same document.
    blanks: usize,
}

impl Builder {
    fn add(&mut self, s: &NamedNode, p: NamedNode, o: impl Into<Term>) {
        self.graph.insert(&Triple::new(NamedOrBlankNode::from(s.clone()), p, o.into()));
    }

    fn blank(&mut self) -> BlankNode {
        self.blanks += 1;
        BlankNode::new_unchecked(format!("b{}", self.blanks))
    }

    fn add_blank(&mut self, s: &BlankNode, p: NamedNode, o: impl Into<Term>) {
        self.graph.insert(&Triple::new(NamedOrBlankNode::from(s.clone()), p, o.into()));
    }

    fn a(&mut self, s: &NamedNode, class: NamedNode) {
        self.add(s, term(RDF, "type"), class);
    }

    /// A concept of a controlled vocabulary, typed and labelled, in its scheme.
    fn concept(&mut self, concept: &NamedNode, label: &str, scheme: Option<(&str, &str)>) {
        self.a(concept, term(SKOS, "Concept"));
        self.add(concept, term(SKOS, "prefLabel"), english(label));
        if let Some((scheme, title)) = scheme {
            let scheme = NamedNode::new_unchecked(scheme);
            self.add(concept, term(SKOS, "inScheme"), scheme.clone());
            self.a(&scheme, term(SKOS, "ConceptScheme"));
            self.add(&scheme, term(DCT, "title"), english(title));
        }
    }

    fn agent(&mut self, agent: &Agent) -> Result<NamedNode> {
        let node = iri(&agent.iri)?;
        self.a(&node, term(FOAF, "Agent"));
        self.a(&node, term(FOAF, "Organization"));
        self.add(&node, term(FOAF, "name"), plain(&agent.name));
        if let Some((kind, label)) = agent.kind.as_deref().and_then(vocab::publisher_type) {
            let kind = term("http://purl.org/adms/publishertype/", kind);
            self.add(&node, term(DCT, "type"), kind.clone());
            self.concept(&kind, label, Some((vocab::PUBLISHER_TYPE_SCHEME, "Publisher type")));
        }
        if let Some(homepage) = agent.homepage.as_deref().and_then(|h| iri(h).ok()) {
            self.add(&node, term(FOAF, "homepage"), homepage.clone());
            self.a(&homepage, term(FOAF, "Document"));
        }
        Ok(node)
    }

    fn licence(&mut self, licence: &Licence) -> Result<NamedNode> {
        let node = iri(&licence.iri)?;
        self.a(&node, term(DCT, "LicenseDocument"));
        self.add(&node, term(DCT, "title"), plain(&licence.name));
        Ok(node)
    }

    fn catalog(&mut self, catalog: &Catalog) -> Result<()> {
        let node = iri(&catalog.iri)?;
        self.a(&node, term(DCAT, "Catalog"));
        self.add(&node, term(DCT, "title"), literal(&catalog.title));
        self.add(&node, term(DCT, "description"), literal(&catalog.description));
        let publisher = self.agent(&catalog.publisher)?;
        self.add(&node, term(DCT, "publisher"), publisher);
        let homepage = iri(&catalog.homepage)?;
        self.add(&node, term(FOAF, "homepage"), homepage.clone());
        self.a(&homepage, term(FOAF, "Document"));
        if let Some(language) = self.language(&catalog.language) {
            self.add(&node, term(DCT, "language"), language);
        }
        if let Some(modified) = catalog.modified.as_deref().and_then(date_literal) {
            self.add(&node, term(DCT, "modified"), modified);
        }
        let taxonomy = NamedNode::new_unchecked(vocab::DATA_THEME_SCHEME);
        self.add(&node, term(DCAT, "themeTaxonomy"), taxonomy.clone());
        self.a(&taxonomy, term(SKOS, "ConceptScheme"));
        self.add(&taxonomy, term(DCT, "title"), english("Data theme"));
        let spec = iri(self.profile.specification())?;
        self.add(&node, term(DCT, "conformsTo"), spec.clone());
        self.a(&spec, term(DCT, "Standard"));
        self.add(&spec, term(DCT, "title"), english(&format!("DCAT-AP {}", self.profile)));
        let service = iri(&catalog.service.iri)?;
        self.add(&node, term(DCAT, "service"), service);
        self.service(&catalog.service, &catalog.datasets)?;
        for dataset in &catalog.datasets {
            let d = self.dataset(dataset, Some(&catalog.service.iri))?;
            self.add(&node, term(DCAT, "dataset"), d);
        }
        if let Some(page) = &catalog.page {
            self.page(page)?;
        }
        Ok(())
    }

    fn page(&mut self, page: &Page) -> Result<()> {
        let collection = iri(&page.collection)?;
        let view = iri(&page.this)?;
        self.a(&collection, term(HYDRA, "Collection"));
        self.add(
            &collection,
            term(HYDRA, "totalItems"),
            Literal::new_typed_literal(page.total.to_string(), term(XSD, "integer")),
        );
        self.add(&collection, term(HYDRA, "view"), view.clone());
        self.a(&view, term(HYDRA, "PartialCollectionView"));
        self.add(&view, term(HYDRA, "first"), iri(&page.first)?);
        self.add(&view, term(HYDRA, "last"), iri(&page.last)?);
        if let Some(previous) = &page.previous {
            self.add(&view, term(HYDRA, "previous"), iri(previous)?);
        }
        if let Some(next) = &page.next {
            self.add(&view, term(HYDRA, "next"), iri(next)?);
        }
        Ok(())
    }

    fn service(&mut self, service: &DataService, datasets: &[Dataset]) -> Result<()> {
        let node = iri(&service.iri)?;
        self.a(&node, term(DCAT, "DataService"));
        self.add(&node, term(DCT, "title"), english(&service.title));
        let endpoint = iri(&service.endpoint_url)?;
        self.add(&node, term(DCAT, "endpointURL"), endpoint.clone());
        self.a(&endpoint, term(RDFS, "Resource"));
        let description = iri(&service.endpoint_description)?;
        self.add(&node, term(DCAT, "endpointDescription"), description.clone());
        self.a(&description, term(RDFS, "Resource"));
        let access = NamedNode::new_unchecked(vocab::ACCESS_PUBLIC);
        self.add(&node, term(DCT, "accessRights"), access.clone());
        self.a(&access, term(DCT, "RightsStatement"));
        if let Some(licence) = &service.licence {
            let l = self.licence(licence)?;
            self.add(&node, term(DCT, "license"), l);
        }
        for dataset in datasets {
            self.add(&node, term(DCAT, "servesDataset"), iri(&dataset.iri)?);
        }
        Ok(())
    }

    fn language(&mut self, code: &str) -> Option<NamedNode> {
        let language = NamedNode::new_unchecked(vocab::language_iri(code)?);
        self.a(&language, term(DCT, "LinguisticSystem"));
        Some(language)
    }

    fn dataset(&mut self, d: &Dataset, service: Option<&str>) -> Result<NamedNode> {
        let node = iri(&d.iri)?;
        self.a(&node, term(DCAT, "Dataset"));
        self.add(&node, term(DCT, "identifier"), plain(&d.iri));
        for title in &d.title {
            self.add(&node, term(DCT, "title"), literal(title));
        }
        for description in &d.description {
            self.add(&node, term(DCT, "description"), literal(description));
        }
        if let Some(publisher) = &d.publisher {
            let p = self.agent(publisher)?;
            self.add(&node, term(DCT, "publisher"), p);
        }
        if let Some(contact) = &d.contact {
            let c = iri(&contact.iri)?;
            self.add(&node, term(DCAT, "contactPoint"), c.clone());
            self.a(&c, term(VCARD, "Kind"));
            self.a(&c, term(VCARD, "Organization"));
            self.add(&c, term(VCARD, "fn"), plain(&contact.name));
            if let Some(email) =
                contact.email.as_deref().and_then(|e| iri(&format!("mailto:{e}")).ok())
            {
                self.add(&c, term(VCARD, "hasEmail"), email);
            }
            if let Some(url) = contact.url.as_deref().and_then(|u| iri(u).ok()) {
                self.add(&c, term(VCARD, "hasURL"), url);
            }
        }
        let lang = d.languages.first().map(String::as_str);
        for theme in &d.themes {
            for code in vocab::data_themes(theme) {
                let concept = term(&format!("{EU_AUTHORITY}data-theme/"), code);
                self.add(&node, term(DCAT, "theme"), concept.clone());
                self.concept(
                    &concept,
                    vocab::data_theme_label(code),
                    Some((vocab::DATA_THEME_SCHEME, "Data theme")),
                );
            }
            self.add(&node, term(DCAT, "keyword"), literal(&Text::new(theme.as_str(), lang)));
        }
        for keyword in &d.keywords {
            self.add(&node, term(DCAT, "keyword"), literal(keyword));
        }
        let licence = match &d.licence {
            Some(licence) => Some(self.licence(licence)?),
            None => None,
        };
        let access = NamedNode::new_unchecked(vocab::ACCESS_PUBLIC);
        self.add(&node, term(DCT, "accessRights"), access.clone());
        self.a(&access, term(DCT, "RightsStatement"));
        if let Some(issued) = d.issued.as_deref().and_then(date_literal) {
            self.add(&node, term(DCT, "issued"), issued);
        }
        if let Some(modified) = d.modified.as_deref().and_then(date_literal) {
            self.add(&node, term(DCT, "modified"), modified);
        }
        if let Some((_, eu, label)) =
            d.frequency.as_deref().and_then(|f| vocab::FREQUENCIES.iter().find(|(k, _, _)| *k == f))
        {
            let frequency = term(&format!("{EU_AUTHORITY}frequency/"), eu);
            self.add(&node, term(DCT, "accrualPeriodicity"), frequency.clone());
            self.a(&frequency, term(DCT, "Frequency"));
            self.concept(&frequency, label, Some((vocab::FREQUENCY_SCHEME, "Frequency")));
        }
        // The place and the period are blank nodes: harvesters (udata) dereference an IRI
        // given there instead of reading the node's properties.
        if let Some(spatial) = &d.spatial {
            let location = self.blank();
            self.add(&node, term(DCT, "spatial"), location.clone());
            self.add_blank(&location, term(RDF, "type"), term(DCT, "Location"));
            self.add_blank(&location, term(SKOS, "prefLabel"), literal(spatial));
            self.add_blank(&location, term(LOCN, "geographicName"), literal(spatial));
        }
        if let Some((start, end)) = &d.temporal {
            let period = self.blank();
            self.add(&node, term(DCT, "temporal"), period.clone());
            self.add_blank(&period, term(RDF, "type"), term(DCT, "PeriodOfTime"));
            if let Some(start) = start.as_deref().and_then(date_literal) {
                self.add_blank(&period, term(DCAT, "startDate"), start);
            }
            if let Some(end) = end.as_deref().and_then(date_literal) {
                self.add_blank(&period, term(DCAT, "endDate"), end);
            }
        }
        for code in &d.languages {
            if let Some(language) = self.language(code) {
                self.add(&node, term(DCT, "language"), language);
            }
        }
        if let Some(page) = d.landing_page.as_deref() {
            let page = iri(page)?;
            self.add(&node, term(DCAT, "landingPage"), page.clone());
            self.a(&page, term(FOAF, "Document"));
        }
        for (standard, name) in &d.conforms_to {
            let s = iri(standard)?;
            self.add(&node, term(DCT, "conformsTo"), s.clone());
            self.a(&s, term(DCT, "Standard"));
            self.add(&s, term(DCT, "title"), plain(name));
        }
        if let Some(version) = &d.version {
            let property = match self.profile {
                Profile::V3 => term(DCAT, "version"),
                Profile::V2_1_1 => term(OWL, "versionInfo"),
            };
            self.add(&node, property, plain(version));
        }
        let status = self.status(d.archived);
        if d.archived {
            self.add(&node, term(ADMS, "status"), status.clone());
        }
        // The sources are only named, not typed: a `dcat:Dataset` node without its
        // description would be a second, empty dataset to a harvester (and on another page).
        for source in &d.derived_from {
            self.add(&node, term(PROV, "wasDerivedFrom"), iri(source)?);
        }
        let hvd = match (self.profile, d.hvd_category.as_deref().and_then(vocab::hvd_category)) {
            (Profile::V3, Some((category, label))) => {
                let category = iri(category)?;
                self.add(&node, term(DCATAP, "hvdCategory"), category.clone());
                self.concept(
                    &category,
                    label,
                    Some((vocab::HVD_SCHEME, "High-value dataset categories")),
                );
                let legislation = NamedNode::new_unchecked(vocab::HVD_LEGISLATION);
                self.add(&node, term(DCATAP, "applicableLegislation"), legislation.clone());
                self.a(&legislation, term("http://data.europa.eu/eli/ontology#", "LegalResource"));
                Some(legislation)
            }
            _ => None,
        };
        for distribution in &d.distributions {
            let x = iri(&distribution.iri)?;
            self.add(&node, term(DCAT, "distribution"), x.clone());
            self.a(&x, term(DCAT, "Distribution"));
            self.add(&x, term(DCT, "title"), literal(&distribution.title));
            let url = iri(&distribution.download_url)?;
            self.add(&x, term(DCAT, "accessURL"), url.clone());
            self.add(&x, term(DCAT, "downloadURL"), url.clone());
            self.a(&url, term(RDFS, "Resource"));
            if let Some(file_type) = vocab::file_type(&distribution.format) {
                if let Some(eu) = file_type.eu {
                    let format = term(&format!("{EU_AUTHORITY}file-type/"), eu);
                    self.add(&x, term(DCT, "format"), format.clone());
                    self.a(&format, term(DCT, "MediaTypeOrExtent"));
                }
                if let Some(media_type) = file_type.media_type {
                    let media = term("https://www.iana.org/assignments/media-types/", media_type);
                    self.add(&x, term(DCAT, "mediaType"), media.clone());
                    self.a(&media, term(DCT, "MediaType"));
                }
            }
            if let Some(licence) = &licence {
                self.add(&x, term(DCT, "license"), licence.clone());
            }
            if let Some(issued) = distribution.issued.as_deref().and_then(date_literal) {
                self.add(&x, term(DCT, "issued"), issued);
            }
            if let Some(modified) = distribution.modified.as_deref().and_then(date_literal) {
                self.add(&x, term(DCT, "modified"), modified);
            }
            self.add(&x, term(ADMS, "status"), status.clone());
            let availability = self.availability();
            self.add(&x, term(DCATAP, "availability"), availability);
            if let Some(service) = service {
                self.add(&x, term(DCAT, "accessService"), iri(service)?);
            }
            if let Some(legislation) = &hvd {
                self.add(&x, term(DCATAP, "applicableLegislation"), legislation.clone());
            }
        }
        Ok(node)
    }

    /// The status of an archived (deprecated) or current (completed) dataset: the EU
    /// distribution-status table in 3.0, the ADMS status vocabulary in 2.1.1 (the list
    /// DCAT-AP 3.0 replaced).
    fn status(&mut self, archived: bool) -> NamedNode {
        let (code, label) = match (self.profile, archived) {
            (Profile::V3, true) => ("DEPRECATED", "Deprecated"),
            (Profile::V3, false) => ("COMPLETED", "Completed"),
            (Profile::V2_1_1, true) => ("Deprecated", "Deprecated"),
            (Profile::V2_1_1, false) => ("Completed", "Completed"),
        };
        let (namespace, scheme, title) = match self.profile {
            Profile::V3 => (
                vocab::DISTRIBUTION_STATUS,
                "http://publications.europa.eu/resource/authority/distribution-status",
                "Distribution status",
            ),
            Profile::V2_1_1 => {
                ("http://purl.org/adms/status/", "http://purl.org/adms/status/1.0", "ADMS status")
            }
        };
        let status = term(namespace, code);
        self.concept(&status, label, Some((scheme, title)));
        status
    }

    /// Planned availability: Kleber keeps every published dataset's exports (`STABLE`).
    fn availability(&mut self) -> NamedNode {
        let availability = term(&format!("{EU_AUTHORITY}planned-availability/"), "STABLE");
        self.concept(
            &availability,
            "stable",
            Some((
                "http://publications.europa.eu/resource/authority/planned-availability",
                "Planned availability",
            )),
        );
        availability
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Dataset, DataService) {
        let service = DataService {
            iri: "https://portal.example/api/explore/v2.1".to_owned(),
            title: "Explore API v2.1".to_owned(),
            endpoint_url: "https://portal.example/api/explore/v2.1".to_owned(),
            endpoint_description: "https://portal.example/api/openapi.json".to_owned(),
            licence: None,
        };
        let dataset = Dataset {
            iri: "https://portal.example/api/explore/v2.1/catalog/datasets/velos".to_owned(),
            title: vec![Text::new("Vélos", Some("fr"))],
            themes: vec!["Mobilité".to_owned()],
            version: Some("3".to_owned()),
            hvd_category: Some("mobility".to_owned()),
            archived: true,
            distributions: vec![Distribution {
                iri: "https://portal.example/api/explore/v2.1/catalog/datasets/velos#csv"
                    .to_owned(),
                format: "csv".to_owned(),
                title: Text::new("Vélos (CSV)", Some("fr")),
                download_url:
                    "https://portal.example/api/explore/v2.1/catalog/datasets/velos/exports/csv"
                        .to_owned(),
                issued: Some("2026-01-02T03:04:05Z".to_owned()),
                modified: None,
            }],
            ..Dataset::default()
        };
        (dataset, service)
    }

    fn turtle(profile: Profile) -> String {
        let (dataset, service) = sample();
        let g = graph(Subject::Dataset(&dataset, &service), profile).expect("graph");
        String::from_utf8(serialize(&g, Serialization::NTriples).expect("nt")).expect("utf-8")
    }

    #[test]
    fn the_profiles_differ_in_version_info_and_hvd() {
        let v3 = turtle(Profile::V3);
        assert!(v3.contains("<http://www.w3.org/ns/dcat#version> \"3\""), "{v3}");
        assert!(v3.contains(
            "<http://data.europa.eu/r5r/hvdCategory> <http://data.europa.eu/bna/c_b79e35eb>"
        ));
        assert!(v3.contains("<http://publications.europa.eu/resource/authority/data-theme/TRAN>"));
        assert!(v3.contains("distribution-status/DEPRECATED"));
        let v2 = turtle(Profile::V2_1_1);
        assert!(v2.contains("<http://www.w3.org/2002/07/owl#versionInfo> \"3\""), "{v2}");
        assert!(!v2.contains("hvdCategory"));
        assert!(v2.contains("<http://purl.org/adms/status/Deprecated>"));
    }

    #[test]
    fn dates_are_typed_or_left_out() {
        assert!(date_literal("2026-01-02").is_some());
        assert!(date_literal("2026-01-02T03:04:05+01:00").is_some());
        assert!(date_literal("yesterday").is_none());
        assert!(date_literal("2026-1-2").is_none());
    }

    #[test]
    fn an_address_that_is_no_iri_is_an_error_not_a_panic() {
        let (mut dataset, service) = sample();
        dataset.iri = "not an iri".to_owned();
        assert!(matches!(
            graph(Subject::Dataset(&dataset, &service), Profile::V3),
            Err(Error::Iri { .. })
        ));
    }
}
