//! Sign-in and account pages: their view models and their messages in both languages.
//!
//! The messages live beside the pages (not in [`crate::i18n::Messages`]) so that accounts add
//! to the portal without touching every page's catalog; [`AuthMessages`] is typed the same way,
//! a constant per language.

use askama::Template;

use crate::Lang;
use crate::view::Layout;

/// Messages of the sign-in and account pages.
#[derive(Debug)]
pub struct AuthMessages {
    /// Sign-in: heading and page title.
    pub sign_in_heading: &'static str,
    /// Sign-in: introduction.
    pub sign_in_intro: &'static str,
    /// Email field label.
    pub email_label: &'static str,
    /// Password field label.
    pub password_label: &'static str,
    /// Sign-in button.
    pub sign_in_button: &'static str,
    /// A failed sign-in, whatever the reason (unknown email, wrong password, disabled account).
    pub sign_in_invalid: &'static str,
    /// Account: heading and page title.
    pub account_heading: &'static str,
    /// "Signed in as".
    pub signed_in_as: &'static str,
    /// "Session valid until".
    pub session_until: &'static str,
    /// Sign-out button.
    pub sign_out_button: &'static str,
    /// Organizations heading.
    pub memberships_heading: &'static str,
    /// No organization.
    pub no_memberships: &'static str,
    /// Non-public datasets heading.
    pub datasets_heading: &'static str,
    /// No non-public dataset.
    pub no_datasets: &'static str,
    /// Restricted visibility.
    pub restricted: &'static str,
    /// Draft visibility.
    pub draft: &'static str,
    /// API keys heading.
    pub keys_heading: &'static str,
    /// No key.
    pub no_keys: &'static str,
    /// Key table caption.
    pub keys_caption: &'static str,
    /// Column: id.
    pub key_id: &'static str,
    /// Column: name.
    pub key_name: &'static str,
    /// Column: scopes.
    pub key_scopes: &'static str,
    /// Column: expiry.
    pub key_expires: &'static str,
    /// Column: last use.
    pub key_last_used: &'static str,
    /// Column: status.
    pub key_status: &'static str,
    /// Status: revoked on.
    pub key_revoked: &'static str,
    /// Status: active.
    pub key_active: &'static str,
    /// "never".
    pub never: &'static str,
    /// Revoke button.
    pub revoke_button: &'static str,
    /// New key heading.
    pub new_key_heading: &'static str,
    /// Scopes legend.
    pub scopes_legend: &'static str,
    /// Scope read.
    pub scope_read: &'static str,
    /// Scope write.
    pub scope_write: &'static str,
    /// Scope admin.
    pub scope_admin: &'static str,
    /// Expiry field label.
    pub expires_label: &'static str,
    /// Create button.
    pub create_key_button: &'static str,
    /// Shown above a new key.
    pub key_created_notice: &'static str,
    /// 403 heading.
    pub forbidden_heading: &'static str,
    /// 429 heading.
    pub too_many_heading: &'static str,
    /// A form without its CSRF token.
    pub csrf_missing: &'static str,
    /// A form whose CSRF token is not this session's.
    pub csrf_wrong: &'static str,
    /// A form sent from another site.
    pub cross_origin: &'static str,
    /// A form sent with neither `Origin` nor `Referer`.
    pub no_origin: &'static str,
    /// Expiry that is not a number of days.
    pub bad_expiry: &'static str,
    /// A key without a name.
    pub key_name_missing: &'static str,
    /// A key without a scope.
    pub key_scope_missing: &'static str,
    /// Invitation: heading and page title.
    pub invitation_heading: &'static str,
    /// Invitation: introduction, before the email.
    pub invitation_intro: &'static str,
    /// New password label.
    pub new_password_label: &'static str,
    /// Password confirmation label.
    pub confirm_password_label: &'static str,
    /// Hint under the password.
    pub password_hint: &'static str,
    /// Button.
    pub set_password_button: &'static str,
    /// The two passwords differ.
    pub passwords_differ: &'static str,
    /// The password is too short.
    pub password_too_short: &'static str,
}

impl AuthMessages {
    /// The messages of `lang`.
    pub fn of(lang: Lang) -> &'static AuthMessages {
        match lang {
            Lang::Fr => &AUTH_FR,
            Lang::En => &AUTH_EN,
        }
    }

    /// Too many failed sign-ins: try again in `secs` seconds (said in minutes, rounded up).
    pub fn throttled(&self, secs: u64) -> String {
        let minutes = secs.div_ceil(60).max(1);
        if std::ptr::eq(self, &AUTH_EN) {
            let s = if minutes == 1 { "" } else { "s" };
            format!("Too many failed sign-ins. Try again in {minutes} minute{s}.")
        } else {
            let s = if minutes == 1 { "" } else { "s" };
            format!("Trop d'échecs de connexion. Réessayez dans {minutes} minute{s}.")
        }
    }
}

/// French.
pub static AUTH_FR: AuthMessages = AuthMessages {
    sign_in_heading: "Connexion",
    sign_in_intro: "Les membres des organisations qui publient sur ce portail se connectent pour voir leurs jeux de données non publics et gérer leurs clés d'API.",
    email_label: "Adresse e-mail",
    password_label: "Mot de passe",
    sign_in_button: "Se connecter",
    sign_in_invalid: "Adresse e-mail ou mot de passe incorrect.",
    account_heading: "Mon compte",
    signed_in_as: "Connecté en tant que",
    session_until: "Session valable jusqu'au",
    sign_out_button: "Se déconnecter",
    memberships_heading: "Organisations",
    no_memberships: "Vous n'êtes membre d'aucune organisation.",
    datasets_heading: "Jeux de données non publics que vous pouvez consulter",
    no_datasets: "Aucun jeu de données non public ne vous est ouvert.",
    restricted: "restreint",
    draft: "brouillon",
    keys_heading: "Clés d'API",
    no_keys: "Vous n'avez aucune clé d'API.",
    keys_caption: "Vos clés d'API",
    key_id: "Identifiant",
    key_name: "Nom",
    key_scopes: "Droits",
    key_expires: "Expiration",
    key_last_used: "Dernière utilisation",
    key_status: "État",
    key_revoked: "révoquée le",
    key_active: "active",
    never: "jamais",
    revoke_button: "Révoquer",
    new_key_heading: "Nouvelle clé d'API",
    scopes_legend: "Droits de la clé",
    scope_read: "lire les données non publiques (read)",
    scope_write: "publier des jeux de données (write)",
    scope_admin: "administrer les organisations (admin)",
    expires_label: "Expire après (nombre de jours, facultatif)",
    create_key_button: "Créer la clé",
    key_created_notice: "Voici votre nouvelle clé. Copiez-la maintenant : elle ne sera plus jamais affichée.",
    forbidden_heading: "Action refusée",
    too_many_heading: "Trop de tentatives",
    csrf_missing: "Ce formulaire n'a pas de jeton de sécurité (CSRF). Rechargez la page et envoyez-le à nouveau.",
    csrf_wrong: "Le jeton de sécurité (CSRF) de ce formulaire ne correspond pas à votre session, peut-être expirée. Rechargez la page et envoyez-le à nouveau.",
    cross_origin: "Ce formulaire a été envoyé depuis un autre site : il est refusé. Utilisez les formulaires de ce portail.",
    no_origin: "Ce formulaire n'indique pas sa provenance (ni Origin ni Referer) : il est refusé. Utilisez les formulaires de ce portail depuis un navigateur.",
    bad_expiry: "L'expiration doit être un nombre de jours entre 1 et 3650, ou rester vide.",
    key_name_missing: "Donnez un nom à la clé.",
    key_scope_missing: "Cochez au moins un droit pour la clé.",
    invitation_heading: "Choisir votre mot de passe",
    invitation_intro: "Vous avez été invité sur ce portail. Choisissez le mot de passe du compte",
    new_password_label: "Mot de passe",
    confirm_password_label: "Confirmez le mot de passe",
    password_hint: "Au moins 12 caractères.",
    set_password_button: "Enregistrer le mot de passe",
    passwords_differ: "Les deux mots de passe sont différents.",
    password_too_short: "Le mot de passe est trop court : il faut au moins 12 caractères.",
};

/// English.
pub static AUTH_EN: AuthMessages = AuthMessages {
    sign_in_heading: "Sign in",
    sign_in_intro: "Members of the organizations that publish on this portal sign in to see their non-public datasets and manage their API keys.",
    email_label: "Email address",
    password_label: "Password",
    sign_in_button: "Sign in",
    sign_in_invalid: "Wrong email address or password.",
    account_heading: "My account",
    signed_in_as: "Signed in as",
    session_until: "Session valid until",
    sign_out_button: "Sign out",
    memberships_heading: "Organizations",
    no_memberships: "You are not a member of any organization.",
    datasets_heading: "Non-public datasets you can read",
    no_datasets: "No non-public dataset is open to you.",
    restricted: "restricted",
    draft: "draft",
    keys_heading: "API keys",
    no_keys: "You have no API key.",
    keys_caption: "Your API keys",
    key_id: "Id",
    key_name: "Name",
    key_scopes: "Scopes",
    key_expires: "Expires",
    key_last_used: "Last used",
    key_status: "Status",
    key_revoked: "revoked on",
    key_active: "active",
    never: "never",
    revoke_button: "Revoke",
    new_key_heading: "New API key",
    scopes_legend: "What the key may do",
    scope_read: "read non-public data (read)",
    scope_write: "publish datasets (write)",
    scope_admin: "administer organizations (admin)",
    expires_label: "Expires after (days, optional)",
    create_key_button: "Create the key",
    key_created_notice: "Here is your new key. Copy it now: it will never be shown again.",
    forbidden_heading: "Request refused",
    too_many_heading: "Too many attempts",
    csrf_missing: "This form has no security (CSRF) token. Reload the page and send it again.",
    csrf_wrong: "The security (CSRF) token of this form does not match your session, which may have expired. Reload the page and send it again.",
    cross_origin: "This form was sent from another site and is refused. Use this portal's forms.",
    no_origin: "This form does not say where it comes from (neither Origin nor Referer) and is refused. Use this portal's forms from a browser.",
    bad_expiry: "The expiry must be a number of days from 1 to 3650, or left empty.",
    key_name_missing: "Give the key a name.",
    key_scope_missing: "Tick at least one scope for the key.",
    invitation_heading: "Choose your password",
    invitation_intro: "You were invited to this portal. Choose the password of the account",
    new_password_label: "Password",
    confirm_password_label: "Confirm the password",
    password_hint: "At least 12 characters.",
    set_password_button: "Save the password",
    passwords_differ: "The two passwords differ.",
    password_too_short: "The password is too short: use at least 12 characters.",
};

/// The sign-in page.
#[derive(Template, Debug)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub m: &'static AuthMessages,
    /// The form's CSRF token.
    pub csrf: String,
    /// The email typed before (kept after a failure).
    pub email: String,
    /// Where to go after signing in (a local path).
    pub next: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// An organization the user belongs to.
#[derive(Debug, Clone)]
pub struct MembershipView {
    /// Organization id.
    pub org: String,
    /// Link to its page.
    pub href: String,
    /// Role.
    pub role: String,
}

/// A non-public dataset the user may read.
#[derive(Debug, Clone)]
pub struct DatasetLink {
    /// Title.
    pub title: String,
    /// Link to its page.
    pub href: String,
    /// `restricted` or `draft`, in the page's language.
    pub visibility: &'static str,
}

/// One API key of the user.
#[derive(Debug, Clone)]
pub struct KeyView {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes, comma separated.
    pub scopes: String,
    /// Expiry, or "never".
    pub expires: String,
    /// Last use, or "never".
    pub last_used: String,
    /// Revocation date, if revoked.
    pub revoked: Option<String>,
}

/// The account page.
#[derive(Template, Debug)]
#[template(path = "account.html")]
pub struct AccountPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub m: &'static AuthMessages,
    /// The forms' CSRF token.
    pub csrf: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Session expiry.
    pub expires: String,
    /// Organizations.
    pub memberships: Vec<MembershipView>,
    /// Non-public datasets readable.
    pub datasets: Vec<DatasetLink>,
    /// API keys.
    pub keys: Vec<KeyView>,
    /// The administration link's text, for admins (`/admin/`).
    pub admin_link: Option<&'static str>,
    /// The back office's link text, for publishers (`/admin/datasets/`).
    pub datasets_link: Option<&'static str>,
    /// A key just created, shown once.
    pub created_key: Option<String>,
    /// Why the last form failed.
    pub error: Option<String>,
}

/// The page an invitation link opens: choose a password.
#[derive(Template, Debug)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub m: &'static AuthMessages,
    /// The form's CSRF token.
    pub csrf: String,
    /// The invited email.
    pub email: String,
    /// Where the form posts (the link itself).
    pub action: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
}
