//! The notifications page (`/account/notifications`): new versions of the datasets a
//! signed-in user follows, newest first, and the forms to mark them read and to stop
//! following a dataset.

use askama::Template;

use crate::i18n::Lang;
use crate::view::Layout;

/// The page's words.
#[derive(Debug)]
pub struct NotificationMessages {
    /// Heading and title.
    pub heading: &'static str,
    /// No notification yet.
    pub empty: &'static str,
    /// "version".
    pub version: &'static str,
    /// "published on".
    pub published: &'static str,
    /// The "unread" mark.
    pub unread: &'static str,
    /// The button marking everything read.
    pub mark_read: &'static str,
    /// The button to stop following.
    pub unfollow: &'static str,
    /// Link to what changed.
    pub what_changed: &'static str,
}

const FR: NotificationMessages = NotificationMessages {
    heading: "Notifications",
    empty: "Aucune notification : suivez un jeu de données pour être prévenu de ses nouvelles versions.",
    version: "version",
    published: "publiée le",
    unread: "non lue",
    mark_read: "Tout marquer comme lu",
    unfollow: "Ne plus suivre",
    what_changed: "ce qui a changé",
};

const EN: NotificationMessages = NotificationMessages {
    heading: "Notifications",
    empty: "No notification: follow a dataset to hear of its new versions.",
    version: "version",
    published: "published on",
    unread: "unread",
    mark_read: "Mark all as read",
    unfollow: "Unfollow",
    what_changed: "what changed",
};

impl NotificationMessages {
    /// The messages of `lang`.
    pub fn of(lang: Lang) -> &'static NotificationMessages {
        match lang {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }
}

/// The follow / unfollow form of a dataset page, for a signed-in user who reads it: posts
/// `follow=1` (or `0`) to `/account/follow/{id}` with the session's CSRF token and comes back
/// to `next`.
#[derive(Debug, Clone)]
pub struct FollowButton {
    /// The dataset's identifier.
    pub dataset_id: String,
    /// Whether the user follows it now.
    pub following: bool,
    /// The session's CSRF token.
    pub csrf: String,
    /// The page to come back to.
    pub next: String,
    /// The button's words.
    pub label: &'static str,
    /// What the button does, for assistive technologies.
    pub hint: &'static str,
}

impl FollowButton {
    /// The button of dataset `id` in `lang`.
    pub fn new(lang: Lang, id: &str, following: bool, csrf: String, next: String) -> FollowButton {
        let (label, hint) = match (lang, following) {
            (Lang::Fr, false) => {
                ("Suivre", "Être prévenu des nouvelles versions de ce jeu de données")
            }
            (Lang::Fr, true) => (
                "Ne plus suivre",
                "Vous suivez ce jeu de données : cesser d'être prévenu de ses nouvelles versions",
            ),
            (Lang::En, false) => ("Follow", "Hear of this dataset's new versions"),
            (Lang::En, true) => {
                ("Unfollow", "You follow this dataset: stop hearing of its new versions")
            }
        };
        FollowButton { dataset_id: id.to_owned(), following, csrf, next, label, hint }
    }
}

/// One notification as shown.
#[derive(Debug, Clone)]
pub struct NotificationView {
    /// The dataset's identifier.
    pub dataset_id: String,
    /// Its title.
    pub title: String,
    /// Its page.
    pub href: String,
    /// The version published.
    pub version: i64,
    /// The link to the diff, when there was a previous version.
    pub changes_href: Option<String>,
    /// When.
    pub created_at: String,
    /// Whether it was read.
    pub read: bool,
}

/// The notifications page.
#[derive(Template, Debug)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    /// Chrome.
    pub layout: Layout,
    /// Messages.
    pub m: &'static NotificationMessages,
    /// The forms' CSRF token.
    pub csrf: String,
    /// The notifications, newest first.
    pub items: Vec<NotificationView>,
    /// How many are unread.
    pub unread: i64,
}
