//! Organizations, users, memberships, grants, keys and the audit log in the SQLite catalog.

use kleber_store::{
    Actor, Error, NewApiKey, NewOrganization, NewUser, OrgKind, Role, Scope, Store, Visibility,
};
use kleber_types::{Field, FieldType};

fn org(id: &str) -> NewOrganization<'_> {
    NewOrganization {
        id,
        name: "Eurométropole",
        kind: OrgKind::Metropolis,
        description: Some("La métropole"),
        website: None,
        logo: None,
    }
}

fn user<'a>(email: &'a str) -> NewUser<'a> {
    NewUser { email, name: "Anne", admin: false, password_hash: None }
}

/// Publishes an (empty-file) version of `id` with the given access.
fn publish(
    store: &Store,
    id: &str,
    org: Option<&str>,
    visibility: Option<Visibility>,
) -> kleber_store::Result<()> {
    let mut pending = store.begin_version(id)?;
    std::fs::write(pending.data_path(), b"not parquet: the store does not read it").unwrap();
    pending.set_access(org, visibility, Actor::Operator(Some("tester".to_owned())));
    pending.commit(&[Field::new("nom", "Nom", FieldType::Text)], 0, 0, None, None)?;
    Ok(())
}

const OP: Actor = Actor::Operator(None);

#[test]
fn organizations_users_and_memberships_with_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let c = store.catalog();
    let before = store.generation().unwrap();
    let created = c.create_org(&OP, &org("ems")).unwrap();
    assert_eq!((created.id.as_str(), created.kind), ("ems", OrgKind::Metropolis));
    assert!(store.generation().unwrap() > before, "account changes bump the generation");
    assert!(matches!(c.create_org(&OP, &org("ems")), Err(Error::OrgExists { .. })));
    assert!(matches!(c.create_org(&OP, &org("Bad Id")), Err(Error::InvalidOrgId { .. })));
    let ids: Vec<String> = c.list_orgs().unwrap().into_iter().map(|o| o.id).collect();
    assert_eq!(ids, ["default", "ems"]);

    let anne = c.create_user(&OP, &user("Anne@Example.org")).unwrap();
    assert_eq!(anne.email, "Anne@Example.org");
    assert!(matches!(c.create_user(&OP, &user("anne@example.ORG")), Err(Error::UserExists { .. })));
    assert!(matches!(c.create_user(&OP, &user("anne")), Err(Error::InvalidEmail { .. })));
    assert_eq!(c.get_user(" ANNE@example.org ").unwrap().map(|u| u.id), Some(anne.id));

    c.set_member(&OP, "ems", "anne@example.org", Role::Viewer).unwrap();
    c.set_member(&OP, "ems", "anne@example.org", Role::Editor).unwrap();
    let members = c.members("ems").unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].1, Role::Editor);
    assert!(matches!(
        c.set_member(&OP, "nope", "anne@example.org", Role::Viewer),
        Err(Error::OrgNotFound { .. })
    ));
    assert!(matches!(
        c.set_member(&OP, "ems", "bob@example.org", Role::Viewer),
        Err(Error::UserNotFound { .. })
    ));
    c.remove_member(&OP, "ems", "anne@example.org").unwrap();
    assert!(matches!(
        c.remove_member(&OP, "ems", "anne@example.org"),
        Err(Error::NotAMember { .. })
    ));

    let audit = c.audit(100).unwrap();
    let actions: Vec<&str> = audit.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "catalog.migrate",
            "org.create",
            "user.create",
            "member.set",
            "member.set",
            "member.remove"
        ],
        "refused changes are not logged"
    );
    assert_eq!(audit[0].actor, "operator:unknown");
}

#[test]
fn publishing_into_an_organization_with_a_visibility() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.catalog().create_org(&OP, &org("ems")).unwrap();
    publish(&store, "ouvert", None, None).unwrap();
    publish(&store, "interne", Some("ems"), Some(Visibility::Restricted)).unwrap();
    let error = publish(&store, "perdu", Some("nope"), None).unwrap_err();
    assert!(matches!(error, Error::OrgNotFound { .. }), "{error}");
    assert!(store.get_dataset("perdu").unwrap().is_none());
    let known = store.catalog().known_versions().unwrap();
    assert_eq!(known.len(), 2);
    for entry in std::fs::read_dir(dir.path().join("datasets")).unwrap() {
        let path = entry.unwrap().path();
        let uid = path.file_name().unwrap().to_string_lossy().into_owned();
        if !known.contains_key(&uid) {
            assert!(!path.join("v1").exists(), "the refused version stayed: {}", path.display());
        }
    }

    let ouvert = store.get_dataset("ouvert").unwrap().unwrap();
    assert_eq!((ouvert.organization.as_str(), ouvert.visibility), ("default", Visibility::Public));
    let interne = store.get_dataset("interne").unwrap().unwrap();
    assert_eq!(
        (interne.organization.as_str(), interne.visibility),
        ("ems", Visibility::Restricted)
    );
    // A new version keeps the dataset's access unless told otherwise.
    publish(&store, "interne", None, None).unwrap();
    let interne = store.get_dataset("interne").unwrap().unwrap();
    assert_eq!((interne.version.number, interne.visibility), (2, Visibility::Restricted));

    let c = store.catalog();
    c.set_visibility(&OP, "interne", Visibility::Draft).unwrap();
    assert_eq!(store.get_dataset("interne").unwrap().unwrap().visibility, Visibility::Draft);
    c.set_dataset_org(&OP, "ouvert", "ems").unwrap();
    assert_eq!(store.get_dataset("ouvert").unwrap().unwrap().organization, "ems");
    assert!(matches!(c.set_dataset_org(&OP, "ouvert", "nope"), Err(Error::OrgNotFound { .. })));
    assert!(matches!(
        c.set_visibility(&OP, "nope", Visibility::Public),
        Err(Error::DatasetNotFound { .. })
    ));
    let publishes: Vec<_> = c
        .audit(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "dataset.publish")
        .map(|e| (e.target, e.actor, e.details["visibility"].as_str().map(str::to_owned)))
        .collect();
    assert_eq!(publishes.len(), 3, "{publishes:?}");
    assert_eq!(
        publishes[2],
        ("ouvert".to_owned(), "operator:tester".to_owned(), Some("public".to_owned()))
    );
}

#[test]
fn keys_grants_and_what_a_key_resolves_to() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let c = store.catalog();
    c.create_org(&OP, &org("ems")).unwrap();
    publish(&store, "interne", Some("ems"), Some(Visibility::Restricted)).unwrap();
    let anne = c.create_user(&OP, &user("anne@example.org")).unwrap();
    c.set_member(&OP, "ems", "anne@example.org", Role::Viewer).unwrap();
    c.grant(&OP, "interne", "anne@example.org").unwrap();
    c.grant(&OP, "interne", "anne@example.org").unwrap();
    assert_eq!(c.grants("interne").unwrap().len(), 1);
    assert!(matches!(c.grant(&OP, "interne", "x@example.org"), Err(Error::UserNotFound { .. })));

    let hash = [7u8; 32];
    let new = NewApiKey {
        id: "0123456789ab",
        secret_hash: &hash,
        name: "tableau",
        scopes: &[Scope::Write, Scope::Read],
        user_email: "ANNE@example.org",
        expires_at: Some("2030-01-01T00:00:00Z"),
    };
    let by_key = Actor::Key { user_id: anne.id, key_id: "ffffffffffff".to_owned() };
    let key = c.create_key(&by_key, &new).unwrap();
    assert_eq!(key.scopes, [Scope::Read, Scope::Write]);
    assert_eq!(key.user_email, "anne@example.org");
    let grant = c.key_grant("0123456789ab").unwrap().expect("found");
    assert_eq!(grant.secret_hash, hash);
    assert_eq!(grant.memberships, [("ems".to_owned(), Role::Viewer)]);
    let uid = store.get_dataset("interne").unwrap().unwrap().uid;
    assert_eq!(grant.grants, [uid]);
    assert!(c.key_grant("000000000000").unwrap().is_none());

    // Last use is bookkeeping: no generation change, no audit entry.
    let generation = store.generation().unwrap();
    let entries = c.audit(1000).unwrap().len();
    c.touch_keys(&[("0123456789ab".to_owned(), "2026-01-01T00:00:00Z".to_owned())]).unwrap();
    assert_eq!(store.generation().unwrap(), generation);
    assert_eq!(c.audit(1000).unwrap().len(), entries);
    assert_eq!(c.list_keys(None).unwrap()[0].last_used_at.as_deref(), Some("2026-01-01T00:00:00Z"));

    let revoked = c.revoke_key(&OP, "0123456789ab").unwrap();
    let at = revoked.revoked_at.clone().expect("revoked");
    assert_eq!(c.revoke_key(&OP, "0123456789ab").unwrap().revoked_at, Some(at), "idempotent");
    assert!(matches!(c.revoke_key(&OP, "nope"), Err(Error::KeyNotFound { .. })));
    assert!(c.key_grant("0123456789ab").unwrap().unwrap().key.revoked_at.is_some());
    assert_eq!(c.list_keys(Some("anne@example.org")).unwrap().len(), 1);
    assert!(matches!(c.list_keys(Some("x@example.org")), Err(Error::UserNotFound { .. })));

    c.disable_user(&OP, "anne@example.org").unwrap();
    assert!(c.key_grant("0123456789ab").unwrap().unwrap().user.disabled);
    let created = c.audit(100).unwrap().into_iter().find(|e| e.action == "key.create").unwrap();
    assert_eq!(
        (created.actor.as_str(), created.via.as_deref()),
        (format!("user:{}", anne.id).as_str(), Some("key:ffffffffffff"))
    );
    assert_eq!(c.audit(100).unwrap().iter().filter(|e| e.action == "key.revoke").count(), 1);
}
