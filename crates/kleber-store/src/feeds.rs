//! Change feeds (catalog schema 16): webhooks and their deliveries, follows and
//! notifications.
//!
//! A webhook watches one dataset (`dataset_uid`) or every dataset of one organization
//! (`org_id`) and posts each new version to its URL, signed with its secret (the secret is
//! kept in the catalog because every delivery needs it: the catalog file is as sensitive as
//! `sources.key`). Each delivery is a row of `webhook_deliveries` (its id, sent in a header so
//! a receiver detects a replay; its body; pending, delivered, failed or dropped) and each try a
//! row of `webhook_attempts` (HTTP status, error, duration).
//! Creating and deleting a hook are audited (`webhook.create`, `webhook.delete`); nothing of
//! this bumps the generation (no reader of the catalog sees it).
//!
//! A signed-in user follows datasets (`follows`); each new version of a followed dataset is a
//! row of `notifications` for the user, read or not. Rows go with their dataset, user or hook
//! (`ON DELETE CASCADE`).

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::json;

use crate::accounts::Actor;
use crate::error::{Error, Result};
use crate::publish::now_rfc3339;
use crate::sources::quiet;
use crate::sqlite::SqliteCatalog;
use crate::sqlite_accounts::{append, dataset_uid};

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its number.
    pub id: i64,
    /// The dataset it watches (identifier), if it watches one.
    pub dataset_id: Option<String>,
    /// The dataset's uid, if it watches one.
    pub dataset_uid: Option<String>,
    /// The organization whose datasets it watches, if it watches one; else the dataset's.
    pub org_id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The signing secret.
    pub secret: String,
    /// Who created it (audit actor).
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
}

/// One delivery of an event to a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id (`Kleber-Delivery` header): the same for every attempt.
    pub id: String,
    /// The hook.
    pub hook_id: i64,
    /// The JSON body posted.
    pub body: String,
    /// `pending`, `delivered`, `failed` (attempts exhausted) or `dropped` (queue full).
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (Unix milliseconds), while pending.
    pub next_at_ms: i64,
    /// When it was queued (RFC 3339).
    pub created_at: String,
    /// The last attempt's HTTP status, if any answered.
    pub last_status: Option<i64>,
    /// The last attempt's error, if it failed.
    pub last_error: Option<String>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The delivery.
    pub delivery_id: String,
    /// 1 for the first try.
    pub n: i64,
    /// When it started (RFC 3339).
    pub at: String,
    /// The HTTP status answered, if any.
    pub status: Option<i64>,
    /// What went wrong (`None`: a 2xx answer).
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

/// A notification of a new version of a followed dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its number.
    pub id: i64,
    /// The dataset's identifier.
    pub dataset_id: String,
    /// The dataset's title.
    pub dataset_title: String,
    /// The version published.
    pub version: i64,
    /// The version before it, if any.
    pub previous: Option<i64>,
    /// When the notification was made (RFC 3339).
    pub created_at: String,
    /// Whether the user marked it read.
    pub read: bool,
}

/// A version in the catalog's recent publications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentVersion {
    /// The dataset's identifier.
    pub dataset_id: String,
    /// The version.
    pub version: i64,
    /// When it was published (RFC 3339).
    pub published_at: String,
}

/// Webhooks, deliveries, follows and notifications.
pub trait FeedCatalog: Send + Sync {
    /// The last `limit` versions published across the catalog's datasets (not in the trash),
    /// newest first.
    fn recent_versions(&self, limit: usize) -> Result<Vec<RecentVersion>>;
    /// Creates a hook on dataset `dataset` or organization `org` (exactly one is given),
    /// appending `webhook.create` (without the secret).
    fn create_webhook(
        &self,
        actor: &Actor,
        dataset: Option<&str>,
        org: Option<&str>,
        url: &str,
        secret: &str,
    ) -> Result<Webhook>;
    /// Hook `id`.
    fn webhook(&self, id: i64) -> Result<Option<Webhook>>;
    /// Every hook, newest first.
    fn webhooks(&self) -> Result<Vec<Webhook>>;
    /// The hooks watching dataset `uid` of organization `org`.
    fn webhooks_for(&self, uid: &str, org: &str) -> Result<Vec<Webhook>>;
    /// Deletes hook `id` and its deliveries, appending `webhook.delete`; whether it existed.
    fn delete_webhook(&self, actor: &Actor, id: i64) -> Result<bool>;
    /// Queues a delivery of `body` to hook `hook` due at `now_ms`; when more than `bound`
    /// deliveries of the hook are pending, the oldest are marked `dropped`.
    fn enqueue_delivery(
        &self,
        hook: i64,
        id: &str,
        body: &str,
        now_ms: i64,
        bound: usize,
    ) -> Result<()>;
    /// Pending deliveries due at `now_ms`, oldest first, at most `limit`; and the earliest
    /// time a pending one not yet due is due.
    fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<(Vec<Delivery>, Option<i64>)>;
    /// Records an attempt and the delivery's new state (`next_at_ms` when still pending).
    fn record_attempt(&self, attempt: &Attempt, state: &str, next_at_ms: i64) -> Result<()>;
    /// Hook `hook`'s last `limit` deliveries, newest first, each with its attempts.
    fn deliveries(&self, hook: i64, limit: usize) -> Result<Vec<(Delivery, Vec<Attempt>)>>;
    /// Makes user `user` follow dataset `dataset` (identifier) or stop.
    fn set_follow(&self, user: i64, dataset: &str, follow: bool) -> Result<()>;
    /// Whether user `user` follows dataset `dataset`.
    fn follows(&self, user: i64, dataset: &str) -> Result<bool>;
    /// Adds a notification of version `version` of dataset `uid` for each of its followers;
    /// how many.
    fn notify_followers(&self, uid: &str, version: i64, previous: Option<i64>) -> Result<usize>;
    /// User `user`'s last `limit` notifications, newest first.
    fn notifications(&self, user: i64, limit: usize) -> Result<Vec<Notification>>;
    /// How many notifications of user `user` are unread.
    fn unread_notifications(&self, user: i64) -> Result<i64>;
    /// Marks user `user`'s notifications read (all, or those up to `up_to`); how many.
    fn mark_notifications_read(&self, user: i64, up_to: Option<i64>) -> Result<usize>;
}

/// Schema → 16: webhooks, deliveries, attempts, follows, notifications.
pub(crate) fn migrate_to_16(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE webhooks (
           id INTEGER PRIMARY KEY AUTOINCREMENT,
           dataset_uid TEXT REFERENCES datasets(uid) ON DELETE CASCADE,
           org_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
           url TEXT NOT NULL,
           secret TEXT NOT NULL,
           created_by TEXT NOT NULL,
           created_at TEXT NOT NULL
         );
         CREATE INDEX webhooks_dataset ON webhooks(dataset_uid);
         CREATE INDEX webhooks_org ON webhooks(org_id);
         CREATE TABLE webhook_deliveries (
           id TEXT PRIMARY KEY,
           hook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
           body TEXT NOT NULL,
           state TEXT NOT NULL CHECK (state IN ('pending','delivered','failed','dropped')),
           attempts INTEGER NOT NULL DEFAULT 0,
           next_at_ms INTEGER NOT NULL,
           created_at TEXT NOT NULL,
           last_status INTEGER,
           last_error TEXT
         );
         CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_at_ms);
         CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(hook_id, created_at);
         CREATE TABLE webhook_attempts (
           delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
           n INTEGER NOT NULL,
           at TEXT NOT NULL,
           status INTEGER,
           error TEXT,
           duration_ms INTEGER NOT NULL,
           PRIMARY KEY (delivery_id, n)
         );
         CREATE TABLE follows (
           user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
           dataset_uid TEXT NOT NULL REFERENCES datasets(uid) ON DELETE CASCADE,
           created_at TEXT NOT NULL,
           PRIMARY KEY (user_id, dataset_uid)
         );
         CREATE INDEX follows_dataset ON follows(dataset_uid);
         CREATE TABLE notifications (
           id INTEGER PRIMARY KEY AUTOINCREMENT,
           user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
           dataset_uid TEXT NOT NULL REFERENCES datasets(uid) ON DELETE CASCADE,
           version INTEGER NOT NULL,
           previous INTEGER,
           created_at TEXT NOT NULL,
           read_at TEXT
         );
         CREATE INDEX notifications_user ON notifications(user_id, id);
         PRAGMA user_version = 16;",
    )?;
    Ok(())
}

const SELECT_HOOK: &str = "SELECT w.id, d.id, w.dataset_uid, w.org_id, w.url, w.secret,
        w.created_by, w.created_at
   FROM webhooks w LEFT JOIN datasets d ON d.uid = w.dataset_uid";

fn row_to_hook(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        id: r.get(0)?,
        dataset_id: r.get(1)?,
        dataset_uid: r.get(2)?,
        org_id: r.get(3)?,
        url: r.get(4)?,
        secret: r.get(5)?,
        created_by: r.get(6)?,
        created_at: r.get(7)?,
    })
}

const SELECT_DELIVERY: &str = "SELECT id, hook_id, body, state, attempts, next_at_ms,
        created_at, last_status, last_error FROM webhook_deliveries";

fn row_to_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        id: r.get(0)?,
        hook_id: r.get(1)?,
        body: r.get(2)?,
        state: r.get(3)?,
        attempts: r.get(4)?,
        next_at_ms: r.get(5)?,
        created_at: r.get(6)?,
        last_status: r.get(7)?,
        last_error: r.get(8)?,
    })
}

impl FeedCatalog for SqliteCatalog {
    fn recent_versions(&self, limit: usize) -> Result<Vec<RecentVersion>> {
        let conn = self.conn();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = conn.prepare_cached(
            "SELECT d.id, v.version, v.created_at FROM versions v
               JOIN datasets d ON d.uid = v.dataset_uid
              WHERE d.deleted_at IS NULL AND d.current_version IS NOT NULL
              ORDER BY v.created_at DESC, v.version DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(RecentVersion { dataset_id: r.get(0)?, version: r.get(1)?, published_at: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn create_webhook(
        &self,
        actor: &Actor,
        dataset: Option<&str>,
        org: Option<&str>,
        url: &str,
        secret: &str,
    ) -> Result<Webhook> {
        let mut conn = self.conn();
        let (who, _) = actor.columns();
        let id = quiet(&mut conn, |tx| {
            let (uid, org_id) = match (dataset, org) {
                (Some(d), _) => {
                    let uid = dataset_uid(tx, d)?;
                    let org: String =
                        tx.query_row("SELECT org_id FROM datasets WHERE uid = ?1", [&uid], |r| {
                            r.get(0)
                        })?;
                    (Some(uid), org)
                }
                (None, Some(o)) => {
                    let known: Option<String> = tx
                        .query_row("SELECT id FROM organizations WHERE id = ?1", [o], |r| r.get(0))
                        .optional()?;
                    (None, known.ok_or_else(|| Error::OrgNotFound { id: o.to_owned() })?)
                }
                (None, None) => {
                    return Err(Error::CorruptCatalog(
                        "a webhook needs a dataset or an organization".to_owned(),
                    ));
                }
            };
            tx.execute(
                "INSERT INTO webhooks (dataset_uid, org_id, url, secret, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![uid, org_id, url, secret, who, now_rfc3339()],
            )?;
            let id = tx.last_insert_rowid();
            let target = dataset.map_or_else(|| format!("org:{org_id}"), str::to_owned);
            append(
                tx,
                actor,
                "webhook.create",
                &target,
                json!({"webhook": id, "url": url, "organization": org_id}),
            )?;
            Ok(id)
        })?;
        drop(conn);
        self.webhook(id)?.ok_or_else(|| Error::CorruptCatalog("webhook not written".to_owned()))
    }

    fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
        let conn = self.conn();
        Ok(conn
            .query_row(&format!("{SELECT_HOOK} WHERE w.id = ?1"), [id], row_to_hook)
            .optional()?)
    }

    fn webhooks(&self) -> Result<Vec<Webhook>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{SELECT_HOOK} ORDER BY w.id DESC"))?;
        let rows = stmt.query_map([], row_to_hook)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn webhooks_for(&self, uid: &str, org: &str) -> Result<Vec<Webhook>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT_HOOK} WHERE w.dataset_uid = ?1 OR (w.dataset_uid IS NULL AND w.org_id = ?2)
             ORDER BY w.id"
        ))?;
        let rows = stmt.query_map(params![uid, org], row_to_hook)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn delete_webhook(&self, actor: &Actor, id: i64) -> Result<bool> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            let n = tx.execute("DELETE FROM webhooks WHERE id = ?1", [id])?;
            if n > 0 {
                append(tx, actor, "webhook.delete", &format!("webhook:{id}"), json!({}))?;
            }
            Ok(n > 0)
        })
    }

    fn enqueue_delivery(
        &self,
        hook: i64,
        id: &str,
        body: &str,
        now_ms: i64,
        bound: usize,
    ) -> Result<()> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            tx.execute(
                "INSERT INTO webhook_deliveries (id, hook_id, body, state, next_at_ms, created_at)
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5)",
                params![id, hook, body, now_ms, now_rfc3339()],
            )?;
            let bound = i64::try_from(bound).unwrap_or(i64::MAX);
            tx.execute(
                "UPDATE webhook_deliveries SET state = 'dropped',
                   last_error = 'the hook''s queue was full: dropped unsent'
                 WHERE rowid IN (SELECT rowid FROM webhook_deliveries
                                 WHERE hook_id = ?1 AND state = 'pending'
                                 ORDER BY rowid DESC LIMIT -1 OFFSET ?2)",
                params![hook, bound],
            )?;
            Ok(())
        })
    }

    fn due_deliveries(&self, now_ms: i64, limit: usize) -> Result<(Vec<Delivery>, Option<i64>)> {
        let conn = self.conn();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT_DELIVERY} WHERE state = 'pending' AND next_at_ms <= ?1
             ORDER BY next_at_ms, rowid LIMIT ?2"
        ))?;
        let due = stmt
            .query_map(params![now_ms, limit], row_to_delivery)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let next: Option<i64> = conn.query_row(
            "SELECT min(next_at_ms) FROM webhook_deliveries WHERE state = 'pending' AND next_at_ms > ?1",
            [now_ms],
            |r| r.get(0),
        )?;
        Ok((due, next))
    }

    fn record_attempt(&self, attempt: &Attempt, state: &str, next_at_ms: i64) -> Result<()> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            tx.execute(
                "INSERT OR REPLACE INTO webhook_attempts (delivery_id, n, at, status, error, duration_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    attempt.delivery_id,
                    attempt.n,
                    attempt.at,
                    attempt.status,
                    attempt.error,
                    attempt.duration_ms
                ],
            )?;
            tx.execute(
                "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, next_at_ms = ?4,
                   last_status = ?5, last_error = ?6
                 WHERE id = ?1",
                params![
                    attempt.delivery_id,
                    state,
                    attempt.n,
                    next_at_ms,
                    attempt.status,
                    attempt.error
                ],
            )?;
            Ok(())
        })
    }

    fn deliveries(&self, hook: i64, limit: usize) -> Result<Vec<(Delivery, Vec<Attempt>)>> {
        let conn = self.conn();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = conn.prepare(&format!(
            "{SELECT_DELIVERY} WHERE hook_id = ?1 ORDER BY rowid DESC LIMIT ?2"
        ))?;
        let deliveries = stmt
            .query_map(params![hook, limit], row_to_delivery)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut attempts = conn.prepare_cached(
            "SELECT delivery_id, n, at, status, error, duration_ms FROM webhook_attempts
             WHERE delivery_id = ?1 ORDER BY n",
        )?;
        let mut out = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            let list = attempts
                .query_map([&d.id], |r| {
                    Ok(Attempt {
                        delivery_id: r.get(0)?,
                        n: r.get(1)?,
                        at: r.get(2)?,
                        status: r.get(3)?,
                        error: r.get(4)?,
                        duration_ms: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push((d, list));
        }
        Ok(out)
    }

    fn set_follow(&self, user: i64, dataset: &str, follow: bool) -> Result<()> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            if follow {
                tx.execute(
                    "INSERT OR IGNORE INTO follows (user_id, dataset_uid, created_at)
                     VALUES (?1, ?2, ?3)",
                    params![user, uid, now_rfc3339()],
                )?;
            } else {
                tx.execute(
                    "DELETE FROM follows WHERE user_id = ?1 AND dataset_uid = ?2",
                    params![user, uid],
                )?;
            }
            Ok(())
        })
    }

    fn follows(&self, user: i64, dataset: &str) -> Result<bool> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT 1 FROM follows f JOIN datasets d ON d.uid = f.dataset_uid
                 WHERE f.user_id = ?1 AND d.id = ?2",
                params![user, dataset],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn notify_followers(&self, uid: &str, version: i64, previous: Option<i64>) -> Result<usize> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            Ok(tx.execute(
                "INSERT INTO notifications (user_id, dataset_uid, version, previous, created_at)
                 SELECT user_id, dataset_uid, ?2, ?3, ?4 FROM follows WHERE dataset_uid = ?1",
                params![uid, version, previous, now_rfc3339()],
            )?)
        })
    }

    fn notifications(&self, user: i64, limit: usize) -> Result<Vec<Notification>> {
        let conn = self.conn();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = conn.prepare_cached(
            "SELECT n.id, d.id, d.title, n.version, n.previous, n.created_at, n.read_at IS NOT NULL
               FROM notifications n JOIN datasets d ON d.uid = n.dataset_uid
              WHERE n.user_id = ?1 ORDER BY n.id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![user, limit], |r| {
            Ok(Notification {
                id: r.get(0)?,
                dataset_id: r.get(1)?,
                dataset_title: r.get(2)?,
                version: r.get(3)?,
                previous: r.get(4)?,
                created_at: r.get(5)?,
                read: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn unread_notifications(&self, user: i64) -> Result<i64> {
        let conn = self.conn();
        Ok(conn.query_row(
            "SELECT count(*) FROM notifications WHERE user_id = ?1 AND read_at IS NULL",
            [user],
            |r| r.get(0),
        )?)
    }

    fn mark_notifications_read(&self, user: i64, up_to: Option<i64>) -> Result<usize> {
        let mut conn = self.conn();
        quiet(&mut conn, |tx| {
            Ok(tx.execute(
                "UPDATE notifications SET read_at = ?3
                  WHERE user_id = ?1 AND read_at IS NULL AND (?2 IS NULL OR id <= ?2)",
                params![user, up_to, now_rfc3339()],
            )?)
        })
    }
}
