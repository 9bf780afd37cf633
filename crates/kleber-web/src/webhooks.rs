//! The back office's webhook pages (docs/feeds.md#from-the-back-office): the hooks of a
//! dataset or of an organization (URL, events, creation, last delivery), the form that
//! registers one (its secret shown once), deletion, and one hook's delivery log. Rendered by
//! the server's `web/webhook_admin.rs`.

use askama::Template;

use crate::Lang;
use crate::view::Layout;

/// The pages' words.
#[derive(Debug)]
pub struct WebhookMessages {
    /// Heading of a dataset's page (followed by its title).
    pub dataset_heading: &'static str,
    /// Heading of an organization's page (followed by its name).
    pub org_heading: &'static str,
    /// What a webhook is.
    pub intro: &'static str,
    /// Back link to the dataset's edit page.
    pub back_dataset: &'static str,
    /// Back link to the organization's page.
    pub back_org: &'static str,
    /// No hook yet.
    pub none: &'static str,
    /// Caption of the list.
    pub caption: &'static str,
    /// Column: URL.
    pub col_url: &'static str,
    /// Column: events.
    pub col_events: &'static str,
    /// Column: created.
    pub col_created: &'static str,
    /// Column: last delivery.
    pub col_last: &'static str,
    /// Column: actions.
    pub col_actions: &'static str,
    /// No delivery yet.
    pub never: &'static str,
    /// Link to the delivery log.
    pub log: &'static str,
    /// Delete button.
    pub delete: &'static str,
    /// Heading of the creation form.
    pub new_heading: &'static str,
    /// Label of the URL field.
    pub url_label: &'static str,
    /// Hint under the URL field.
    pub url_hint: &'static str,
    /// Create button.
    pub create: &'static str,
    /// The secret, shown once.
    pub secret_shown: &'static str,
    /// After a deletion.
    pub deleted: &'static str,
    /// Heading of the delivery log (followed by the hook's number).
    pub log_heading: &'static str,
    /// Back link to the hooks.
    pub back_hooks: &'static str,
    /// Caption of the log.
    pub log_caption: &'static str,
    /// No delivery yet.
    pub log_none: &'static str,
    /// Column: delivery.
    pub col_delivery: &'static str,
    /// Column: time.
    pub col_time: &'static str,
    /// Column: attempt.
    pub col_attempt: &'static str,
    /// Column: status code.
    pub col_status: &'static str,
    /// Column: error.
    pub col_error: &'static str,
    /// Column: state and next retry.
    pub col_next: &'static str,
    /// Delivery states.
    pub state_pending: &'static str,
    /// Delivered.
    pub state_delivered: &'static str,
    /// Given up.
    pub state_failed: &'static str,
    /// Dropped (queue full).
    pub state_dropped: &'static str,
    /// "next attempt".
    pub next_attempt: &'static str,
}

const FR: WebhookMessages = WebhookMessages {
    dataset_heading: "Webhooks du jeu de données",
    org_heading: "Webhooks de l'organisation",
    intro: "Chaque nouvelle version est envoyée en POST à ces adresses, signée (HMAC-SHA256 avec le secret du webhook, en-tête Kleber-Signature) et renvoyée avec un délai croissant tant que le destinataire ne répond pas 2xx.",
    back_dataset: "← Retour au jeu de données",
    back_org: "← Retour à l'organisation",
    none: "Aucun webhook.",
    caption: "Webhooks",
    col_url: "Adresse",
    col_events: "Événements",
    col_created: "Créé le",
    col_last: "Dernier envoi",
    col_actions: "Actions",
    never: "aucun envoi",
    log: "Journal des envois",
    delete: "Supprimer",
    new_heading: "Nouveau webhook",
    url_label: "Adresse (http ou https)",
    url_hint: "Une adresse publique ; le secret de signature est affiché une seule fois, à la création.",
    create: "Créer le webhook",
    secret_shown: "Webhook créé. Son secret de signature, affiché cette seule fois :",
    deleted: "Webhook supprimé.",
    log_heading: "Journal des envois du webhook",
    back_hooks: "← Retour aux webhooks",
    log_caption: "Envois, du plus récent au plus ancien, avec chaque tentative",
    log_none: "Aucun envoi pour l'instant.",
    col_delivery: "Envoi",
    col_time: "Heure",
    col_attempt: "Tentative",
    col_status: "Code HTTP",
    col_error: "Erreur",
    col_next: "État",
    state_pending: "en attente",
    state_delivered: "livré",
    state_failed: "abandonné",
    state_dropped: "écarté (file pleine)",
    next_attempt: "prochaine tentative",
};

const EN: WebhookMessages = WebhookMessages {
    dataset_heading: "Webhooks of the dataset",
    org_heading: "Webhooks of the organization",
    intro: "Each new version is POSTed to these addresses, signed (HMAC-SHA256 with the hook's secret, Kleber-Signature header) and retried with a growing delay until the receiver answers 2xx.",
    back_dataset: "← Back to the dataset",
    back_org: "← Back to the organization",
    none: "No webhook.",
    caption: "Webhooks",
    col_url: "URL",
    col_events: "Events",
    col_created: "Created",
    col_last: "Last delivery",
    col_actions: "Actions",
    never: "no delivery",
    log: "Delivery log",
    delete: "Delete",
    new_heading: "New webhook",
    url_label: "URL (http or https)",
    url_hint: "A public address; the signing secret is shown once, when the hook is created.",
    create: "Create the webhook",
    secret_shown: "Webhook created. Its signing secret, shown this once:",
    deleted: "Webhook deleted.",
    log_heading: "Delivery log of webhook",
    back_hooks: "← Back to the webhooks",
    log_caption: "Deliveries, newest first, with each attempt",
    log_none: "No delivery yet.",
    col_delivery: "Delivery",
    col_time: "Time",
    col_attempt: "Attempt",
    col_status: "HTTP status",
    col_error: "Error",
    col_next: "State",
    state_pending: "pending",
    state_delivered: "delivered",
    state_failed: "given up",
    state_dropped: "dropped (queue full)",
    next_attempt: "next attempt",
};

impl WebhookMessages {
    /// The messages of `lang`.
    pub fn of(lang: Lang) -> &'static WebhookMessages {
        match lang {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }

    /// A delivery state (`pending`, `delivered`, `failed`, `dropped`) in words.
    pub fn state(&self, state: &str) -> &'static str {
        match state {
            "delivered" => self.state_delivered,
            "failed" => self.state_failed,
            "dropped" => self.state_dropped,
            _ => self.state_pending,
        }
    }
}

/// One hook in the list.
#[derive(Debug, Clone)]
pub struct HookRow {
    /// Its number.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// The events it receives.
    pub events: String,
    /// When it was created, formatted.
    pub created: String,
    /// Its last delivery in words (state, status, time), or empty.
    pub last: String,
    /// Whether the last delivery failed or is being retried (shown as a warning).
    pub last_failing: bool,
}

/// The hooks of a dataset or an organization.
#[derive(Template, Debug)]
#[template(path = "bo_webhooks.html")]
pub struct WebhooksPage {
    /// Chrome.
    pub layout: Layout,
    /// Words.
    pub m: &'static WebhookMessages,
    /// The heading (with the target's name).
    pub heading: String,
    /// The back link and its words.
    pub back: (String, &'static str),
    /// Where the forms post (`/admin/.../webhooks`).
    pub action: String,
    /// The forms' CSRF token.
    pub csrf: String,
    /// The hooks, newest first.
    pub hooks: Vec<HookRow>,
    /// The secret of the hook just created (shown once).
    pub secret: Option<String>,
    /// A confirmation.
    pub saved: Option<&'static str>,
    /// Why the form was refused.
    pub error: Option<String>,
    /// The URL typed (kept after a refusal).
    pub url: String,
}

/// One attempt of a delivery, in the log.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    /// The delivery's id.
    pub delivery: String,
    /// Its state in words (on the delivery's first row).
    pub state: String,
    /// When, formatted.
    pub time: String,
    /// 1 for the first.
    pub attempt: i64,
    /// The HTTP status answered, or empty.
    pub status: String,
    /// What went wrong, or empty.
    pub error: String,
    /// When the next attempt is due, on a pending delivery's last attempt, formatted.
    pub next: String,
    /// Whether this attempt succeeded.
    pub ok: bool,
}

/// One hook's delivery log.
#[derive(Template, Debug)]
#[template(path = "bo_webhook_log.html")]
pub struct WebhookLogPage {
    /// Chrome.
    pub layout: Layout,
    /// Words.
    pub m: &'static WebhookMessages,
    /// The hook's number.
    pub id: i64,
    /// Its URL.
    pub url: String,
    /// The page listing the hook.
    pub back: String,
    /// Every attempt of its last deliveries, newest delivery first.
    pub rows: Vec<AttemptRow>,
}
