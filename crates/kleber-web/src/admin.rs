//! The administration pages (audit log, an organization's members, invitations and keys,
//! organizations and users): their view models and their messages in both languages, kept
//! beside the pages like [`crate::auth`]'s.

use askama::Template;

use crate::Lang;
use crate::view::{Layout, Link};

/// Messages of the administration pages.
#[derive(Debug)]
pub struct AdminMessages {
    /// Index: heading and title.
    pub admin_heading: &'static str,
    /// Index: introduction.
    pub admin_intro: &'static str,
    /// Index: the organizations administered.
    pub your_orgs: &'static str,
    /// Index: portal administration.
    pub portal_heading: &'static str,
    /// Link to the audit log.
    pub audit_link: &'static str,
    /// The back office's dashboard link.
    pub datasets_link: &'static str,
    /// Link to the organizations.
    pub orgs_link: &'static str,
    /// Link to the users.
    pub users_link: &'static str,
    /// Link to the portal's settings (themes, home and about pages).
    pub portal_link: &'static str,
    /// Audit: heading and title.
    pub audit_heading: &'static str,
    /// Audit: what the caller reads (portal admins).
    pub audit_all: &'static str,
    /// Audit: what the caller reads (organization admins).
    pub audit_orgs: &'static str,
    /// Filters legend.
    pub filters: &'static str,
    /// Filter: who.
    pub filter_actor: &'static str,
    /// Hint for the actor filter.
    pub filter_actor_hint: &'static str,
    /// Filter: action.
    pub filter_action: &'static str,
    /// Filter: organization.
    pub filter_org: &'static str,
    /// "all".
    pub any: &'static str,
    /// Filter: from date.
    pub filter_since: &'static str,
    /// Filter: before date.
    pub filter_until: &'static str,
    /// Apply button.
    pub apply: &'static str,
    /// Table caption.
    pub audit_caption: &'static str,
    /// Column: when.
    pub col_at: &'static str,
    /// Column: who.
    pub col_actor: &'static str,
    /// Column: through.
    pub col_via: &'static str,
    /// Column: action.
    pub col_action: &'static str,
    /// Column: target.
    pub col_target: &'static str,
    /// Column: details.
    pub col_details: &'static str,
    /// No entry.
    pub no_entries: &'static str,
    /// Paging: previous.
    pub previous: &'static str,
    /// Paging: next.
    pub next: &'static str,
    /// Paging navigation label.
    pub paging: &'static str,
    /// "entries".
    pub entries: &'static str,
    /// Organization page: members heading.
    pub members_heading: &'static str,
    /// Members caption.
    pub members_caption: &'static str,
    /// Column: email.
    pub col_email: &'static str,
    /// Column: name.
    pub col_name: &'static str,
    /// Column: role.
    pub col_role: &'static str,
    /// Column: actions.
    pub col_actions: &'static str,
    /// No member.
    pub no_members: &'static str,
    /// Change role button.
    pub change_role: &'static str,
    /// Remove member button.
    pub remove_member: &'static str,
    /// Role names.
    pub role_admin: &'static str,
    /// Editor.
    pub role_editor: &'static str,
    /// Viewer.
    pub role_viewer: &'static str,
    /// Invite heading.
    pub invite_heading: &'static str,
    /// Invite: email label.
    pub invite_email: &'static str,
    /// Invite: role label.
    pub invite_role: &'static str,
    /// Invite button.
    pub invite_button: &'static str,
    /// Shown above a new invitation link.
    pub invite_link_notice: &'static str,
    /// The invitation was mailed.
    pub invite_mailed: &'static str,
    /// The mail could not be sent (followed by why).
    pub invite_mail_failed: &'static str,
    /// Pending invitations heading.
    pub invitations_heading: &'static str,
    /// Invitations caption.
    pub invitations_caption: &'static str,
    /// Column: expiry.
    pub col_expires: &'static str,
    /// No pending invitation.
    pub no_invitations: &'static str,
    /// Revoke button.
    pub revoke: &'static str,
    /// Keys heading.
    pub keys_heading: &'static str,
    /// Keys caption.
    pub keys_caption: &'static str,
    /// Column: key id.
    pub col_key: &'static str,
    /// Column: owner.
    pub col_owner: &'static str,
    /// Column: scopes.
    pub col_scopes: &'static str,
    /// Column: last use.
    pub col_last_used: &'static str,
    /// Column: status.
    pub col_status: &'static str,
    /// Active.
    pub active: &'static str,
    /// Revoked on.
    pub revoked: &'static str,
    /// Never.
    pub never: &'static str,
    /// No key.
    pub no_keys: &'static str,
    /// Organization: edit heading.
    pub edit_org_heading: &'static str,
    /// Organizations: heading.
    pub orgs_heading: &'static str,
    /// Organizations caption.
    pub orgs_caption: &'static str,
    /// Column: identifier.
    pub col_id: &'static str,
    /// Column: kind.
    pub col_kind: &'static str,
    /// New organization heading.
    pub new_org_heading: &'static str,
    /// Identifier label.
    pub org_id_label: &'static str,
    /// Identifier hint.
    pub org_id_hint: &'static str,
    /// Name label.
    pub org_name_label: &'static str,
    /// Kind label.
    pub org_kind_label: &'static str,
    /// Description label.
    pub org_description_label: &'static str,
    /// Web site label.
    pub org_website_label: &'static str,
    /// Create button.
    pub create_button: &'static str,
    /// Save button.
    pub save_button: &'static str,
    /// Public page link.
    pub public_page: &'static str,
    /// Administer link.
    pub administer: &'static str,
    /// Users heading.
    pub users_heading: &'static str,
    /// Users caption.
    pub users_caption: &'static str,
    /// Column: portal admin.
    pub col_admin: &'static str,
    /// Disabled status.
    pub disabled: &'static str,
    /// Enabled status.
    pub enabled: &'static str,
    /// Waiting for the invitation to be accepted (no password yet).
    pub no_password: &'static str,
    /// Yes.
    pub yes: &'static str,
    /// No.
    pub no: &'static str,
    /// Disable button.
    pub disable: &'static str,
    /// Make admin button.
    pub make_admin: &'static str,
    /// Remove admin button.
    pub remove_admin: &'static str,
    /// A change was saved.
    pub saved: &'static str,
    /// An unknown role.
    pub bad_role: &'static str,
    /// An unknown kind.
    pub bad_kind: &'static str,
    /// A missing email.
    pub email_missing: &'static str,
}

impl AdminMessages {
    /// The messages of `lang`.
    pub fn of(lang: Lang) -> &'static AdminMessages {
        match lang {
            Lang::Fr => &ADMIN_FR,
            Lang::En => &ADMIN_EN,
        }
    }

    /// A role in words.
    pub fn role(&self, role: &str) -> &'static str {
        match role {
            "admin" => self.role_admin,
            "editor" => self.role_editor,
            _ => self.role_viewer,
        }
    }
}

/// French.
pub static ADMIN_FR: AdminMessages = AdminMessages {
    admin_heading: "Administration",
    admin_intro: "Gérez les membres, les invitations et les clés des organisations que vous administrez, et lisez leur journal d'audit.",
    your_orgs: "Organisations que vous administrez",
    portal_heading: "Administration du portail",
    audit_link: "Journal d'audit",
    datasets_link: "Jeux de données à publier et à modifier",
    orgs_link: "Organisations",
    users_link: "Utilisateurs",
    portal_link: "Thèmes, page d'accueil et page « À propos »",
    audit_heading: "Journal d'audit",
    audit_all: "Vous lisez toutes les entrées du journal.",
    audit_orgs: "Vous lisez les entrées des organisations que vous administrez :",
    filters: "Filtres",
    filter_actor: "Qui",
    filter_actor_hint: "Par exemple user:3 ou operator:alice.",
    filter_action: "Action",
    filter_org: "Organisation",
    any: "toutes",
    filter_since: "Depuis le",
    filter_until: "Avant le",
    apply: "Filtrer",
    audit_caption: "Entrées du journal d'audit, les plus récentes d'abord",
    col_at: "Quand",
    col_actor: "Qui",
    col_via: "Par",
    col_action: "Action",
    col_target: "Sur",
    col_details: "Détails",
    no_entries: "Aucune entrée ne correspond à ces filtres.",
    previous: "Page précédente",
    next: "Page suivante",
    paging: "Pages du journal",
    entries: "entrées",
    members_heading: "Membres",
    members_caption: "Membres de l'organisation et leur rôle",
    col_email: "Adresse e-mail",
    col_name: "Nom",
    col_role: "Rôle",
    col_actions: "Actions",
    no_members: "L'organisation n'a aucun membre.",
    change_role: "Changer le rôle",
    remove_member: "Retirer",
    role_admin: "administrateur",
    role_editor: "éditeur",
    role_viewer: "lecteur",
    invite_heading: "Inviter une personne",
    invite_email: "Adresse e-mail",
    invite_role: "Rôle",
    invite_button: "Inviter",
    invite_link_notice: "Invitation créée. Transmettez ce lien à la personne invitée : il ne sera plus affiché et ne sert qu'une fois.",
    invite_mailed: "Le lien lui a aussi été envoyé par e-mail.",
    invite_mail_failed: "L'e-mail d'invitation n'a pas pu être envoyé :",
    invitations_heading: "Invitations en attente",
    invitations_caption: "Invitations dont le lien est encore valable",
    col_expires: "Expire le",
    no_invitations: "Aucune invitation en attente.",
    revoke: "Révoquer",
    keys_heading: "Clés d'API des membres",
    keys_caption: "Clés d'API des membres de l'organisation",
    col_key: "Identifiant",
    col_owner: "Propriétaire",
    col_scopes: "Droits",
    col_last_used: "Dernière utilisation",
    col_status: "État",
    active: "active",
    revoked: "révoquée le",
    never: "jamais",
    no_keys: "Aucun membre n'a de clé d'API.",
    edit_org_heading: "Modifier l'organisation",
    orgs_heading: "Organisations",
    orgs_caption: "Organisations du portail",
    col_id: "Identifiant",
    col_kind: "Type",
    new_org_heading: "Nouvelle organisation",
    org_id_label: "Identifiant",
    org_id_hint: "Lettres minuscules, chiffres et tirets, par exemple ville-colmar.",
    org_name_label: "Nom",
    org_kind_label: "Type",
    org_description_label: "Description (facultative)",
    org_website_label: "Site web (facultatif, https://…)",
    create_button: "Créer l'organisation",
    save_button: "Enregistrer",
    public_page: "page publique",
    administer: "administrer",
    users_heading: "Utilisateurs",
    users_caption: "Comptes du portail",
    col_admin: "Administrateur du portail",
    disabled: "désactivé",
    enabled: "actif",
    no_password: "invitation non acceptée",
    yes: "oui",
    no: "non",
    disable: "Désactiver",
    make_admin: "Rendre administrateur",
    remove_admin: "Retirer le rôle d'administrateur",
    saved: "Modification enregistrée.",
    bad_role: "Choisissez un rôle : administrateur, éditeur ou lecteur.",
    bad_kind: "Choisissez un type d'organisation dans la liste.",
    email_missing: "Donnez l'adresse e-mail de la personne.",
};

/// English.
pub static ADMIN_EN: AdminMessages = AdminMessages {
    admin_heading: "Administration",
    admin_intro: "Manage the members, invitations and keys of the organizations you administer, and read their audit log.",
    your_orgs: "Organizations you administer",
    portal_heading: "Portal administration",
    audit_link: "Audit log",
    datasets_link: "Datasets to publish and edit",
    orgs_link: "Organizations",
    users_link: "Users",
    portal_link: "Themes, home page and about page",
    audit_heading: "Audit log",
    audit_all: "You read every entry of the log.",
    audit_orgs: "You read the entries of the organizations you administer:",
    filters: "Filters",
    filter_actor: "Who",
    filter_actor_hint: "For example user:3 or operator:alice.",
    filter_action: "Action",
    filter_org: "Organization",
    any: "all",
    filter_since: "From",
    filter_until: "Before",
    apply: "Filter",
    audit_caption: "Audit log entries, newest first",
    col_at: "When",
    col_actor: "Who",
    col_via: "Through",
    col_action: "Action",
    col_target: "On",
    col_details: "Details",
    no_entries: "No entry matches these filters.",
    previous: "Previous page",
    next: "Next page",
    paging: "Pages of the log",
    entries: "entries",
    members_heading: "Members",
    members_caption: "Members of the organization and their role",
    col_email: "Email address",
    col_name: "Name",
    col_role: "Role",
    col_actions: "Actions",
    no_members: "The organization has no member.",
    change_role: "Change the role",
    remove_member: "Remove",
    role_admin: "admin",
    role_editor: "editor",
    role_viewer: "viewer",
    invite_heading: "Invite someone",
    invite_email: "Email address",
    invite_role: "Role",
    invite_button: "Invite",
    invite_link_notice: "Invitation created. Give this link to the person invited: it will not be shown again and works once.",
    invite_mailed: "The link was also sent to them by email.",
    invite_mail_failed: "The invitation email could not be sent:",
    invitations_heading: "Pending invitations",
    invitations_caption: "Invitations whose link still works",
    col_expires: "Expires",
    no_invitations: "No pending invitation.",
    revoke: "Revoke",
    keys_heading: "Members' API keys",
    keys_caption: "API keys of the organization's members",
    col_key: "Id",
    col_owner: "Owner",
    col_scopes: "Scopes",
    col_last_used: "Last used",
    col_status: "Status",
    active: "active",
    revoked: "revoked on",
    never: "never",
    no_keys: "No member has an API key.",
    edit_org_heading: "Edit the organization",
    orgs_heading: "Organizations",
    orgs_caption: "The portal's organizations",
    col_id: "Identifier",
    col_kind: "Kind",
    new_org_heading: "New organization",
    org_id_label: "Identifier",
    org_id_hint: "Lowercase letters, digits and hyphens, for example ville-colmar.",
    org_name_label: "Name",
    org_kind_label: "Kind",
    org_description_label: "Description (optional)",
    org_website_label: "Web site (optional, https://…)",
    create_button: "Create the organization",
    save_button: "Save",
    public_page: "public page",
    administer: "administer",
    users_heading: "Users",
    users_caption: "The portal's accounts",
    col_admin: "Portal admin",
    disabled: "disabled",
    enabled: "active",
    no_password: "invitation not accepted",
    yes: "yes",
    no: "no",
    disable: "Disable",
    make_admin: "Make portal admin",
    remove_admin: "Remove portal admin",
    saved: "Change saved.",
    bad_role: "Choose a role: admin, editor or viewer.",
    bad_kind: "Choose a kind of organization from the list.",
    email_missing: "Give the person's email address.",
};

/// What a page says after a form: a success, an error, a one-time link.
#[derive(Debug, Clone, Default)]
pub struct Notice {
    /// A change was saved.
    pub saved: bool,
    /// Why the form was refused.
    pub error: Option<String>,
    /// A new invitation link, shown once.
    pub invitation_link: Option<String>,
    /// Whether the invitation was mailed (`None`: mail is not set up).
    pub mailed: Option<Result<(), String>>,
}

/// A choice of a `<select>`.
#[derive(Debug, Clone)]
pub struct Choice {
    /// Value sent.
    pub value: String,
    /// Label shown.
    pub label: String,
    /// Selected.
    pub selected: bool,
}

/// The administration index.
#[derive(Template, Debug)]
#[template(path = "admin.html")]
pub struct AdminIndexPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub m: &'static AdminMessages,
    /// Organizations administered (links to their admin pages).
    pub orgs: Vec<Link>,
    /// Portal admin.
    pub portal_admin: bool,
}

/// One audit entry, as shown.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// Through which key or session.
    pub via: String,
    /// Action.
    pub action: String,
    /// Target.
    pub target: String,
    /// Details (JSON text).
    pub details: String,
}

/// The audit log page.
#[derive(Template, Debug)]
#[template(path = "admin_audit.html")]
pub struct AuditLogPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub m: &'static AdminMessages,
    /// Organizations whose entries are read (`None`: all).
    pub scope: Option<Vec<String>>,
    /// Organization filter choices (empty: a text field).
    pub org_choices: Vec<Choice>,
    /// Filter values as given.
    pub actor: String,
    /// Action filter.
    pub action: String,
    /// Organization filter (portal admins type it).
    pub org: String,
    /// Since filter.
    pub since: String,
    /// Until filter.
    pub until: String,
    /// Total entries selected, in words.
    pub total: String,
    /// This page's entries.
    pub rows: Vec<AuditRow>,
    /// Previous page link.
    pub previous: Option<String>,
    /// Next page link.
    pub next: Option<String>,
    /// Why the filters were refused.
    pub error: Option<String>,
}

/// A member, as shown.
#[derive(Debug, Clone)]
pub struct MemberRow {
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role choices (the current one selected).
    pub roles: Vec<Choice>,
    /// Role in words.
    pub role: &'static str,
    /// A stable suffix for element ids.
    pub n: usize,
}

/// A pending invitation, as shown.
#[derive(Debug, Clone)]
pub struct InvitationRow {
    /// Email.
    pub email: String,
    /// Role in words.
    pub role: &'static str,
    /// Expiry.
    pub expires: String,
}

/// A key, as shown.
#[derive(Debug, Clone)]
pub struct KeyRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owner email.
    pub owner: String,
    /// Scopes.
    pub scopes: String,
    /// Expiry or never.
    pub expires: String,
    /// Last use or never.
    pub last_used: String,
    /// Revocation date.
    pub revoked: Option<String>,
}

/// The organization's edit form values.
#[derive(Debug, Clone)]
pub struct OrgFormView {
    /// Name.
    pub name: String,
    /// Kind choices.
    pub kinds: Vec<Choice>,
    /// Description.
    pub description: String,
    /// Web site.
    pub website: String,
}

/// An organization's administration page.
#[derive(Template, Debug)]
#[template(path = "admin_org.html")]
pub struct OrgAdminPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub m: &'static AdminMessages,
    /// The forms' CSRF token.
    pub csrf: String,
    /// Organization id.
    pub id: String,
    /// Organization name.
    pub name: String,
    /// Its public page.
    pub public_href: String,
    /// Members.
    pub members: Vec<MemberRow>,
    /// Role choices of the invitation form.
    pub invite_roles: Vec<Choice>,
    /// Pending invitations.
    pub invitations: Vec<InvitationRow>,
    /// Members' keys.
    pub keys: Vec<KeyRow>,
    /// The edit form (portal admins only).
    pub edit: Option<OrgFormView>,
    /// What the last form did.
    pub notice: Notice,
}

/// An organization in the portal admin's list.
#[derive(Debug, Clone)]
pub struct OrgRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind in words.
    pub kind: &'static str,
}

/// The portal admin's organizations page.
#[derive(Template, Debug)]
#[template(path = "admin_orgs.html")]
pub struct OrgsAdminPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub m: &'static AdminMessages,
    /// The forms' CSRF token.
    pub csrf: String,
    /// Organizations.
    pub orgs: Vec<OrgRow>,
    /// The creation form's values (kept after a refusal).
    pub form: OrgFormView,
    /// The identifier typed.
    pub new_id: String,
    /// What the last form did.
    pub notice: Notice,
}

/// A user in the portal admin's list.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Portal admin.
    pub admin: bool,
    /// Disabled.
    pub disabled: bool,
    /// Has a password.
    pub has_password: bool,
    /// The signed-in admin themself.
    pub is_self: bool,
}

/// The portal admin's users page.
#[derive(Template, Debug)]
#[template(path = "admin_users.html")]
pub struct UsersAdminPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub m: &'static AdminMessages,
    /// The forms' CSRF token.
    pub csrf: String,
    /// Users.
    pub users: Vec<UserRow>,
    /// What the last form did.
    pub notice: Notice,
}
