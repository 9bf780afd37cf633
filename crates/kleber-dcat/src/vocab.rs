//! The namespaces and the controlled vocabularies DCAT-AP asks for, and how Kleber's own
//! values map onto them (docs/interoperability.md#datagouvfr--dataeuropaeu-dcat-ap).
//!
//! Every mapping here is a table, so the documentation can list it as it is: organization
//! kinds to ADMS publisher types, themes to the EU data themes, update frequencies to the EU
//! frequencies, ISO 639-1 languages to the EU languages, export formats to the EU file types
//! and IANA media types, and the High-Value Dataset categories of Regulation (EU) 2023/138.

/// Namespaces, with the prefixes the serialisations declare.
pub const PREFIXES: &[(&str, &str)] = &[
    ("adms", ADMS),
    ("dcat", DCAT),
    ("dcatap", DCATAP),
    ("dct", DCT),
    ("foaf", FOAF),
    ("hydra", HYDRA),
    ("locn", LOCN),
    ("owl", OWL),
    ("prov", PROV),
    ("rdf", RDF),
    ("rdfs", RDFS),
    ("skos", SKOS),
    ("vcard", VCARD),
    ("xsd", XSD),
];

/// ADMS.
pub const ADMS: &str = "http://www.w3.org/ns/adms#";
/// DCAT 2/3.
pub const DCAT: &str = "http://www.w3.org/ns/dcat#";
/// DCAT-AP's own terms (`applicableLegislation`, `hvdCategory`).
pub const DCATAP: &str = "http://data.europa.eu/r5r/";
/// Dublin Core terms.
pub const DCT: &str = "http://purl.org/dc/terms/";
/// FOAF.
pub const FOAF: &str = "http://xmlns.com/foaf/0.1/";
/// Hydra (paging).
pub const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";
/// ISA Core Location.
pub const LOCN: &str = "http://www.w3.org/ns/locn#";
/// OWL.
pub const OWL: &str = "http://www.w3.org/2002/07/owl#";
/// PROV-O.
pub const PROV: &str = "http://www.w3.org/ns/prov#";
/// RDF.
pub const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
/// RDF Schema.
pub const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";
/// SKOS.
pub const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
/// vCard.
pub const VCARD: &str = "http://www.w3.org/2006/vcard/ns#";
/// XML Schema datatypes.
pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// The EU Publications Office's authority tables.
pub const EU_AUTHORITY: &str = "http://publications.europa.eu/resource/authority/";

/// The EU data-theme scheme.
pub const DATA_THEME_SCHEME: &str = "http://publications.europa.eu/resource/authority/data-theme";
/// The EU frequency scheme.
pub const FREQUENCY_SCHEME: &str = "http://publications.europa.eu/resource/authority/frequency";
/// The ADMS publisher-type scheme.
pub const PUBLISHER_TYPE_SCHEME: &str = "http://purl.org/adms/publishertype/1.0";
/// The EU High-Value Dataset categories scheme.
pub const HVD_SCHEME: &str = "http://data.europa.eu/bna/asd487ae75";
/// Commission Implementing Regulation (EU) 2023/138 (the High-Value Datasets).
pub const HVD_LEGISLATION: &str = "http://data.europa.eu/eli/reg_impl/2023/138/oj";
/// Public access (the EU access-right table).
pub const ACCESS_PUBLIC: &str =
    "http://publications.europa.eu/resource/authority/access-right/PUBLIC";
/// The EU distribution-status table (`adms:status`).
pub const DISTRIBUTION_STATUS: &str =
    "http://publications.europa.eu/resource/authority/distribution-status/";

/// What kind of body publishes: the ADMS publisher type of an organization kind (Kleber's
/// `city`, `metropolis`, `commune`, `public_body`, `company`, `association`), with its
/// English label. ADMS has no generic "public body": a city portal's public partners are
/// local, so `public_body` is `LocalAuthority` too.
pub fn publisher_type(kind: &str) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        "city" | "metropolis" | "commune" | "public_body" => ("LocalAuthority", "Local Authority"),
        "company" => ("Company", "Company"),
        "association" => ("NonProfitOrganisation", "Non-Profit Organisation"),
        _ => return None,
    })
}

/// The EU data themes: code and English label.
pub const DATA_THEMES: &[(&str, &str)] = &[
    ("AGRI", "Agriculture, fisheries, forestry and food"),
    ("ECON", "Economy and finance"),
    ("EDUC", "Education, culture and sport"),
    ("ENER", "Energy"),
    ("ENVI", "Environment"),
    ("GOVE", "Government and public sector"),
    ("HEAL", "Health"),
    ("INTR", "International issues"),
    ("JUST", "Justice, legal system and public safety"),
    ("REGI", "Regions and cities"),
    ("SOCI", "Population and society"),
    ("TECH", "Science and technology"),
    ("TRAN", "Transport"),
];

/// Words of a Kleber theme (lowercase, accents removed) and the EU data theme they map to:
/// the first entry whose word starts one of the theme's words wins. Opendatasoft portals'
/// usual French and English theme names are covered; a theme nothing matches maps to
/// nothing (and the dataset keeps its theme as a keyword).
pub const THEME_WORDS: &[(&str, &str)] = &[
    ("mobilit", "TRAN"),
    ("transport", "TRAN"),
    ("deplacement", "TRAN"),
    ("stationnement", "TRAN"),
    ("parking", "TRAN"),
    ("velo", "TRAN"),
    ("traffic", "TRAN"),
    ("trafic", "TRAN"),
    ("environnement", "ENVI"),
    ("environment", "ENVI"),
    ("nature", "ENVI"),
    ("climat", "ENVI"),
    ("eau", "ENVI"),
    ("dechet", "ENVI"),
    ("energ", "ENER"),
    ("culture", "EDUC"),
    ("patrimoine", "EDUC"),
    ("education", "EDUC"),
    ("enseignement", "EDUC"),
    ("sport", "EDUC"),
    ("loisir", "EDUC"),
    ("tourism", "EDUC"),
    ("sante", "HEAL"),
    ("health", "HEAL"),
    ("social", "SOCI"),
    ("solidarit", "SOCI"),
    ("population", "SOCI"),
    ("societe", "SOCI"),
    ("society", "SOCI"),
    ("logement", "SOCI"),
    ("economi", "ECON"),
    ("economy", "ECON"),
    ("finance", "ECON"),
    ("budget", "ECON"),
    ("commerce", "ECON"),
    ("emploi", "ECON"),
    ("administration", "GOVE"),
    ("citoyennete", "GOVE"),
    ("government", "GOVE"),
    ("equipement", "GOVE"),
    ("services", "GOVE"),
    ("elections", "GOVE"),
    ("securite", "JUST"),
    ("justice", "JUST"),
    ("safety", "JUST"),
    ("urbanisme", "REGI"),
    ("amenagement", "REGI"),
    ("territoire", "REGI"),
    ("cadastre", "REGI"),
    ("agricult", "AGRI"),
    ("alimentation", "AGRI"),
    ("food", "AGRI"),
    ("numerique", "TECH"),
    ("science", "TECH"),
    ("recherche", "TECH"),
    ("technolog", "TECH"),
    ("international", "INTR"),
    ("europe", "INTR"),
];

/// Folds `text` for [`THEME_WORDS`]: lowercase, the accents of Latin letters removed.
fn fold(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ö' | 'ó' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ç' => 'c',
            c => c,
        })
        .collect()
}

/// The EU data themes of a Kleber theme (`Culture, patrimoine`, `Mobilité`...): every code a
/// word of it maps to, without repeats.
pub fn data_themes(theme: &str) -> Vec<&'static str> {
    let folded = fold(theme);
    let mut out = Vec::new();
    for word in folded.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if let Some((_, code)) = THEME_WORDS.iter().find(|(prefix, _)| word.starts_with(prefix))
            && !out.contains(code)
        {
            out.push(*code);
        }
    }
    out
}

/// The English label of an EU data theme code.
pub fn data_theme_label(code: &str) -> &'static str {
    DATA_THEMES.iter().find(|(c, _)| *c == code).map_or("", |(_, label)| label)
}

/// Kleber's update frequencies (the management API's `update_frequency`) and the EU
/// frequency each is, with its English label.
pub const FREQUENCIES: &[(&str, &str, &str)] = &[
    ("continuous", "CONT", "continuous"),
    ("hourly", "HOURLY", "hourly"),
    ("daily", "DAILY", "daily"),
    ("weekly", "WEEKLY", "weekly"),
    ("monthly", "MONTHLY", "monthly"),
    ("quarterly", "QUARTERLY", "quarterly"),
    ("biannual", "ANNUAL_2", "semiannual"),
    ("annual", "ANNUAL", "annual"),
    ("irregular", "IRREG", "irregular"),
    ("never", "NEVER", "never"),
];

/// ISO 639-1 codes and the EU language each is (the authority table's codes).
pub const LANGUAGES: &[(&str, &str)] = &[
    ("bg", "BUL"),
    ("ca", "CAT"),
    ("cs", "CES"),
    ("da", "DAN"),
    ("de", "DEU"),
    ("el", "ELL"),
    ("en", "ENG"),
    ("es", "SPA"),
    ("et", "EST"),
    ("eu", "EUS"),
    ("fi", "FIN"),
    ("fr", "FRA"),
    ("ga", "GLE"),
    ("hr", "HRV"),
    ("hu", "HUN"),
    ("it", "ITA"),
    ("lb", "LTZ"),
    ("lt", "LIT"),
    ("lv", "LAV"),
    ("mt", "MLT"),
    ("nl", "NLD"),
    ("no", "NOR"),
    ("pl", "POL"),
    ("pt", "POR"),
    ("ro", "RON"),
    ("sk", "SLK"),
    ("sl", "SLV"),
    ("sv", "SWE"),
];

/// The EU language IRI of an ISO 639-1 code, if the table has it.
pub fn language_iri(code: &str) -> Option<String> {
    LANGUAGES.iter().find(|(c, _)| *c == code).map(|(_, eu)| format!("{EU_AUTHORITY}language/{eu}"))
}

/// A distribution's format: the EU file type and, when IANA registers one, the media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileType {
    /// The EU file-type code (`CSV`, `GEOJSON`, ...), or `None` when the table has none
    /// for the format.
    pub eu: Option<&'static str>,
    /// The IANA media type (`text/csv`), or `None` when IANA registers none for the format.
    pub media_type: Option<&'static str>,
}

/// The file type of a Kleber export format name (`csv`, `json`, `geojson`, ...).
pub fn file_type(format: &str) -> Option<FileType> {
    let (eu, media_type) = match format {
        "csv" => (Some("CSV"), Some("text/csv")),
        "json" => (Some("JSON"), Some("application/json")),
        "jsonl" => (None, None),
        "geojson" => (Some("GEOJSON"), Some("application/geo+json")),
        "xlsx" => (
            Some("XLSX"),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ),
        "parquet" => (Some("PARQUET"), Some("application/vnd.apache.parquet")),
        "shp" => (Some("SHP"), Some("application/zip")),
        "kml" => (Some("KML"), Some("application/vnd.google-earth.kml+xml")),
        "gpx" => (Some("GPX"), None),
        "fgb" => (None, None),
        _ => return None,
    };
    Some(FileType { eu, media_type })
}

/// The High-Value Dataset categories of Regulation (EU) 2023/138: the name the management
/// API takes (`hvd_category`), the category's IRI and its English label.
pub const HVD_CATEGORIES: &[(&str, &str, &str)] = &[
    ("geospatial", "http://data.europa.eu/bna/c_ac64a52d", "Geospatial"),
    (
        "earth-observation-environment",
        "http://data.europa.eu/bna/c_dd313021",
        "Earth observation and environment",
    ),
    ("meteorological", "http://data.europa.eu/bna/c_164e0bf5", "Meteorological"),
    ("statistics", "http://data.europa.eu/bna/c_e1da4e07", "Statistics"),
    ("companies", "http://data.europa.eu/bna/c_a9135398", "Companies and company ownership"),
    ("mobility", "http://data.europa.eu/bna/c_b79e35eb", "Mobility"),
];

/// The IRI and label of an HVD category name.
pub fn hvd_category(name: &str) -> Option<(&'static str, &'static str)> {
    HVD_CATEGORIES.iter().find(|(n, _, _)| *n == name).map(|(_, iri, label)| (*iri, *label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_map_by_their_words() {
        assert_eq!(data_themes("Mobilité"), ["TRAN"]);
        assert_eq!(data_themes("Culture, patrimoine"), ["EDUC"]);
        assert_eq!(data_themes("Équipements, services publics"), ["GOVE"]);
        assert_eq!(data_themes("Mobilité et environnement"), ["TRAN", "ENVI"]);
        assert!(data_themes("Divers").is_empty());
    }

    #[test]
    fn every_frequency_of_the_management_api_is_mapped() {
        for (kleber, eu, _) in FREQUENCIES {
            assert!(!eu.is_empty(), "{kleber}");
        }
        assert_eq!(language_iri("fr").as_deref(), Some(&*format!("{EU_AUTHORITY}language/FRA")));
        assert_eq!(language_iri("xx"), None);
    }
}
