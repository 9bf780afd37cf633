//! Data fidelity of imports: headers as spreadsheets export them (repeated names, empty names,
//! years, trailing delimiters), and files that are not delimited text.

use kleber_ingest::ImportOptions;
use kleber_types::FieldType;

use crate::util::{Imported, import, temp_file};

fn csv(content: &str) -> Imported {
    let (_dir, path) = temp_file("data.csv", content.as_bytes());
    import(&path, &ImportOptions::default())
}

fn names_and_labels(i: &Imported) -> Vec<(String, String)> {
    i.outcome.fields.iter().map(|f| (f.name.clone(), f.label.clone())).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(n, l)| ((*n).to_owned(), (*l).to_owned())).collect()
}

#[test]
fn a_repeated_header_name_gets_a_numeric_suffix_and_keeps_its_label() {
    let i = csv("Nom;Montant;Date;Montant;Nom\n\
                 Alpha;12,5;05/03/2024;3,25;A\n\
                 Beta;7;06/03/2024;1,5;B\n");
    assert_eq!(i.outcome.detected.has_header, Some(true));
    assert_eq!(
        names_and_labels(&i),
        pairs(&[
            ("nom", "Nom"),
            ("montant", "Montant"),
            ("date", "Date"),
            ("montant_2", "Montant"),
            ("nom_2", "Nom")
        ])
    );
    assert_eq!(i.rows(), 2, "the header is not a record");
    assert!(i.outcome.rejected.is_empty(), "{:?}", i.outcome.rejected);
    // Decimal commas and dates are still recognised.
    assert_eq!(i.type_of("montant"), FieldType::Double);
    assert_eq!(i.type_of("montant_2"), FieldType::Double);
    assert_eq!(i.type_of("date"), FieldType::Date);
    assert_eq!(i.double("montant", 0), Some(12.5));
    assert_eq!(i.double("montant_2", 1), Some(1.5));
    // 2024-03-05 is day 19787 since 1970-01-01.
    assert_eq!(i.date("date", 0), Some(19787));
    assert_eq!(i.str("nom_2", 1).as_deref(), Some("B"));
}

#[test]
fn a_utf8_bom_before_a_repeated_quoted_header_is_not_part_of_the_first_name() {
    let i = csv("\u{feff}\"Code postal\";\"Code postal\";\" Nom de la commune \"\n\
                 67000;67100;Strasbourg\n67200;67300;Schiltigheim\n");
    assert_eq!(
        names_and_labels(&i),
        pairs(&[
            ("code_postal", "Code postal"),
            ("code_postal_2", "Code postal"),
            ("nom_de_la_commune", "Nom de la commune")
        ])
    );
    assert_eq!(i.int("code_postal_2", 1), Some(67300));
}

#[test]
fn names_that_normalise_to_the_same_technical_name_stay_distinct() {
    let i = csv("Prix (€);prix;PRIX\n1,5;2;3\n4;5;6\n");
    assert_eq!(
        names_and_labels(&i),
        pairs(&[("prix", "Prix (€)"), ("prix_2", "prix"), ("prix_3", "PRIX")])
    );
    assert_eq!(i.double("prix", 0), Some(1.5));
    assert_eq!(i.int("prix_3", 1), Some(6));
}

#[test]
fn a_suffixed_name_already_in_the_header_is_not_taken_twice() {
    let i = csv("a;a_2;a\n1;2;3\n");
    assert_eq!(i.names(), ["a", "a_2", "a_3"]);
    assert_eq!(i.int("a_3", 0), Some(3));
}

#[test]
fn an_empty_column_is_kept_as_text_without_values() {
    let i = csv("commune;vide;population\nStrasbourg;;290000\nColmar;;67000\n");
    assert_eq!(i.outcome.detected.has_header, Some(true));
    assert_eq!(i.names(), ["commune", "vide", "population"]);
    assert_eq!(i.type_of("vide"), FieldType::Text);
    assert_eq!(i.str("vide", 0), None);
    assert_eq!(i.type_of("population"), FieldType::Int);
    assert_eq!(i.int("population", 1), Some(67000));
}

#[test]
fn empty_header_names_become_column_positions() {
    let i = csv("id;;valeur;\n1;x;2,5;\n2;y;3;\n");
    assert_eq!(i.outcome.detected.has_header, Some(true));
    assert_eq!(
        names_and_labels(&i),
        pairs(&[("id", "id"), ("column_2", "column_2"), ("valeur", "valeur")])
    );
    assert_eq!(i.str("column_2", 1).as_deref(), Some("y"));
    assert_eq!(i.double("valeur", 0), Some(2.5));
    assert!(i.outcome.rejected.is_empty());
}

#[test]
fn an_unnamed_column_with_values_at_the_end_is_kept() {
    let i = csv("id;nom;\n1;a;x\n2;b;\n");
    assert_eq!(i.names(), ["id", "nom", "column_3"]);
    assert_eq!(i.str("column_3", 0).as_deref(), Some("x"));
}

#[test]
fn a_trailing_delimiter_on_every_line_makes_no_phantom_column() {
    for content in [
        "nom;age;\nBob;3;\nAl;4;\n",
        "nom;age;;\nBob;3;;\nAl;4;;\n",
        "nom;age;\nBob;3\nAl;4\n",
        "nom;age\nBob;3;\nAl;4;\n",
    ] {
        let i = csv(content);
        assert_eq!(i.names(), ["nom", "age"], "{content:?}");
        assert_eq!(i.rows(), 2, "{content:?}");
        assert!(i.outcome.rejected.is_empty(), "{content:?}: {:?}", i.outcome.rejected);
        assert_eq!(i.type_of("age"), FieldType::Int, "{content:?}");
        assert_eq!(i.int("age", 1), Some(4), "{content:?}");
    }
    // Without a header too.
    let i = csv("1;2,5;\n2;3;\n");
    assert_eq!(i.outcome.detected.has_header, Some(false));
    assert_eq!(i.names(), ["column_1", "column_2"]);
    assert_eq!(i.double("column_2", 0), Some(2.5));
}

#[test]
fn a_header_of_years_over_figures_is_a_header() {
    let i = csv("2019;2020;2021\n12,5;13;14\n7;8,25;9\n");
    assert_eq!(i.outcome.detected.has_header, Some(true));
    assert_eq!(
        names_and_labels(&i),
        pairs(&[("f_2019", "2019"), ("f_2020", "2020"), ("f_2021", "2021")])
    );
    assert_eq!(i.rows(), 2);
    assert_eq!(i.type_of("f_2019"), FieldType::Double);
    assert_eq!(i.double("f_2020", 1), Some(8.25));

    let i = csv("commune;2019;2020\nStrasbourg;284677;287228\nColmar;67730;67214\n");
    assert_eq!(i.outcome.detected.has_header, Some(true));
    assert_eq!(i.names(), ["commune", "f_2019", "f_2020"]);
    assert_eq!(i.type_of("f_2020"), FieldType::Int);
    assert_eq!(i.int("f_2019", 1), Some(67730));
}

#[test]
fn a_first_row_of_years_over_more_years_is_data() {
    let i = csv("2019;2020\n2021;2022\n2023;2024\n");
    assert_eq!(i.outcome.detected.has_header, Some(false));
    assert_eq!(i.rows(), 3);
    assert_eq!(i.int("column_1", 0), Some(2019));
    // Other numbers in the first row are data, as before.
    let i = csv("12;2020\n13;2021\n");
    assert_eq!(i.outcome.detected.has_header, Some(false));
    assert_eq!(i.int("column_2", 0), Some(2020));
    // Repeated years are not a header either.
    let i = csv("2020;2020\n1,5;2\n");
    assert_eq!(i.outcome.detected.has_header, Some(false));
}

#[test]
fn a_header_shorter_than_its_rows_gets_unnamed_columns() {
    let i = csv("id;nom\n1;a;2,5\n2;b;3\n3;c;\n");
    assert_eq!(i.outcome.detected.has_header, Some(true));
    assert_eq!(i.names(), ["id", "nom", "column_3"]);
    assert!(i.outcome.rejected.is_empty(), "{:?}", i.outcome.rejected);
    assert_eq!(i.type_of("column_3"), FieldType::Double);
    assert_eq!(i.double("column_3", 0), Some(2.5));
    assert_eq!(i.double("column_3", 2), None);
}

#[test]
fn a_header_row_of_empty_names_is_a_header_that_names_nothing() {
    let i = csv(";;\n1;Strasbourg;2,5\n2;Colmar;3\n");
    assert_eq!(i.outcome.detected.has_header, Some(true));
    assert_eq!(i.names(), ["column_1", "column_2", "column_3"]);
    assert_eq!(i.rows(), 2, "the empty row is not a record of nulls");
    assert_eq!(i.type_of("column_1"), FieldType::Int);
    assert_eq!(i.str("column_2", 1).as_deref(), Some("Colmar"));
}

#[test]
fn a_header_that_starts_like_a_file_signature_is_still_a_header() {
    let i = csv("PAR1;PAR2\n1;2\n");
    assert_eq!(i.names(), ["par1", "par2"]);
    assert_eq!(i.int("par2", 0), Some(2));
}
