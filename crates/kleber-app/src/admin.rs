//! The administration use cases of the portal's pages: an organization's members, roles,
//! invitations and API keys (for its admins), organizations and users (for portal admins).
//!
//! Each use case takes the request's [`Principal`], asks [`crate::policy`] whether it may act
//! ([`policy::may_admin`] for an organization, [`policy::may_admin_portal`] for the rest),
//! and refuses with [`Error::Forbidden`] otherwise (the portal answers that as a missing page).
//! Allowed, it calls the account use cases of [`crate::accounts::Accounts`] with the caller's
//! [`Actor`], so every change is written with its audit entry in one transaction.
//! Mistakes of the caller (an unknown user, a duplicate organization, a bad address) come back
//! as [`Error::BadParameter`] with the store's message; nothing is changed then.

use kleber_store::{
    Actor, ApiKeyRecord, OrgKind, OrgUpdate, Organization, PendingInvitation, Role, User,
};

use crate::accounts::{AccountError, Accounts};
use crate::policy;
use crate::{App, Error, Principal};

/// What an organization's admin page shows.
#[derive(Debug, Clone)]
pub struct OrgAdmin {
    /// The organization.
    pub org: Organization,
    /// Its members and their roles, by email.
    pub members: Vec<(User, Role)>,
    /// Its members' invitations whose link still works.
    pub invitations: Vec<PendingInvitation>,
    /// The API keys of its members (revoked ones included), oldest first.
    pub keys: Vec<ApiKeyRecord>,
}

/// A new organization, owned (it crosses to a blocking thread).
#[derive(Debug, Clone)]
pub struct OrgForm {
    /// Identifier (slug).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Kind.
    pub kind: OrgKind,
    /// Description, if any.
    pub description: Option<String>,
    /// Web site, if any.
    pub website: Option<String>,
}

fn refused(what: &str) -> Error {
    Error::Forbidden(format!("{what} is for administrators."))
}

/// An account error as the caller should see it: its own mistakes as bad parameters.
fn caller_error(e: AccountError) -> Error {
    use kleber_store::Error as S;
    match e {
        AccountError::Invalid(message) => Error::BadParameter(message),
        AccountError::Store(
            e @ (S::OrgExists { .. }
            | S::OrgNotFound { .. }
            | S::UserExists { .. }
            | S::UserNotFound { .. }
            | S::InvalidEmail { .. }
            | S::InvalidOrgId { .. }
            | S::NotAMember { .. }),
        ) => Error::BadParameter(e.to_string()),
        other => Error::internal(other),
    }
}

impl App {
    async fn admin_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
    ) -> Result<T, Error> {
        let accounts = std::sync::Arc::clone(&self.accounts);
        tokio::task::spawn_blocking(move || f(&accounts))
            .await
            .map_err(Error::internal)?
            .map_err(caller_error)
    }

    fn check_org_admin(principal: &Principal, org: &str) -> Result<(), Error> {
        if policy::may_admin(principal, org) {
            Ok(())
        } else {
            Err(refused("Administering this organization"))
        }
    }

    fn require_portal_admin(principal: &Principal) -> Result<(), Error> {
        if policy::may_admin_portal(principal) {
            Ok(())
        } else {
            Err(refused("Administering the portal"))
        }
    }

    /// Organization `org`'s members, pending invitations and keys, for its admins. An unknown
    /// organization is refused like one the caller does not administer (for a portal admin:
    /// a bad parameter).
    pub async fn org_admin(&self, principal: &Principal, org: &str) -> Result<OrgAdmin, Error> {
        Self::check_org_admin(principal, org)?;
        let org = org.to_owned();
        self.admin_blocking(move |a| {
            let found = a.store().catalog().get_org(&org)?.ok_or_else(|| {
                AccountError::Store(kleber_store::Error::OrgNotFound { id: org.clone() })
            })?;
            let members = a.store().catalog().members(&org)?;
            let invitations = a.store().catalog().pending_invitations(&org)?;
            let emails: Vec<&str> = members.iter().map(|(u, _)| u.email.as_str()).collect();
            let keys = a
                .keys(None)?
                .into_iter()
                .filter(|k| emails.contains(&k.user_email.as_str()))
                .collect();
            Ok(OrgAdmin { org: found, members, invitations, keys })
        })
        .await
    }

    /// Changes the role of `email`, already a member of `org` (audited `member.set`).
    pub async fn admin_set_role(
        &self,
        principal: &Principal,
        actor: &Actor,
        org: &str,
        email: &str,
        role: Role,
    ) -> Result<(), Error> {
        Self::check_org_admin(principal, org)?;
        let (actor, org, email) = (actor.clone(), org.to_owned(), email.to_owned());
        self.admin_blocking(move |a| {
            let members = a.store().catalog().members(&org)?;
            if !members.iter().any(|(u, _)| {
                kleber_store::accounts::email_key(&u.email)
                    == kleber_store::accounts::email_key(&email)
            }) {
                return Err(AccountError::Store(kleber_store::Error::NotAMember { org, email }));
            }
            a.set_member(&actor, &org, &email, role)
        })
        .await
    }

    /// Revokes the pending invitation of `email` into `org` (audited
    /// `user.invitation.revoke`); `false` when there was none.
    pub async fn admin_revoke_invitation(
        &self,
        principal: &Principal,
        actor: &Actor,
        org: &str,
        email: &str,
    ) -> Result<bool, Error> {
        Self::check_org_admin(principal, org)?;
        let (actor, org, email) = (actor.clone(), org.to_owned(), email.to_owned());
        self.admin_blocking(move |a| {
            Ok(a.store().account_change(|c| c.revoke_invitation(&actor, &org, &email))?)
        })
        .await
    }

    /// Changes an organization's name, kind, description and web site (portal admins; audited
    /// `org.update`). An empty description or web site clears it.
    pub async fn admin_update_org(
        &self,
        principal: &Principal,
        actor: &Actor,
        form: OrgForm,
    ) -> Result<Organization, Error> {
        Self::require_portal_admin(principal)?;
        let actor = actor.clone();
        self.admin_blocking(move |a| {
            let update = OrgUpdate {
                name: Some(form.name.trim()),
                kind: Some(form.kind),
                description: Some(form.description.as_deref()),
                website: Some(form.website.as_deref()),
                logo: None,
            };
            a.update_org(&actor, &form.id, &update)
        })
        .await
    }

    /// Every user (portal admins).
    pub async fn admin_users(&self, principal: &Principal) -> Result<Vec<User>, Error> {
        Self::require_portal_admin(principal)?;
        self.admin_blocking(|a| Ok(a.store().catalog().list_users()?)).await
    }

    /// Disables a user (portal admins; audited `user.disable`); their sessions end and their
    /// keys stop working. A portal admin cannot disable their own account.
    pub async fn admin_disable_user(
        &self,
        principal: &Principal,
        actor: &Actor,
        email: &str,
    ) -> Result<User, Error> {
        Self::require_portal_admin(principal)?;
        Self::not_self(principal, email, "disable")?;
        let (actor, email) = (actor.clone(), email.to_owned());
        self.admin_blocking(move |a| a.disable_user(&actor, &email)).await
    }

    /// Makes a user a portal admin or not (portal admins; audited `user.admin`). A portal
    /// admin cannot remove their own flag (so the portal keeps one).
    pub async fn admin_set_portal_admin(
        &self,
        principal: &Principal,
        actor: &Actor,
        email: &str,
        admin: bool,
    ) -> Result<User, Error> {
        Self::require_portal_admin(principal)?;
        if !admin {
            Self::not_self(principal, email, "remove the admin flag of")?;
        }
        let (actor, email) = (actor.clone(), email.to_owned());
        self.admin_blocking(move |a| {
            Ok(a.store().account_change(|c| c.set_admin(&actor, &email, admin))?)
        })
        .await
    }

    fn not_self(principal: &Principal, email: &str, what: &str) -> Result<(), Error> {
        use kleber_store::accounts::email_key;
        match principal.account() {
            Some(account) if email_key(&account.email) == email_key(email) => {
                Err(Error::BadParameter(format!(
                    "You cannot {what} your own account: ask another portal admin."
                )))
            }
            _ => Ok(()),
        }
    }
}

/// Whether `principal` may publish in the portal (a portal admin, or an editor or admin of one
/// organization at least): whether the account page links the back office.
pub fn publishes_anything(principal: &Principal) -> bool {
    policy::may_admin_portal(principal)
        || principal.account().is_some_and(|a| {
            a.memberships.keys().any(|org| {
                let probe = policy::DatasetAccess {
                    uid: "",
                    organization: org,
                    visibility: kleber_store::Visibility::Draft,
                };
                policy::may_edit(principal, probe)
            })
        })
}

/// Whether `principal` administers the portal or at least one organization (whether the
/// account page links the administration pages).
pub fn administers_anything(principal: &Principal) -> bool {
    policy::may_admin_portal(principal)
        || principal
            .account()
            .is_some_and(|a| a.memberships.keys().any(|org| policy::may_admin(principal, org)))
}
