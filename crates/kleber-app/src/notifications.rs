//! Follows and notifications (docs/feeds.md#following-a-dataset): a signed-in user follows a
//! dataset they may read; each new version of it becomes a notification in their list
//! (`/account/notifications`), unread until they mark it read.
//!
//! Notifications are written by one task subscribed to the publications
//! ([`crate::publications`]). Reading the list re-checks the right to read each dataset, so
//! a user who lost it no longer sees its notifications.

use std::sync::Arc;

use kleber_store::Notification;

use crate::manage::store_error;
use crate::{App, Error, Principal, RequestContext};

/// Notifications a list shows at most.
pub const MAX_NOTIFICATIONS: usize = 100;

fn user_of(ctx: &RequestContext) -> Result<i64, Error> {
    match ctx.principal() {
        Principal::User(account) => Ok(account.user_id),
        _ => Err(Error::Unauthenticated(
            "Following datasets and notifications need a portal session: sign in first.".to_owned(),
        )),
    }
}

impl App {
    /// Makes the signed-in user of `ctx` follow dataset `id` (which they must be able to
    /// read) or stop following it.
    pub async fn set_follow(
        &self,
        ctx: &RequestContext,
        id: &str,
        follow: bool,
    ) -> Result<(), Error> {
        let user = user_of(ctx)?;
        // Unknown or unreadable: DatasetNotFound, as everywhere.
        self.dataset(ctx, id).await?;
        let id = id.to_owned();
        self.on_store(move |store| {
            store.catalog().set_follow(user, &id, follow).map_err(store_error)
        })
        .await
    }

    /// Whether the signed-in user of `ctx` follows dataset `id` (`false` for anyone else).
    pub async fn follows(&self, ctx: &RequestContext, id: &str) -> Result<bool, Error> {
        let Ok(user) = user_of(ctx) else { return Ok(false) };
        let id = id.to_owned();
        self.on_store(move |store| Ok(store.catalog().follows(user, &id)?)).await
    }

    /// The signed-in user's notifications, newest first, of datasets they may still read.
    pub async fn notifications(&self, ctx: &RequestContext) -> Result<Vec<Notification>, Error> {
        let user = user_of(ctx)?;
        let list = self
            .on_store(move |store| Ok(store.catalog().notifications(user, MAX_NOTIFICATIONS)?))
            .await?;
        let view = self.catalog(ctx).await?;
        Ok(list.into_iter().filter(|n| view.record(&n.dataset_id).is_some()).collect())
    }

    /// How many of the signed-in user's notifications are unread (0 for anyone else).
    pub async fn unread_notifications(&self, ctx: &RequestContext) -> Result<i64, Error> {
        let Ok(user) = user_of(ctx) else { return Ok(0) };
        self.on_store(move |store| Ok(store.catalog().unread_notifications(user)?)).await
    }

    /// Marks the signed-in user's notifications read (all, or up to `up_to`).
    pub async fn mark_notifications_read(
        &self,
        ctx: &RequestContext,
        up_to: Option<i64>,
    ) -> Result<usize, Error> {
        let user = user_of(ctx)?;
        self.on_store(move |store| Ok(store.catalog().mark_notifications_read(user, up_to)?)).await
    }
}

/// Starts the task that turns each publication into its followers' notifications.
pub(crate) fn spawn_recorder(app: Arc<App>) {
    let mut events = app.subscribe_publications();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let (uid, version, previous) =
                        (event.dataset_uid.clone(), event.version, event.previous);
                    let written = app
                        .on_store(move |store| {
                            Ok(store.catalog().notify_followers(&uid, version, previous)?)
                        })
                        .await;
                    if let Err(e) = written {
                        tracing::warn!(dataset = %event.dataset_id, error = %e, "notifications not written");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "notifications: publications missed");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
