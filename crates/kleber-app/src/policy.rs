//! Who may read, edit or administer what: every access decision of Kleber, in one place.
//!
//! The facts come from the catalog (a dataset's organization, visibility and grants; a user's
//! memberships and admin flag; a key's scopes); the rules are here:
//!
//! | visibility | read | edit |
//! |---|---|---|
//! | public | everyone, anonymous included | the organization's editors and admins |
//! | restricted | the organization's members (any role) and users it is granted to | the organization's editors and admins |
//! | draft | the organization's editors and admins | the organization's editors and admins |
//!
//! A portal admin, and the operator at the shell, read, edit and administer everything. An organization's admin
//! administers it (members, keys). An API key acts for its owner but only within its scopes:
//! `read` to read what is not public, `write` to edit, `admin` to administer; a key without
//! `read` reads what anonymous callers read. A disabled owner's keys are refused before a
//! principal exists (see `App::principal_for_key`).

use std::collections::{BTreeMap, BTreeSet};

use kleber_store::{DatasetRecord, Role, Scope, Visibility};

use crate::Principal;

/// A signed-in user's rights, as read from the catalog when the principal was resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// The user's id.
    pub user_id: i64,
    /// The user's email.
    pub email: String,
    /// Portal administrator.
    pub admin: bool,
    /// Role in each organization the user belongs to.
    pub memberships: BTreeMap<String, Role>,
    /// Uids of the datasets granted to the user.
    pub grants: BTreeSet<String>,
}

/// What an API key may be used for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes {
    /// Read the non-public datasets the owner may read.
    pub read: bool,
    /// Edit the datasets the owner may edit.
    pub write: bool,
    /// Administer the organizations the owner administers.
    pub admin: bool,
}

impl Scopes {
    /// The scopes of a list.
    pub fn of(scopes: &[Scope]) -> Scopes {
        Scopes {
            read: scopes.contains(&Scope::Read),
            write: scopes.contains(&Scope::Write),
            admin: scopes.contains(&Scope::Admin),
        }
    }
}

/// What a decision is about: one dataset's organization, visibility and uid.
#[derive(Debug, Clone, Copy)]
pub struct DatasetAccess<'a> {
    /// Its uid (grants name datasets by uid).
    pub uid: &'a str,
    /// Its organization.
    pub organization: &'a str,
    /// Its visibility.
    pub visibility: Visibility,
}

impl<'a> From<&'a DatasetRecord> for DatasetAccess<'a> {
    fn from(record: &'a DatasetRecord) -> Self {
        DatasetAccess {
            uid: &record.uid,
            organization: &record.organization,
            visibility: record.visibility,
        }
    }
}

impl Account {
    fn role(&self, org: &str) -> Option<Role> {
        self.memberships.get(org).copied()
    }

    fn may_read(&self, d: DatasetAccess<'_>) -> bool {
        if self.admin {
            return true;
        }
        match d.visibility {
            Visibility::Public => true,
            Visibility::Restricted => {
                self.role(d.organization).is_some() || self.grants.contains(d.uid)
            }
            Visibility::Draft => {
                matches!(self.role(d.organization), Some(Role::Admin | Role::Editor))
            }
        }
    }

    fn is_staff(&self, d: DatasetAccess<'_>) -> bool {
        self.admin || self.role(d.organization).is_some() || self.grants.contains(d.uid)
    }

    fn may_edit(&self, d: DatasetAccess<'_>) -> bool {
        self.admin || matches!(self.role(d.organization), Some(Role::Admin | Role::Editor))
    }

    fn may_admin(&self, org: &str) -> bool {
        self.admin || self.role(org) == Some(Role::Admin)
    }
}

/// Whether `principal` may read dataset `d` (its metadata, records, exports, and its place in
/// every list and count).
pub fn may_read(principal: &Principal, d: DatasetAccess<'_>) -> bool {
    if d.visibility == Visibility::Public {
        return true;
    }
    match principal {
        Principal::Anonymous => false,
        Principal::Operator => true,
        Principal::User(account) => account.may_read(d),
        Principal::Key { scopes, account, .. } => scopes.read && account.may_read(d),
    }
}

/// Whether `principal` sees the whole of dataset `d`, beyond its access rule for outsiders
/// (docs/security.md#access-rules): the organization's members (any role), the users it is
/// granted to, portal admins and the operator; through a key, only with the `read` scope.
/// Everyone else reads it only because it is public, and sees it through its rule.
pub fn sees_whole(principal: &Principal, d: DatasetAccess<'_>) -> bool {
    match principal {
        Principal::Anonymous => false,
        Principal::Operator => true,
        Principal::User(account) => account.is_staff(d),
        Principal::Key { scopes, account, .. } => scopes.read && account.is_staff(d),
    }
}

/// Whether `principal` may publish new versions of `d`, change its metadata or visibility.
pub fn may_edit(principal: &Principal, d: DatasetAccess<'_>) -> bool {
    match principal {
        Principal::Anonymous => false,
        Principal::Operator => true,
        Principal::User(account) => account.may_edit(d),
        Principal::Key { scopes, account, .. } => scopes.write && account.may_edit(d),
    }
}

/// Whether `principal` may administer organization `org` (members, keys, every dataset).
pub fn may_admin(principal: &Principal, org: &str) -> bool {
    match principal {
        Principal::Anonymous => false,
        Principal::Operator => true,
        Principal::User(account) => account.may_admin(org),
        Principal::Key { scopes, account, .. } => scopes.admin && account.may_admin(org),
    }
}

/// Whether `principal` may administer the portal itself (organizations, users): the operator,
/// a portal admin, or a portal admin's key with the `admin` scope.
pub fn may_admin_portal(principal: &Principal) -> bool {
    match principal {
        Principal::Anonymous => false,
        Principal::Operator => true,
        Principal::User(account) => account.admin,
        Principal::Key { scopes, account, .. } => scopes.admin && account.admin,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const ORG: &str = "ems";
    const UID: &str = "da_000001";

    fn dataset(visibility: Visibility) -> DatasetAccess<'static> {
        DatasetAccess { uid: UID, organization: ORG, visibility }
    }

    fn account(role: Option<Role>, other_org: bool, granted: bool, admin: bool) -> Arc<Account> {
        let org = if other_org { "ville-colmar" } else { ORG };
        Arc::new(Account {
            user_id: 7,
            email: "a@example.org".to_owned(),
            admin,
            memberships: role.map(|r| (org.to_owned(), r)).into_iter().collect(),
            grants: granted.then(|| UID.to_owned()).into_iter().collect(),
        })
    }

    /// Every caller the rules distinguish, with what it may do on each visibility:
    /// (name, principal, [read public, restricted, draft], edit, admin the organization).
    fn callers() -> Vec<(&'static str, Principal, [bool; 3], bool, bool)> {
        let user = |a: Arc<Account>| Principal::User(a);
        let key = |a: Arc<Account>, scopes: &[Scope]| Principal::Key {
            key_id: "k".to_owned(),
            scopes: Scopes::of(scopes),
            account: a,
        };
        let all = [Scope::Read, Scope::Write, Scope::Admin];
        vec![
            ("anonymous", Principal::Anonymous, [true, false, false], false, false),
            ("operator", Principal::Operator, [true, true, true], true, true),
            (
                "no role",
                user(account(None, false, false, false)),
                [true, false, false],
                false,
                false,
            ),
            (
                "other org's admin",
                user(account(Some(Role::Admin), true, false, false)),
                [true, false, false],
                false,
                false,
            ),
            (
                "viewer",
                user(account(Some(Role::Viewer), false, false, false)),
                [true, true, false],
                false,
                false,
            ),
            (
                "editor",
                user(account(Some(Role::Editor), false, false, false)),
                [true, true, true],
                true,
                false,
            ),
            (
                "admin",
                user(account(Some(Role::Admin), false, false, false)),
                [true, true, true],
                true,
                true,
            ),
            ("granted", user(account(None, false, true, false)), [true, true, false], false, false),
            (
                "granted, other org's editor",
                user(account(Some(Role::Editor), true, true, false)),
                [true, true, false],
                false,
                false,
            ),
            (
                "portal admin",
                user(account(None, false, false, true)),
                [true, true, true],
                true,
                true,
            ),
            (
                "admin's key: read",
                key(account(Some(Role::Admin), false, false, false), &[Scope::Read]),
                [true, true, true],
                false,
                false,
            ),
            (
                "admin's key: write",
                key(account(Some(Role::Admin), false, false, false), &[Scope::Write]),
                [true, false, false],
                true,
                false,
            ),
            (
                "admin's key: admin",
                key(account(Some(Role::Admin), false, false, false), &[Scope::Admin]),
                [true, false, false],
                false,
                true,
            ),
            (
                "viewer's key: all scopes",
                key(account(Some(Role::Viewer), false, false, false), &all),
                [true, true, false],
                false,
                false,
            ),
            (
                "editor's key: all scopes",
                key(account(Some(Role::Editor), false, false, false), &all),
                [true, true, true],
                true,
                false,
            ),
            (
                "granted key: read",
                key(account(None, false, true, false), &[Scope::Read]),
                [true, true, false],
                false,
                false,
            ),
            (
                "portal admin's key: none",
                key(account(None, false, false, true), &[]),
                [true, false, false],
                false,
                false,
            ),
            (
                "portal admin's key: all",
                key(account(None, false, false, true), &all),
                [true, true, true],
                true,
                true,
            ),
        ]
    }

    #[test]
    fn every_caller_on_every_visibility() {
        let visibilities = [Visibility::Public, Visibility::Restricted, Visibility::Draft];
        for (name, principal, reads, edits, admins) in callers() {
            for (visibility, expected) in visibilities.iter().zip(reads) {
                let d = dataset(*visibility);
                assert_eq!(may_read(&principal, d), expected, "{name} reading {visibility}");
                assert_eq!(principal.may_read_access(d), expected, "{name} ({visibility})");
                assert_eq!(may_edit(&principal, d), edits, "{name} editing {visibility}");
            }
            assert_eq!(may_admin(&principal, ORG), admins, "{name} administering");
            // Staff see a dataset whole: whoever reads its restricted version reads it whole.
            let staff = sees_whole(&principal, dataset(Visibility::Public));
            assert_eq!(staff, reads[1], "{name}: sees a public dataset whole");
            assert!(
                !may_admin(&principal, "another-org")
                    || matches!(&principal, Principal::Operator)
                    || matches!(&principal, Principal::User(a) | Principal::Key { account: a, .. } if a.admin),
                "{name} administers an organization it is not admin of"
            );
        }
    }
}
