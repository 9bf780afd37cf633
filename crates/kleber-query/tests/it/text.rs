//! Tests of the ODSQL text functions and of full-text matching (bare strings, `LIKE`,
//! `search()`, `suggest()`, `startswith()`) on French text.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, ListBuilder, StringArray, StringBuilder};
use kleber_types::{Field, FieldType};

use crate::common::TestDataset;

/// Car parks, stations and events; row 5 has no text at all.
fn dataset() -> TestDataset {
    let mut categories = Field::new("categories", "Catégories", FieldType::Text);
    categories.annotations.insert("multivalued".into(), vec![",".into()]);
    let fields = vec![
        Field::new("nom", "Nom", FieldType::Text),
        Field::new("description", "Description", FieldType::Text),
        categories,
        Field::new("places", "Places", FieldType::Int),
        Field::new("ville", "Ville", FieldType::Text),
    ];
    let nom = StringArray::from(vec![
        Some("Parking Sainte Aurélie Gare"),
        Some("Vélo-station Gare Centrale"),
        Some("Hœnheim gare"),
        Some("Parking Gutenberg"),
        Some("Festival des Musées"),
        None,
        Some("THE BOOK OF SECRETS"),
    ]);
    let description = StringArray::from(vec![
        Some("Parking relais près de la gare centrale"),
        Some("Location de vélos"),
        Some("Parc relais tram"),
        Some("Au cœur de la ville"),
        Some("Expositions et concerts au théâtre"),
        None,
        Some("Lecture publique"),
    ]);
    let mut cats = ListBuilder::new(StringBuilder::new());
    cats.append_value([Some("Parking"), Some("Transport")]);
    cats.append_value([Some("Vélo"), Some("Transport")]);
    cats.append_value([Some("Parking"), Some("Tram")]);
    cats.append_null();
    cats.append_value([Some("Culture"), Some("Musique")]);
    cats.append_null();
    cats.append_value([Some("Littérature")]);
    let places =
        Int64Array::from(vec![Some(400), Some(50), Some(200), Some(600), None, Some(10), Some(30)]);
    let ville = StringArray::from(vec![
        Some("Strasbourg"),
        Some("Strasbourg"),
        Some("Hœnheim"),
        Some("Strasbourg"),
        Some("Strasbourg"),
        None,
        Some("Illkirch-Graffenstaden"),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(nom),
        Arc::new(description),
        Arc::new(cats.finish()),
        Arc::new(places),
        Arc::new(ville),
    ];
    TestDataset::new(fields, columns)
}

/// Asserts the number of records matching each `where`.
async fn assert_counts(ds: &TestDataset, cases: &[(&str, u64)]) {
    for (where_, expected) in cases {
        let got = ds.count(where_).await.unwrap_or_else(|e| panic!("{where_}: {e}"));
        assert_eq!(got, *expected, "where={where_}");
    }
}

/// Asserts that `where` is an ODSQL error whose message contains `needle`.
async fn assert_odsql_error(ds: &TestDataset, where_: &str, needle: &str) {
    match ds.count(where_).await {
        Err(e @ kleber_query::Error::Odsql { .. }) => {
            assert!(e.to_string().contains(needle), "where={where_}: {e}");
        }
        other => panic!("where={where_}: expected an ODSQL error, got {other:?}"),
    }
}

#[tokio::test]
async fn bare_strings_ignore_accents_case_and_plurals() {
    let ds = dataset();
    assert_counts(
        &ds,
        &[
            ("\"velo\"", 1),
            ("\"VÉLOS\"", 1),
            ("\"parkings\"", 3),
            ("\"parking\"", 3),
            ("\"GARE\"", 3),
            ("\"gares\"", 3),
            ("\"hoenheim\"", 1),
            ("\"Hœnheim\"", 1),
            ("\"coeur\"", 1),
            ("\"theatres\"", 1),
            ("\"musee\"", 1),
            ("\"exposition\"", 1),
            ("\"transports\"", 2),
            ("\"nulle-part\"", 0),
        ],
    )
    .await;
}

#[tokio::test]
async fn bare_strings_prefixes_and_word_boundaries() {
    let ds = dataset();
    assert_counts(
        &ds,
        &[
            ("\"gar*\"", 3),
            ("\"centr\"", 0),
            ("\"centr*\"", 2),
            ("\"gut*\"", 1),
            ("\"gutenb\"", 0),
            ("\"station\"", 1),
            ("\"ark\"", 0),
        ],
    )
    .await;
}

#[tokio::test]
async fn bare_strings_combine_with_boolean_operators() {
    let ds = dataset();
    assert_counts(
        &ds,
        &[
            // Multi-word strings are ANDed, words may come from different fields.
            ("\"parking gare\"", 2),
            ("\"parking tram\"", 1),
            ("\"sainte gare velo\"", 0),
            ("\"parking\" AND \"gare\"", 2),
            ("\"velo\" OR \"musee\"", 2),
            // NOT keeps records without the word, those without text included.
            ("NOT \"gare\"", 4),
            ("\"parking\" AND NOT \"gare\"", 1),
            ("\"parking\" AND places > 300", 2),
        ],
    )
    .await;
}

#[tokio::test]
async fn like_searches_words_of_one_field() {
    let ds = dataset();
    assert_counts(
        &ds,
        &[
            ("nom LIKE \"sainte gare\"", 1),
            ("nom LIKE \"gare sainte\"", 1),
            ("nom LIKE \"GARES\"", 3),
            ("description LIKE \"gare\"", 1),
            ("nom LIKE \"relais\"", 0),
            ("description LIKE \"velo\"", 1),
            ("categories LIKE \"musique\"", 1),
            ("nom LIKE \"gut*\"", 1),
            ("nom NOT LIKE \"gare\"", 4),
        ],
    )
    .await;
}

#[tokio::test]
async fn search_tolerates_typos_and_completes_the_last_word() {
    let ds = dataset();
    assert_counts(
        &ds,
        &[
            ("search(\"parkng gutenbrg\")", 1),
            ("search(*, \"parkng gutenbrg\")", 1),
            ("search(nom, \"prking\")", 2),
            ("search(nom, \"sainte aur\")", 1),
            ("search(nom, \"aur sainte\")", 0),
            ("search(nom, \"bok of secret\")", 1),
            ("search(nom, \"hoenheim gare\")", 1),
            ("search(nom, \"PARKINGS\")", 2),
            ("search(description, \"theatre\")", 1),
            ("search(categories, \"transpor\")", 2),
            // Two letters allow no typo; a prefix only counts for the last word.
            ("search(nom, \"of\")", 1),
            ("search(nom, \"ok\")", 0),
            ("search(nom, \"gut parking\")", 0),
            ("search(nom, \"parking gut\")", 1),
            ("search(\"gutenberg\") AND search(ville, \"strasbourg\")", 1),
            ("\"parking\" AND search(ville, \"strasb\")", 2),
            ("NOT search(nom, \"gare\")", 4),
        ],
    )
    .await;
}

#[tokio::test]
async fn search_looks_only_in_the_fields_given() {
    let ds = dataset();
    assert_counts(
        &ds,
        &[
            ("search(nom, \"gutenberg\")", 1),
            ("search(description, \"gutenberg\")", 0),
            ("search(nom, \"relais\")", 0),
            ("search(nom, description, \"relais\")", 2),
            ("search(description, nom, description, \"relais\")", 2),
            ("search(*, \"relais\")", 2),
            ("search(\"relais\")", 2),
            ("search(ville, \"hoenheim\")", 1),
        ],
    )
    .await;
}

#[tokio::test]
async fn suggest_matches_parts_of_words_exactly() {
    let ds = dataset();
    assert_counts(
        &ds,
        &[
            ("suggest(\"relie\")", 1),
            ("suggest(\"RÉLIE\")", 1),
            ("suggest(nom, \"tenb\")", 1),
            ("suggest(nom, \"gutenbrg\")", 0),
            ("suggest(nom, \"ark\")", 2),
            ("suggest(\"ark\")", 3),
            ("suggest(*, \"ark\")", 3),
            ("suggest(nom, \"sta gar\")", 1),
            ("suggest(nom, \"ation\")", 1),
            ("suggest(categories, \"usiq\")", 1),
            ("suggest(nom, \"parkings\")", 0),
        ],
    )
    .await;
}

#[tokio::test]
async fn startswith_tests_the_beginning_of_values() {
    let ds = dataset();
    assert_counts(
        &ds,
        &[
            ("startswith(nom, \"parking\")", 2),
            ("startswith(nom, \"PARKING SAINTE\")", 1),
            ("startswith(nom, \"HOENHEIM\")", 1),
            ("startswith(nom, \"vélo-st\")", 1),
            ("startswith(nom, \"velo st\")", 0),
            ("startswith(nom, \"gare\")", 0),
            ("startswith(nom, ville, \"hoen\")", 1),
            ("startswith(nom, ville, \"illkirch\")", 1),
            ("startswith(nom, ville, \"stras\")", 4),
            ("startswith(*, \"stras\")", 4),
            ("startswith(categories, \"tra\")", 3),
            ("startswith(nom, \"\")", 6),
        ],
    )
    .await;
}

#[tokio::test]
async fn null_values_never_match() {
    let ds = dataset();
    assert_counts(
        &ds,
        &[
            ("places = 10", 1),
            ("nom IS NULL", 1),
            (
                "places = 10 AND (\"a*\" OR nom LIKE \"a*\" OR search(\"a\") OR suggest(\"a\") \
                 OR startswith(nom, description, ville, categories, \"\"))",
                0,
            ),
            // Text without any word filters nothing.
            ("search(nom, \"\")", 7),
        ],
    )
    .await;
}

#[tokio::test]
async fn text_functions_work_in_select() {
    let ds = dataset();
    let rows = ds
        .select(
            "nom, startswith(nom, \"parking\") as p",
            Some("search(nom, \"guttenberg\")"),
            None,
            None,
        )
        .await
        .expect("query");
    assert_eq!(rows, vec![serde_json::json!({"nom": "Parking Gutenberg", "p": true})]);
}

#[tokio::test]
async fn text_functions_report_mistakes() {
    let ds = dataset();
    for (where_, needle) in [
        ("search(places, \"x\")", "text fields only; `places` is a int field"),
        ("suggest(nom, places, \"x\")", "`places` is a int field"),
        ("startswith(places, \"1\")", "text fields only"),
        ("search(nom)", "last argument of search() must be the text"),
        ("search(nom, 3)", "as a string literal"),
        ("suggest(nom, ville)", "last argument of suggest()"),
        ("search()", "search() needs the text to look for"),
        ("startswith(\"x\")", "needs the field to test"),
        ("startswith(*)", "last argument of startswith()"),
        ("search(\"a\", \"b\")", "only one text to look for"),
        ("search(inconnu, \"x\")", "Unknown field: inconnu."),
        ("search(Nom, \"x\")", "Did you mean `nom`?"),
        ("suggest(lower(nom), \"x\")", "takes text fields (or `*`)"),
        ("nom LIKE 3", "LIKE expects a string"),
    ] {
        assert_odsql_error(&ds, where_, needle).await;
    }
}
