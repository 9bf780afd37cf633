//! XLSX: the real export.

use kleber_ingest::{ImportOptions, LocationKind};
use kleber_types::FieldType;

use crate::util::{import, micros, real, try_import};

#[test]
fn velib_xlsx() {
    let i =
        import(&real("paris_velib-disponibilite-en-temps-reel.xlsx"), &ImportOptions::default());
    assert_eq!(i.outcome.rows, 1471);
    assert_eq!(i.outcome.fields.len(), 15);
    // Identifiers stored as text stay text.
    assert_eq!(i.type_of("identifiant_station"), FieldType::Text);
    assert_eq!(i.type_of("code_insee_communes_equipees"), FieldType::Text);
    assert_eq!(i.type_of("nombre_bornettes_libres"), FieldType::Int);
    assert_eq!(i.type_of("coordonnees_geographiques"), FieldType::GeoPoint2d);
    assert_eq!(i.type_of("actualisation_de_la_donnee"), FieldType::Datetime);
    assert_eq!(i.field("capacite_de_la_station").label, "Capacité de la station");
    assert_eq!(i.str("identifiant_station", 0).as_deref(), Some("16107"));
    assert_eq!(i.str("nom_station", 0).as_deref(), Some("Benjamin Godard - Victor Hugo"));
    assert_eq!(i.int("nombre_bornettes_libres", 0), Some(27));
    assert_eq!(i.point("coordonnees_geographiques", 0), Some((2.275725, 48.865983)));
    assert_eq!(i.ts("actualisation_de_la_donnee", 0), Some(micros("2025-03-11T21:52:13+01:00")));
    let r = i.find("nom_station", "Rouget de L'isle - Watteau");
    assert_eq!(i.str("code_insee_communes_equipees", r).as_deref(), Some("94081"));
}

#[test]
fn sheet_by_name_and_missing_sheet() {
    let path = real("paris_velib-disponibilite-en-temps-reel.xlsx");
    let opts = ImportOptions { sheet: Some("Feuil1".to_owned()), ..ImportOptions::default() };
    assert_eq!(import(&path, &opts).outcome.rows, 1471);
    let opts = ImportOptions { sheet: Some("Nope".to_owned()), ..ImportOptions::default() };
    let Err((e, dir)) = try_import(&path, &opts) else { panic!("missing sheet accepted") };
    let msg = e.to_string();
    assert!(msg.contains("Nope") && msg.contains("Feuil1"), "{msg}");
    assert!(crate::util::files_in(dir.path()).is_empty());
}

#[test]
fn override_rejects_with_the_sheet_row() {
    let path = real("paris_velib-disponibilite-en-temps-reel.xlsx");
    let mut opts = ImportOptions::default();
    opts.type_overrides.insert("Nom station".to_owned(), FieldType::Int);
    let i = import(&path, &opts);
    assert_eq!(i.outcome.rows, 0);
    assert_eq!(i.outcome.rejected.len(), 1471);
    let first = &i.outcome.rejected[0];
    assert_eq!((first.line, first.location_kind), (2, LocationKind::SheetRow));
    assert_eq!(first.reason, "\"Benjamin Godard - Victor Hugo\" is not an int");
}
