//! A small city portal catalog, French with a few English datasets.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use kleber_search::{CatalogDoc, CatalogIndex};

use crate::{assert_sorted, ids, position, search};

const CITY: &str = "Ville et Eurométropole de Strasbourg";

fn doc(id: &str, title: &str, description: &str, keywords: &[&str], theme: &str) -> CatalogDoc {
    CatalogDoc {
        dataset_id: id.to_owned(),
        title: title.to_owned(),
        description: Some(description.to_owned()),
        keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
        themes: vec![theme.to_owned()],
        publisher: Some(CITY.to_owned()),
    }
}

fn catalog() -> Vec<CatalogDoc> {
    let mut docs = vec![
        doc(
            "comptages-velos",
            "Comptages vélos",
            "<p>Nombre de passages de cyclistes relevés toutes les heures par les boucles de \
             comptage installées sur les pistes cyclables.</p>",
            &["cyclisme", "mobilité douce"],
            "Transports",
        ),
        doc(
            "velhop-stations",
            "Vélhop stations",
            "Emplacement des stations de location de vélos en libre-service Vélhop et nombre de \
             vélos disponibles.",
            &["vélo", "location"],
            "Transports",
        ),
        doc(
            "parking-occupation",
            "Parking : occupation en temps réel",
            "Places libres dans les parcs publics de l'agglomération, actualisées chaque minute. \
             Complète l'offre de stationnement sur voirie.",
            &["places disponibles"],
            "Transports",
        ),
        doc(
            "parkings-relais",
            "Parkings relais tram",
            "Localisation et capacité des P+R situés aux terminus des lignes de tram.",
            &["P+R", "intermodalité"],
            "Transports",
        ),
        doc(
            "lignes-tramway",
            "Lignes de tramway",
            "Tracé géographique des six lignes A à F exploitées par la CTS.",
            &["transport en commun", "CTS"],
            "Transports",
        ),
        doc(
            "arrets-bus-tram",
            "Arrêts de bus et de tram",
            "Position des arrêts desservis par le réseau urbain, avec les lignes qui les \
             desservent.",
            &["transport en commun"],
            "Transports",
        ),
        doc(
            "patrimoine-arbore",
            "Patrimoine arboré",
            "Inventaire des arbres gérés par la ville : essence, hauteur, diamètre du tronc, date \
             de plantation.",
            &["arbres", "nature en ville", "biodiversité"],
            "Environnement",
        ),
        doc(
            "travaux-elagage",
            "Travaux d'élagage",
            "Calendrier des opérations d'élagage et d'abattage programmées dans les rues et les \
             parcs.",
            &["espaces verts"],
            "Environnement",
        ),
        CatalogDoc {
            dataset_id: "urban-canopy".to_owned(),
            title: "Urban canopy survey".to_owned(),
            description: Some(
                "Each tree in public parks was measured from aerial imagery; canopy cover per \
                 district."
                    .to_owned(),
            ),
            keywords: vec!["canopy".to_owned(), "environment".to_owned()],
            themes: vec!["Environment".to_owned()],
            publisher: Some("University of Strasbourg".to_owned()),
        },
        doc(
            "qualite-air",
            "Qualité de l'air",
            "Concentrations horaires de dioxyde d'azote (NO2), particules fines (PM10, PM2.5) et \
             ozone mesurées par les capteurs d'ATMO Grand Est.",
            &["pollution", "santé"],
            "Environnement",
        ),
        doc(
            "budget-primitif",
            "Budget primitif 2024",
            "Prévisions de recettes et de dépenses votées par le conseil municipal, par chapitre \
             et par fonction.",
            &["finances"],
            "Économie",
        ),
        doc(
            "compte-administratif",
            "Compte administratif 2023",
            "Exécution du budget : dépenses et recettes réalisées.",
            &["finances"],
            "Économie",
        ),
        doc(
            "toilettes-publiques",
            "Toilettes publiques",
            "Sanisettes et toilettes accessibles aux personnes à mobilité réduite, avec horaires \
             d'ouverture.",
            &["sanitaires", "accessibilité"],
            "Équipements",
        ),
        doc(
            "stationnement-payant",
            "Stationnement payant",
            "Zones, tarifs et horaires sur voirie, par secteur.",
            &["voirie", "tarifs"],
            "Transports",
        ),
        doc(
            "comptages-routiers",
            "Comptages routiers",
            "Débits de véhicules motorisés mesurés aux principaux carrefours.",
            &["trafic", "circulation"],
            "Transports",
        ),
        doc(
            "amenagements-cyclables",
            "Aménagements cyclables",
            "<p>Pistes et bandes cyclables, double-sens &amp; voies v&eacute;lo.</p>\
             <p><a href=\"https://example.invalid/plan\" class=\"lien\">Voir la \
             <strong>carte</strong></a></p>",
            &["pistes cyclables"],
            "Transports",
        ),
        doc(
            "ecoles",
            "Écoles maternelles et élémentaires",
            "Adresses, effectifs et secteurs scolaires des écoles publiques.",
            &["éducation"],
            "Éducation",
        ),
        doc(
            "mediatheques",
            "Médiathèques : prêts de documents",
            "Nombre de prêts mensuels par établissement et par type de document (livres, DVD, \
             jeux).",
            &["lecture", "culture"],
            "Culture",
        ),
        doc(
            "piscines",
            "Fréquentation des piscines",
            "Entrées journalières dans les bassins municipaux et les bains.",
            &["natation", "sport"],
            "Sport",
        ),
        doc(
            "dechets",
            "Collecte des déchets ménagers",
            "Tonnages collectés par flux : ordures ménagères, biodéchets, recyclables.",
            &["propreté"],
            "Environnement",
        ),
        doc(
            "verre",
            "Points d'apport volontaire du verre",
            "Conteneurs à verre : emplacement et fréquence de vidage.",
            &["recyclage"],
            "Environnement",
        ),
        doc(
            "eclairage",
            "Éclairage public",
            "Lampadaires, puissance et horaires d'extinction nocturne.",
            &["énergie"],
            "Équipements",
        ),
        doc(
            "marches",
            "Marchés de plein air",
            "Jours, horaires et emplacements des marchés alimentaires et des puces.",
            &["commerce"],
            "Économie",
        ),
        doc(
            "bornes-recharge",
            "Bornes de recharge pour véhicules électriques",
            "Points de charge accessibles au public, puissance et type de prise.",
            &["IRVE", "mobilité électrique"],
            "Transports",
        ),
        doc(
            "aires-jeux",
            "Aires de jeux",
            "Équipements de jeux pour enfants dans les squares.",
            &["enfance", "loisirs"],
            "Équipements",
        ),
        doc(
            "defibrillateurs",
            "Défibrillateurs (DAE)",
            "Localisation des défibrillateurs automatisés externes dans les bâtiments publics.",
            &["santé", "secours"],
            "Santé",
        ),
        doc(
            "elections",
            "Résultats des élections municipales",
            "Résultats par bureau de vote : inscrits, votants, suffrages exprimés par liste.",
            &["vote", "citoyenneté"],
            "Citoyenneté",
        ),
        doc(
            "population",
            "Population légale par quartier",
            "Recensement : nombre d'habitants par quartier et par IRIS.",
            &["démographie", "INSEE"],
            "Société",
        ),
        CatalogDoc {
            dataset_id: "bicycle-counts".to_owned(),
            title: "Bicycle counts".to_owned(),
            description: Some(
                "Hourly bicycle traffic counted at permanent counting stations.".to_owned(),
            ),
            keywords: vec!["cycling".to_owned()],
            themes: vec!["Mobility".to_owned()],
            publisher: None,
        },
        CatalogDoc {
            dataset_id: "car-parks".to_owned(),
            title: "Car parks occupancy".to_owned(),
            description: Some("Real-time free spaces in multi-storey car parks.".to_owned()),
            keywords: vec!["parking".to_owned()],
            themes: vec!["Mobility".to_owned()],
            publisher: None,
        },
        doc(
            "bruit",
            "Carte stratégique du bruit",
            "Niveaux sonores (Lden) le long des routes, des voies ferrées et des lignes de \
             tramway.",
            &["nuisances"],
            "Environnement",
        ),
        doc(
            "wifi",
            "Points d'accès wifi public",
            "Bornes wifi gratuites dans les équipements municipaux.",
            &["numérique"],
            "Équipements",
        ),
    ];
    // A dataset with nothing but a title.
    docs.push(CatalogDoc {
        dataset_id: "chantiers".to_owned(),
        title: "Chantiers en cours".to_owned(),
        ..CatalogDoc::default()
    });
    docs
}

fn set(ids: &[String]) -> BTreeSet<&str> {
    ids.iter().map(String::as_str).collect()
}

fn index() -> &'static CatalogIndex {
    static INDEX: OnceLock<CatalogIndex> = OnceLock::new();
    INDEX.get_or_init(|| CatalogIndex::build(&catalog()).expect("build"))
}

#[test]
fn index_is_send_sync_and_counts_datasets() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CatalogIndex>();
    assert_eq!(index().len(), catalog().len());
    assert!(!index().is_empty());
}

#[test]
fn velo_finds_velos_without_accent() {
    let found = search(index(), "velo");
    position(&found, "comptages-velos", "velo");
    // The accented form and its plural find the same datasets.
    assert_eq!(set(&search(index(), "vélos")), set(&found));
    assert_eq!(search(index(), "Vélo"), found);
    // A word inside HTML (`v&eacute;lo`) is found too.
    position(&found, "amenagements-cyclables", "velo");
    // Comptages vélos has it in its title: first.
    assert_eq!(found[0], "comptages-velos", "{found:?}");
}

#[test]
fn plural_and_case_do_not_matter() {
    for query in ["parkings", "parking", "PARKING", "Parkings"] {
        let found = search(index(), query);
        position(&found, "parking-occupation", query);
        position(&found, "parkings-relais", query);
        position(&found, "car-parks", query);
    }
}

#[test]
fn whole_word_versus_prefix() {
    let tramway = search(index(), "tramway");
    position(&tramway, "lignes-tramway", "tramway");
    assert!(!tramway.iter().any(|id| id == "arrets-bus-tram"), "{tramway:?}");
    assert!(!tramway.iter().any(|id| id == "parkings-relais"), "{tramway:?}");

    let prefix = search(index(), "tram*");
    for id in ["lignes-tramway", "arrets-bus-tram", "parkings-relais", "bruit"] {
        position(&prefix, id, "tram*");
    }
    // A prefix needs no accent and no whole word.
    position(&search(index(), "médi*"), "mediatheques", "médi*");
    position(&search(index(), "MEDIATH*"), "mediatheques", "MEDIATH*");
    // A lone star is no word at all.
    assert!(search(index(), "*").is_empty());
}

#[test]
fn all_words_must_match() {
    let found = search(index(), "vélo comptage");
    assert_eq!(found, ["comptages-velos"]);
    assert_eq!(set(&search(index(), "comptages vélos")), set(&found));
    // Each word alone finds more.
    position(&search(index(), "comptage"), "comptages-routiers", "comptage");
    position(&search(index(), "vélo"), "velhop-stations", "vélo");
    // A word found nowhere empties the result.
    assert!(search(index(), "vélo sous-marin").is_empty());
}

#[test]
fn accents_in_the_query_do_not_matter() {
    let accented = search(index(), "élagage");
    position(&accented, "travaux-elagage", "élagage");
    assert_eq!(search(index(), "elagage"), accented);
    assert_eq!(search(index(), "ÉLAGAGE"), accented);
    assert_eq!(search(index(), "Elagage"), accented);
    position(&search(index(), "defibrillateur"), "defibrillateurs", "defibrillateur");
    position(&search(index(), "ecoles elementaires"), "ecoles", "ecoles elementaires");
}

#[test]
fn english_stemming() {
    let found = search(index(), "trees");
    position(&found, "urban-canopy", "trees");
    position(&search(index(), "counting"), "bicycle-counts", "counting");
    position(&search(index(), "bicycles count"), "bicycle-counts", "bicycles count");
}

#[test]
fn function_words_are_optional() {
    let found = search(index(), "qualité de l'air");
    assert_eq!(found[0], "qualite-air", "{found:?}");
    let found = search(index(), "trees in the parks");
    assert_eq!(found, ["urban-canopy"]);
    // A query of function words only still requires them all.
    let found = search(index(), "de la");
    assert!(!found.is_empty());
}

#[test]
fn title_matches_rank_before_description_matches() {
    let found = search(index(), "stationnement");
    let title = position(&found, "stationnement-payant", "stationnement");
    let description = position(&found, "parking-occupation", "stationnement");
    assert!(title < description, "{found:?}");

    let found = search(index(), "tramway");
    let title = position(&found, "lignes-tramway", "tramway");
    let description = position(&found, "bruit", "tramway");
    assert!(title < description, "{found:?}");

    // Keywords add to the description.
    let found = search(index(), "voirie");
    let keyword = position(&found, "stationnement-payant", "voirie");
    let description = position(&found, "parking-occupation", "voirie");
    assert!(keyword < description, "{found:?}");
}

#[test]
fn near_spellings_are_found() {
    position(&search(index(), "stationement"), "stationnement-payant", "stationement");
    position(&search(index(), "piscnes"), "piscines", "piscnes");
    position(&search(index(), "toiltetes"), "toilettes-publiques", "toiltetes");
    // Short words are not fuzzy: "bos" is not "bus".
    assert!(search(index(), "bos").is_empty());
}

#[test]
fn html_markup_is_not_indexed() {
    for query in ["href", "strong", "class", "lien", "example", "invalid", "eacute", "amp"] {
        assert!(search(index(), query).is_empty(), "{query:?}");
    }
    position(&search(index(), "carte"), "amenagements-cyclables", "carte");
    position(&search(index(), "double sens"), "amenagements-cyclables", "double sens");
}

#[test]
fn limit_is_respected() {
    let index = index();
    let everything = index.search("strasbourg", usize::MAX).expect("search");
    assert_sorted(&everything);
    // Every dataset but the three without a Strasbourg publisher.
    assert_eq!(everything.len(), index.len() - 3, "{:?}", ids(&everything));
    let top = index.search("strasbourg", 5).expect("search");
    assert_eq!(top.len(), 5);
    assert_eq!(ids(&top), ids(&everything[..5]));
    assert!(index.search("strasbourg", 0).expect("search").is_empty());
    assert_eq!(index.search("strasbourg", 1).expect("search").len(), 1);
}

#[test]
fn empty_queries_find_nothing() {
    for query in ["", " ", "\t\n  ", "*", "\"\"", "()", " - ", "…", "🚲"] {
        assert!(index().search(query, 10).expect("search").is_empty(), "{query:?}");
    }
}

#[test]
fn nasty_inputs_never_fail() {
    let long_text: String =
        "Comptages vélos « qualité » de l'air (PM10) AND NOT tram* : \"x\" -y ".repeat(200);
    assert!(long_text.len() > 10_000);
    let long_word = "a".repeat(10_000);
    let symbols: String =
        "\"'()[]{}<>:;!?*+-~^|&\\/.,@#%$=_`".chars().cycle().take(10_000).collect();
    let mut nasty: Vec<&str> = vec![
        "\"unbalanced",
        "unbalanced\"",
        "\"vélo",
        "AND",
        "OR",
        "NOT",
        "AND OR",
        "AND OR NOT",
        "vélo AND",
        "NOT vélo",
        ":",
        "::",
        "title:vélo",
        "-x",
        "-vélo",
        "+vélo -tram",
        "*",
        "**",
        "***vélo",
        "*vélo",
        "vélo*",
        "vél*o*",
        "a*b*c*",
        "é*",
        "(",
        ")",
        "(vélo",
        "vélo)",
        "((((",
        "[a TO z]",
        "{a TO z}",
        "vélo~2",
        "vélo^3",
        "vélo^",
        "/reg.*ex/",
        "\\",
        "\\\"",
        "'",
        "l'",
        "d'élagage",
        "?",
        "&&",
        "||",
        "!",
        "🚲 vélo",
        "中文 数据",
        "Ǆemal",
        "البيانات",
        "ve\u{301}lo",
        "vé\u{200B}lo",
        "\u{FEFF}vélo",
        "\0",
        "\u{FFFF}",
        "ﬁnances",
        "ǅ*",
        "ß*",
        "ŒUVRE",
        "0",
        "2024",
        "PM2.5",
        "P+R",
        "<p>vélo</p>",
        "&eacute;",
        "%20",
        "SELECT * FROM datasets",
        "'; DROP TABLE datasets; --",
    ];
    nasty.push(&long_text);
    nasty.push(&long_word);
    nasty.push(&symbols);
    for query in nasty {
        let hits = index().search(query, 10).unwrap_or_else(|e| panic!("{query:?}: {e}"));
        assert!(hits.len() <= 10);
        assert_sorted(&hits);
    }
    // A 10 kB word is no word; a page of text is read as its first words.
    assert!(search(index(), &long_word).is_empty());
    assert!(index().search(&long_text, 10).is_ok());
    // Syntax characters are separators, not operators.
    assert_eq!(search(index(), "title:vélo"), search(index(), "title vélo"));
    position(&search(index(), "-vélo"), "comptages-velos", "-vélo");
    position(&search(index(), "(vélo)"), "comptages-velos", "(vélo)");
    position(&search(index(), "\"vélo"), "comptages-velos", "\"vélo");
    position(&search(index(), "PM2.5"), "qualite-air", "PM2.5");
    position(&search(index(), "P+R"), "parkings-relais", "P+R");
}

#[test]
fn duplicate_ids_keep_the_last_version() {
    let first = CatalogDoc {
        dataset_id: "d".to_owned(),
        title: "Piscines".to_owned(),
        ..CatalogDoc::default()
    };
    let second = CatalogDoc { title: "Médiathèques".to_owned(), ..first.clone() };
    let index = CatalogIndex::build(&[first, second]).expect("build");
    assert_eq!(index.len(), 1);
    assert!(search(&index, "piscines").is_empty());
    assert_eq!(search(&index, "médiathèques"), ["d"]);
}

#[test]
fn empty_catalog() {
    let index = CatalogIndex::build(&[]).expect("build");
    assert!(index.is_empty());
    assert_eq!(index.len(), 0);
    assert!(search(&index, "vélo").is_empty());
}
