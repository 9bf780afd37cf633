//! A data directory written before organizations existed (catalog schema 2) is migrated on
//! open: its datasets go to the `--default-org` organization and stay public.

use std::path::Path;

use kleber_store::{Error, Store, Visibility};
use kleber_types::{Field, FieldType};
use rusqlite::{Connection, params};

/// Writes a schema-2 catalog with datasets `ids` (one version each) and their folders.
fn write_v2(dir: &Path, ids: &[&str]) {
    let conn = Connection::open(dir.join("catalog.sqlite")).unwrap();
    conn.execute_batch(include_str!("schema_v2.sql")).unwrap();
    let fields = serde_json::to_string(&[Field::new("nom", "Nom", FieldType::Text)]).unwrap();
    for (i, id) in ids.iter().enumerate() {
        let uid = format!("da_00000{i}");
        conn.execute(
            "INSERT INTO datasets (uid, id, title, metas, current_version, created_at, modified_at)
             VALUES (?1, ?2, ?3, '{\"publisher\":\"Ville\"}', 1, '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')",
            params![uid, id, format!("Title of {id}")],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO versions (dataset_uid, version, fields, records_count, created_at)
             VALUES (?1, 1, ?2, 3, '2024-01-01T00:00:00+00:00')",
            params![uid, fields],
        )
        .unwrap();
        std::fs::create_dir_all(dir.join("datasets").join(&uid).join("v1")).unwrap();
        conn.execute("UPDATE generation SET n = n + 1", []).unwrap();
    }
}

fn user_version(dir: &Path) -> i64 {
    let conn = Connection::open(dir.join("catalog.sqlite")).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
}

#[test]
fn datasets_of_a_schema_2_catalog_go_to_the_default_org_and_stay_public() {
    let dir = tempfile::tempdir().unwrap();
    write_v2(dir.path(), &["parkings", "velhop"]);
    assert_eq!(user_version(dir.path()), 2);

    let store = Store::open_with_default_org(dir.path(), "ville-strasbourg").unwrap();
    assert_eq!(user_version(dir.path()), 19);
    // Schema 11: the migrated datasets have no remote source yet.
    assert_eq!(store.catalog().source("parkings").unwrap(), None);
    // Schema 19: versions published before comments existed have none.
    let infos = store.catalog().version_infos("parkings").unwrap();
    assert!(!infos.is_empty());
    assert!(infos.iter().all(|v| v.comment.is_none()), "{infos:?}");
    let datasets = store.list_datasets().unwrap();
    assert_eq!(datasets.len(), 2);
    for d in &datasets {
        assert_eq!(d.organization, "ville-strasbourg", "{}", d.id);
        assert_eq!(d.visibility, Visibility::Public, "{}", d.id);
        assert_eq!(d.title, format!("Title of {}", d.id));
        assert_eq!(d.metas["publisher"], "Ville");
        assert_eq!(d.version.records_count, 3);
    }
    let catalog = store.catalog();
    let org = catalog.get_org("ville-strasbourg").unwrap().expect("created");
    assert_eq!(org.name, "ville-strasbourg");
    assert_eq!(catalog.default_org().unwrap(), "ville-strasbourg");
    let audit = catalog.audit(10).unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str()), ("catalog.migrate", "system"));
    assert_eq!(audit[0].details["datasets_moved"], 2);
    assert_eq!(audit[0].details["default_org"], "ville-strasbourg");
    drop(store);

    // A second start with another --default-org changes nothing: the migration is done.
    let store = Store::open_with_default_org(dir.path(), "autre").unwrap();
    assert_eq!(store.catalog().default_org().unwrap(), "ville-strasbourg");
    assert!(store.catalog().get_org("autre").unwrap().is_none());
    assert_eq!(store.catalog().audit(10).unwrap().len(), 1);
}

#[test]
fn an_invalid_default_org_is_refused_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    write_v2(dir.path(), &["parkings"]);
    let Err(error) = Store::open_with_default_org(dir.path(), "Ville de Strasbourg") else {
        panic!("an invalid organization id was accepted");
    };
    assert!(matches!(error, Error::InvalidOrgId { .. }), "{error}");
    assert!(error.to_string().contains("lowercase letters"), "{error}");
    assert_eq!(user_version(dir.path()), 2);
}

#[test]
fn a_new_directory_gets_the_default_org_at_generation_0() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), 19);
    assert_eq!(store.catalog().default_org().unwrap(), "default");
    assert_eq!(store.generation().unwrap(), 0);
}
