//! Reading the audit log: entries by organization (targets, the organization recorded in
//! dataset entries, both sides of a move), actor, action and time, counted and paged.

use kleber_store::{
    Actor, AuditFilter, NewOrganization, NewUser, OrgKind, Role, Scope, Store, Visibility,
};
use kleber_types::{Field, FieldType};

fn org(id: &str) -> NewOrganization<'_> {
    NewOrganization {
        id,
        name: id,
        kind: OrgKind::Commune,
        description: None,
        website: None,
        logo: None,
    }
}

fn page(store: &Store, filter: AuditFilter) -> (u64, Vec<(String, String)>) {
    let (total, entries) = store.catalog().audit_page(&filter).unwrap();
    (total, entries.into_iter().rev().map(|e| (e.action, e.target)).collect())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, t)| ((*a).to_owned(), (*t).to_owned())).collect()
}

#[test]
fn entries_by_organization_actor_action_and_time_counted_and_paged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let c = store.catalog();
    let alice = Actor::Operator(Some("alice".to_owned()));
    let bob = Actor::Operator(Some("bob".to_owned()));
    c.create_org(&alice, &org("ems")).unwrap();
    c.create_org(&alice, &org("ville")).unwrap();
    let new =
        NewUser { email: "anne@example.org", name: "Anne", admin: false, password_hash: None };
    c.create_user(&alice, &new).unwrap();
    c.set_member(&bob, "ems", "anne@example.org", Role::Admin).unwrap();
    c.set_member(&bob, "ville", "anne@example.org", Role::Viewer).unwrap();
    let mut pending = store.begin_version("piscines").unwrap();
    std::fs::write(pending.data_path(), b"not parquet: the store does not read it").unwrap();
    pending.set_access(Some("ems"), Some(Visibility::Public), bob.clone());
    pending.commit(&[Field::new("nom", "Nom", FieldType::Text)], 0, 0, None, None).unwrap();
    c.set_dataset_org(&bob, "piscines", "ville").unwrap();
    c.set_visibility(&bob, "piscines", Visibility::Restricted).unwrap();
    c.grant(&bob, "piscines", "anne@example.org").unwrap();
    let secret = [7u8; 32];
    let key = kleber_store::NewApiKey {
        id: "0123456789ab",
        secret_hash: &secret,
        name: "k",
        scopes: &[Scope::Read],
        user_email: "anne@example.org",
        expires_at: None,
    };
    c.create_key(&bob, &key).unwrap();

    let all = |orgs: Option<&[&str]>| AuditFilter {
        orgs: orgs.map(|o| o.iter().map(|s| (*s).to_owned()).collect()),
        limit: 100,
        ..AuditFilter::default()
    };
    let (total, everything) = page(&store, all(None));
    assert_eq!(total, everything.len() as u64);
    assert_eq!(everything.len(), c.audit(1000).unwrap().len());

    let (_, ems) = page(&store, all(Some(&["ems"])));
    assert_eq!(
        ems,
        pairs(&[
            ("org.create", "ems"),
            ("member.set", "ems"),
            ("dataset.publish", "piscines"),
            ("dataset.org", "piscines"),
        ])
    );
    let (total, ville) = page(&store, all(Some(&["ville"])));
    assert_eq!(
        ville,
        pairs(&[
            ("org.create", "ville"),
            ("member.set", "ville"),
            ("dataset.org", "piscines"),
            ("dataset.visibility", "piscines"),
            ("dataset.grant", "piscines"),
        ])
    );
    assert_eq!(total, 5);
    let (both, _) = page(&store, all(Some(&["ems", "ville"])));
    assert_eq!(both, 8, "the move is one entry of both");
    assert_eq!(page(&store, all(Some(&[]))).0, 0);
    assert_eq!(page(&store, all(Some(&["nowhere"]))).0, 0);

    let (total, by_alice) =
        page(&store, AuditFilter { actor: Some("operator:alice".to_owned()), ..all(None) });
    assert_eq!(total, 3);
    assert!(by_alice.iter().all(|(a, _)| a == "org.create" || a == "user.create"));
    let (total, _) =
        page(&store, AuditFilter { action: Some("member.set".to_owned()), ..all(None) });
    assert_eq!(total, 2);

    // Pages: newest first, the total unchanged, the pages adding up to the whole.
    let mut paged = Vec::new();
    for offset in (0..everything.len()).step_by(4) {
        let (total, entries) =
            store.catalog().audit_page(&AuditFilter { limit: 4, offset, ..all(None) }).unwrap();
        assert_eq!(total, everything.len() as u64);
        paged.extend(entries.into_iter().map(|e| e.id));
    }
    let newest_first: Vec<i64> = c.audit(1000).unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(paged, newest_first);

    // Time bounds compare with the stored form: `since` inclusive, `until` exclusive.
    let first_at = c.audit(1000).unwrap().last().unwrap().at.clone();
    let since = |at: &str| AuditFilter { since: Some(at.to_owned()), ..all(None) };
    assert_eq!(page(&store, since(&first_at)).0, everything.len() as u64);
    assert_eq!(page(&store, since("2999-01-01T00:00:00+00:00")).0, 0);
    let until = AuditFilter { until: Some(first_at), ..all(None) };
    assert_eq!(page(&store, until).0, 0);
}
