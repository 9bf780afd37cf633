//! The SQLite side of [`AccountCatalog`]: schema version 3 and its queries.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde_json::{Value, json};

use crate::accounts::SessionGrant;
use crate::accounts::{
    AccountCatalog, Actor, ApiKeyRecord, AuditEntry, AuditFilter, KeyGrant, NewApiKey,
    NewOrganization, NewUser, OrgKind, OrgUpdate, Organization, PendingInvitation, Role, User,
    Visibility, email_key, is_valid_org_id, parse_scopes, parse_word, scopes_text,
};
use crate::catalog::{AccessRule, NewVersion};
use crate::error::{Error, Result};
use crate::publish::now_rfc3339;
use crate::sqlite::{SqliteCatalog, write};

/// Schema 2 → 3: organizations, users, memberships, grants, keys, sessions, the audit log, and
/// each dataset's organization and visibility. Datasets already there go to `default_org`
/// (created) and stay public.
pub(crate) fn migrate_to_3(conn: &Connection, default_org: &str) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE organizations (
           id TEXT PRIMARY KEY,
           name TEXT NOT NULL,
           kind TEXT NOT NULL
             CHECK (kind IN ('city','metropolis','commune','public_body','company','association')),
           description TEXT,
           website TEXT,
           logo TEXT,
           created_at TEXT NOT NULL
         );
         CREATE TABLE users (
           id INTEGER PRIMARY KEY,
           email TEXT NOT NULL,
           email_key TEXT NOT NULL UNIQUE,
           name TEXT NOT NULL,
           password_hash TEXT,
           admin INTEGER NOT NULL DEFAULT 0,
           disabled INTEGER NOT NULL DEFAULT 0,
           created_at TEXT NOT NULL
         );
         CREATE TABLE memberships (
           org_id TEXT NOT NULL REFERENCES organizations(id),
           user_id INTEGER NOT NULL REFERENCES users(id),
           role TEXT NOT NULL CHECK (role IN ('admin','editor','viewer')),
           PRIMARY KEY (org_id, user_id)
         );
         CREATE INDEX memberships_user ON memberships(user_id);
         CREATE TABLE dataset_grants (
           dataset_uid TEXT NOT NULL REFERENCES datasets(uid),
           user_id INTEGER NOT NULL REFERENCES users(id),
           created_at TEXT NOT NULL,
           PRIMARY KEY (dataset_uid, user_id)
         );
         CREATE INDEX dataset_grants_user ON dataset_grants(user_id);
         CREATE TABLE api_keys (
           id TEXT PRIMARY KEY,
           secret_hash BLOB NOT NULL,
           name TEXT NOT NULL,
           scopes TEXT NOT NULL,
           user_id INTEGER NOT NULL REFERENCES users(id),
           created_at TEXT NOT NULL,
           expires_at TEXT,
           last_used_at TEXT,
           revoked_at TEXT
         );
         CREATE INDEX api_keys_user ON api_keys(user_id);
         CREATE TABLE sessions (
           token_hash BLOB PRIMARY KEY,
           user_id INTEGER NOT NULL REFERENCES users(id),
           created_at TEXT NOT NULL,
           expires_at TEXT NOT NULL,
           csrf_secret BLOB NOT NULL
         );
         CREATE INDEX sessions_user ON sessions(user_id);
         CREATE TABLE audit_log (
           id INTEGER PRIMARY KEY,
           at TEXT NOT NULL,
           actor TEXT NOT NULL,
           via TEXT,
           action TEXT NOT NULL,
           target TEXT NOT NULL,
           details TEXT NOT NULL DEFAULT '{}'
         );
         CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         ALTER TABLE datasets ADD COLUMN org_id TEXT REFERENCES organizations(id);
         ALTER TABLE datasets ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'
           CHECK (visibility IN ('public','restricted','draft'));
         CREATE INDEX datasets_org ON datasets(org_id);",
    )?;
    let now = now_rfc3339();
    conn.execute(
        "INSERT INTO organizations (id, name, kind, created_at) VALUES (?1, ?1, 'public_body', ?2)",
        params![default_org, now],
    )?;
    conn.execute("INSERT INTO settings (key, value) VALUES ('default_org', ?1)", [default_org])?;
    let moved =
        conn.execute("UPDATE datasets SET org_id = ?1 WHERE org_id IS NULL", [default_org])?;
    append(
        conn,
        &Actor::System,
        "catalog.migrate",
        "3",
        json!({"default_org": default_org, "datasets_moved": moved}),
    )?;
    conn.execute_batch("PRAGMA user_version = 3;")?;
    Ok(())
}

/// Schema 3 → 4: one-time invitation links (the digest of their token, the invited user, an
/// expiry).
pub(crate) fn migrate_to_4(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE invitations (
           token_hash BLOB PRIMARY KEY,
           user_id INTEGER NOT NULL REFERENCES users(id),
           created_at TEXT NOT NULL,
           expires_at TEXT NOT NULL
         );
         CREATE INDEX invitations_user ON invitations(user_id);
         PRAGMA user_version = 4;",
    )?;
    Ok(())
}

/// Schema 4 → 5: each dataset's access rule for outsiders (JSON: hidden fields and an ODSQL
/// condition; `NULL` when it has none).
pub(crate) fn migrate_to_5(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "ALTER TABLE datasets ADD COLUMN rule TEXT;
         PRAGMA user_version = 5;",
    )?;
    Ok(())
}

/// Appends one audit entry (inside the caller's transaction).
pub(crate) fn append(
    conn: &Connection,
    actor: &Actor,
    action: &str,
    target: &str,
    details: Value,
) -> Result<()> {
    let (who, via) = actor.columns();
    conn.execute(
        "INSERT INTO audit_log (at, actor, via, action, target, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![now_rfc3339(), who, via, action, target, details.to_string()],
    )?;
    Ok(())
}

pub(crate) fn default_org(tx: &Transaction<'_>) -> Result<String> {
    tx.query_row("SELECT value FROM settings WHERE key = 'default_org'", [], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::CorruptCatalog("no default organization in settings".to_owned()))
}

/// Refuses a publication into an organization that does not exist.
pub(crate) fn check_access(tx: &Transaction<'_>, v: &NewVersion<'_>) -> Result<()> {
    if let Some(org) = v.organization {
        org_exists(tx, org)?;
    }
    Ok(())
}

pub(crate) fn audit_publish(tx: &Transaction<'_>, v: &NewVersion<'_>) -> Result<()> {
    let (org, visibility): (String, String) =
        tx.query_row("SELECT org_id, visibility FROM datasets WHERE uid = ?1", [v.uid], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    append(
        tx,
        v.actor,
        "dataset.publish",
        v.id,
        json!({"version": v.number, "records": v.records_count, "organization": org,
               "visibility": visibility, "source": v.source}),
    )
}

fn org_exists(conn: &Connection, org: &str) -> Result<()> {
    let found: bool =
        conn.query_row("SELECT EXISTS(SELECT 1 FROM organizations WHERE id = ?1)", [org], |r| {
            r.get(0)
        })?;
    if found { Ok(()) } else { Err(Error::OrgNotFound { id: org.to_owned() }) }
}

const USER_COLUMNS: &str =
    "u.id, u.email, u.name, u.admin, u.disabled, u.password_hash IS NOT NULL, u.created_at";

fn row_to_user(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        email: row.get(1)?,
        name: row.get(2)?,
        admin: row.get(3)?,
        disabled: row.get(4)?,
        has_password: row.get(5)?,
        created_at: row.get(6)?,
    })
}

fn find_user(conn: &Connection, email: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email_key = ?1"),
            [email_key(email)],
            row_to_user,
        )
        .optional()?)
}

fn user(conn: &Connection, email: &str) -> Result<User> {
    find_user(conn, email)?.ok_or_else(|| Error::UserNotFound { email: email.trim().to_owned() })
}

/// A user's memberships (organization, role) and the dataset uids granted to them.
type Rights = (Vec<(String, Role)>, Vec<String>);

/// A user's [`Rights`].
fn rights(conn: &Connection, user_id: i64) -> Result<Rights> {
    let mut stmt = conn.prepare_cached(
        "SELECT org_id, role FROM memberships WHERE user_id = ?1 ORDER BY org_id",
    )?;
    let memberships = stmt
        .query_map([user_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .map(|r| {
            let (org, role) = r?;
            Ok((org, parse_word(&role)?))
        })
        .collect::<Result<Vec<(String, Role)>>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT dataset_uid FROM dataset_grants WHERE user_id = ?1 ORDER BY dataset_uid",
    )?;
    let grants = stmt.query_map([user_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok((memberships, grants))
}

/// How the audit log names a session: the first 8 hexadecimal digits of its token's digest
/// (enough to tell sessions apart, useless to forge one).
fn session_label(token_hash: &[u8]) -> String {
    token_hash.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn dataset_uid(conn: &Connection, id: &str) -> Result<String> {
    conn.query_row("SELECT uid FROM datasets WHERE id = ?1", [id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::DatasetNotFound { id: id.to_owned() })
}

/// The organization of dataset `uid` (recorded in audit entries about it, so that the entry
/// stays its organization's when the dataset moves).
fn dataset_org(conn: &Connection, uid: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT org_id FROM datasets WHERE uid = ?1", [uid], |r| r.get(0))?)
}

/// The SQL condition of an audit entry concerning one of the organizations of the JSON array
/// bound as `?1`: the target of organization and membership entries, the `organization` of
/// dataset entries, either side of a dataset's move.
const AUDIT_ORG_CONDITION: &str = "(
    (action IN ('org.create', 'org.update', 'member.set', 'member.remove')
       AND target IN (SELECT value FROM json_each(?1)))
 OR (action = 'user.invite' AND json_extract(details, '$.org') IN (SELECT value FROM json_each(?1)))
 OR json_extract(details, '$.organization') IN (SELECT value FROM json_each(?1))
 OR (action = 'dataset.org'
       AND (json_extract(details, '$.from') IN (SELECT value FROM json_each(?1))
         OR json_extract(details, '$.to') IN (SELECT value FROM json_each(?1)))))";

fn row_to_org(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Organization, String)> {
    let kind: String = row.get(2)?;
    Ok((
        Organization {
            id: row.get(0)?,
            name: row.get(1)?,
            kind: OrgKind::City,
            description: row.get(3)?,
            website: row.get(4)?,
            logo: row.get(5)?,
            created_at: row.get(6)?,
        },
        kind,
    ))
}

fn with_kind((mut org, kind): (Organization, String)) -> Result<Organization> {
    org.kind = parse_word(&kind)?;
    Ok(org)
}

const ORG_COLUMNS: &str = "id, name, kind, description, website, logo, created_at";

const KEY_COLUMNS: &str = "k.id, k.name, k.scopes, k.user_id, u.email, k.created_at, k.expires_at,
     k.last_used_at, k.revoked_at";

fn row_to_key(row: &rusqlite::Row<'_>) -> rusqlite::Result<(ApiKeyRecord, String)> {
    Ok((
        ApiKeyRecord {
            id: row.get(0)?,
            name: row.get(1)?,
            scopes: Vec::new(),
            user_id: row.get(3)?,
            user_email: row.get(4)?,
            created_at: row.get(5)?,
            expires_at: row.get(6)?,
            last_used_at: row.get(7)?,
            revoked_at: row.get(8)?,
        },
        row.get(2)?,
    ))
}

fn with_scopes((mut key, scopes): (ApiKeyRecord, String)) -> Result<ApiKeyRecord> {
    key.scopes = parse_scopes(&scopes)?;
    Ok(key)
}

fn key(conn: &Connection, id: &str) -> Result<ApiKeyRecord> {
    let found = conn
        .query_row(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ?1"),
            [id],
            row_to_key,
        )
        .optional()?;
    with_scopes(found.ok_or_else(|| Error::KeyNotFound { id: id.to_owned() })?)
}

/// A plausible address: something, `@`, a domain with a dot; no spaces or control characters.
fn check_email(email: &str) -> Result<()> {
    let bad = || Error::InvalidEmail { email: email.to_owned() };
    let trimmed = email.trim();
    let (local, domain) = trimmed.split_once('@').ok_or_else(bad)?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && trimmed.len() <= 254
        && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(()) } else { Err(bad()) }
}

impl AccountCatalog for SqliteCatalog {
    fn create_org(&self, actor: &Actor, org: &NewOrganization<'_>) -> Result<Organization> {
        if !is_valid_org_id(org.id) {
            return Err(Error::InvalidOrgId { id: org.id.to_owned() });
        }
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            if tx
                .query_row("SELECT 1 FROM organizations WHERE id = ?1", [org.id], |_| Ok(()))
                .optional()?
                .is_some()
            {
                return Err(Error::OrgExists { id: org.id.to_owned() });
            }
            tx.execute(
                "INSERT INTO organizations (id, name, kind, description, website, logo, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    org.id,
                    org.name,
                    org.kind.as_str(),
                    org.description,
                    org.website,
                    org.logo,
                    now_rfc3339()
                ],
            )?;
            append(
                tx,
                actor,
                "org.create",
                org.id,
                json!({"name": org.name, "kind": org.kind.as_str()}),
            )?;
            let found = tx.query_row(
                &format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = ?1"),
                [org.id],
                row_to_org,
            )?;
            with_kind(found)
        })
    }

    fn update_org(&self, actor: &Actor, id: &str, update: &OrgUpdate<'_>) -> Result<Organization> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let select = format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = ?1");
            let Some(found) = tx.query_row(&select, [id], row_to_org).optional()? else {
                return Err(Error::OrgNotFound { id: id.to_owned() });
            };
            let mut org = with_kind(found)?;
            let mut changed = serde_json::Map::new();
            if let Some(name) = update.name {
                org.name = name.to_owned();
                changed.insert("name".into(), json!(name));
            }
            if let Some(kind) = update.kind {
                org.kind = kind;
                changed.insert("kind".into(), json!(kind.as_str()));
            }
            for (key, new, slot) in [
                ("description", update.description, &mut org.description),
                ("website", update.website, &mut org.website),
                ("logo", update.logo, &mut org.logo),
            ] {
                if let Some(value) = new {
                    *slot = value.map(str::to_owned);
                    changed.insert(key.into(), json!(value));
                }
            }
            tx.execute(
                "UPDATE organizations SET name = ?2, kind = ?3, description = ?4, website = ?5,
                 logo = ?6 WHERE id = ?1",
                params![id, org.name, org.kind.as_str(), org.description, org.website, org.logo],
            )?;
            append(tx, actor, "org.update", id, Value::Object(changed))?;
            Ok(org)
        })
    }

    fn list_orgs(&self) -> Result<Vec<Organization>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare(&format!("SELECT {ORG_COLUMNS} FROM organizations ORDER BY id"))?;
        let rows = stmt.query_map([], row_to_org)?;
        rows.map(|r| with_kind(r?)).collect()
    }

    fn get_org(&self, id: &str) -> Result<Option<Organization>> {
        let conn = self.conn();
        let found = conn
            .query_row(
                &format!("SELECT {ORG_COLUMNS} FROM organizations WHERE id = ?1"),
                [id],
                row_to_org,
            )
            .optional()?;
        found.map(with_kind).transpose()
    }

    fn default_org(&self) -> Result<String> {
        let conn = self.conn();
        conn.query_row("SELECT value FROM settings WHERE key = 'default_org'", [], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::CorruptCatalog("no default organization in settings".to_owned()))
    }

    fn create_user(&self, actor: &Actor, new: &NewUser<'_>) -> Result<User> {
        check_email(new.email)?;
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            if find_user(tx, new.email)?.is_some() {
                return Err(Error::UserExists { email: new.email.trim().to_owned() });
            }
            tx.execute(
                "INSERT INTO users (email, email_key, name, password_hash, admin, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    new.email.trim(),
                    email_key(new.email),
                    new.name,
                    new.password_hash,
                    new.admin,
                    now_rfc3339()
                ],
            )?;
            append(
                tx,
                actor,
                "user.create",
                new.email.trim(),
                json!({"admin": new.admin, "password": new.password_hash.is_some()}),
            )?;
            user(tx, new.email)
        })
    }

    fn get_user(&self, email: &str) -> Result<Option<User>> {
        find_user(&self.conn(), email)
    }

    fn disable_user(&self, actor: &Actor, email: &str) -> Result<User> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let found = user(tx, email)?;
            tx.execute("UPDATE users SET disabled = 1 WHERE id = ?1", [found.id])?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [found.id])?;
            append(tx, actor, "user.disable", &found.email, json!({}))?;
            user(tx, email)
        })
    }

    fn password_hash(&self, email: &str) -> Result<Option<String>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT password_hash FROM users WHERE email_key = ?1",
                [email_key(email)],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    fn set_member(&self, actor: &Actor, org: &str, email: &str, role: Role) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            org_exists(tx, org)?;
            let found = user(tx, email)?;
            tx.execute(
                "INSERT INTO memberships (org_id, user_id, role) VALUES (?1, ?2, ?3)
                 ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                params![org, found.id, role.as_str()],
            )?;
            append(
                tx,
                actor,
                "member.set",
                org,
                json!({"user": found.email, "role": role.as_str()}),
            )
        })
    }

    fn remove_member(&self, actor: &Actor, org: &str, email: &str) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            org_exists(tx, org)?;
            let found = user(tx, email)?;
            let removed = tx.execute(
                "DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2",
                params![org, found.id],
            )?;
            if removed == 0 {
                return Err(Error::NotAMember { org: org.to_owned(), email: found.email });
            }
            append(tx, actor, "member.remove", org, json!({"user": found.email}))
        })
    }

    fn members(&self, org: &str) -> Result<Vec<(User, Role)>> {
        let conn = self.conn();
        org_exists(&conn, org)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {USER_COLUMNS}, m.role FROM memberships m JOIN users u ON u.id = m.user_id
              WHERE m.org_id = ?1 ORDER BY u.email_key"
        ))?;
        let rows = stmt.query_map([org], |r| Ok((row_to_user(r)?, r.get::<_, String>(7)?)))?;
        rows.map(|r| {
            let (user, role) = r?;
            Ok((user, parse_word(&role)?))
        })
        .collect()
    }

    fn create_key(&self, actor: &Actor, new: &NewApiKey<'_>) -> Result<ApiKeyRecord> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let owner = user(tx, new.user_email)?;
            tx.execute(
                "INSERT INTO api_keys (id, secret_hash, name, scopes, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    new.id,
                    new.secret_hash,
                    new.name,
                    scopes_text(new.scopes),
                    owner.id,
                    now_rfc3339(),
                    new.expires_at
                ],
            )?;
            append(
                tx,
                actor,
                "key.create",
                new.id,
                json!({"user": owner.email, "name": new.name, "scopes": scopes_text(new.scopes),
                       "expires_at": new.expires_at}),
            )?;
            key(tx, new.id)
        })
    }

    fn revoke_key(&self, actor: &Actor, id: &str) -> Result<ApiKeyRecord> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let found = key(tx, id)?;
            if found.revoked_at.is_none() {
                tx.execute(
                    "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2",
                    params![now_rfc3339(), id],
                )?;
                append(tx, actor, "key.revoke", id, json!({"user": found.user_email}))?;
            }
            key(tx, id)
        })
    }

    fn list_keys(&self, email: Option<&str>) -> Result<Vec<ApiKeyRecord>> {
        let conn = self.conn();
        let owner = email.map(|e| user(&conn, e)).transpose()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id
              WHERE ?1 IS NULL OR k.user_id = ?1 ORDER BY k.created_at, k.id"
        ))?;
        let rows = stmt.query_map([owner.map(|u| u.id)], row_to_key)?;
        rows.map(|r| with_scopes(r?)).collect()
    }

    fn key_grant(&self, id: &str) -> Result<Option<KeyGrant>> {
        let conn = self.conn();
        let found = conn
            .query_row(
                &format!(
                    "SELECT {KEY_COLUMNS}, k.secret_hash FROM api_keys k JOIN users u ON u.id = k.user_id
                      WHERE k.id = ?1"
                ),
                [id],
                |r| Ok((row_to_key(r)?, r.get::<_, Vec<u8>>(9)?)),
            )
            .optional()?;
        let Some((record, secret_hash)) = found else {
            return Ok(None);
        };
        let key = with_scopes(record)?;
        let owner = conn.query_row(
            &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1"),
            [key.user_id],
            row_to_user,
        )?;
        let (memberships, grants) = rights(&conn, owner.id)?;
        Ok(Some(KeyGrant { key, secret_hash, user: owner, memberships, grants }))
    }

    fn touch_keys(&self, uses: &[(String, String)]) -> Result<()> {
        let mut conn = self.conn();
        // Not `write`: last use is bookkeeping, it changes nothing anyone reads through the
        // catalog's generation.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (id, at) in uses {
            tx.execute("UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2", params![at, id])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn create_session(
        &self,
        user_id: i64,
        token_hash: &[u8],
        csrf_secret: &[u8],
        ttl_secs: i64,
    ) -> Result<String> {
        let mut conn = self.conn();
        // Not `write`: a session is not catalog state that readers derive anything from.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now = chrono::Utc::now();
        let expires = (now + chrono::Duration::seconds(ttl_secs))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now_rfc3339()])?;
        tx.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, csrf_secret)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![token_hash, user_id, now_rfc3339(), expires, csrf_secret],
        )?;
        let email: String =
            tx.query_row("SELECT email FROM users WHERE id = ?1", [user_id], |r| r.get(0))?;
        let actor = Actor::User { user_id, session: session_label(token_hash) };
        append(&tx, &actor, "session.create", &email, json!({"expires_at": expires}))?;
        tx.commit()?;
        Ok(expires)
    }

    fn session_grant(&self, token_hash: &[u8]) -> Result<Option<SessionGrant>> {
        let conn = self.conn();
        let found = conn
            .query_row(
                &format!(
                    "SELECT {USER_COLUMNS}, s.expires_at, s.csrf_secret FROM sessions s
                       JOIN users u ON u.id = s.user_id
                      WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0"
                ),
                params![token_hash, now_rfc3339()],
                |r| Ok((row_to_user(r)?, r.get::<_, String>(7)?, r.get::<_, Vec<u8>>(8)?)),
            )
            .optional()?;
        let Some((user, expires_at, csrf_secret)) = found else {
            return Ok(None);
        };
        let (memberships, grants) = rights(&conn, user.id)?;
        Ok(Some(SessionGrant { user, memberships, grants, expires_at, csrf_secret }))
    }

    fn delete_session(&self, token_hash: &[u8]) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let owner: Option<(i64, String)> = tx
            .query_row(
                "SELECT u.id, u.email FROM sessions s JOIN users u ON u.id = s.user_id
                  WHERE s.token_hash = ?1",
                [token_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((user_id, email)) = owner else {
            return Ok(false);
        };
        tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        let actor = Actor::User { user_id, session: session_label(token_hash) };
        append(&tx, &actor, "session.delete", &email, json!({}))?;
        tx.commit()?;
        Ok(true)
    }

    fn create_invitation(
        &self,
        actor: &Actor,
        email: &str,
        org: &str,
        role: Role,
        token_hash: &[u8],
        ttl_secs: i64,
    ) -> Result<String> {
        check_email(email)?;
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            org_exists(tx, org)?;
            let now = now_rfc3339();
            let invited = match find_user(tx, email)? {
                Some(found) => found,
                None => {
                    tx.execute(
                        "INSERT INTO users (email, email_key, name, admin, created_at)
                         VALUES (?1, ?2, ?1, 0, ?3)",
                        params![email.trim(), email_key(email), now],
                    )?;
                    user(tx, email)?
                }
            };
            tx.execute(
                "INSERT INTO memberships (org_id, user_id, role) VALUES (?1, ?2, ?3)
                 ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                params![org, invited.id, role.as_str()],
            )?;
            let expires = (chrono::Utc::now() + chrono::Duration::seconds(ttl_secs))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
            tx.execute(
                "DELETE FROM invitations WHERE user_id = ?1 OR expires_at <= ?2",
                params![invited.id, now],
            )?;
            tx.execute(
                "INSERT INTO invitations (token_hash, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![token_hash, invited.id, now, expires],
            )?;
            append(
                tx,
                actor,
                "user.invite",
                &invited.email,
                json!({"org": org, "role": role.as_str(), "expires_at": expires}),
            )?;
            Ok(expires)
        })
    }

    fn invitation_user(&self, token_hash: &[u8]) -> Result<Option<User>> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {USER_COLUMNS} FROM invitations i JOIN users u ON u.id = i.user_id
                      WHERE i.token_hash = ?1 AND i.expires_at > ?2 AND u.disabled = 0"
                ),
                params![token_hash, now_rfc3339()],
                row_to_user,
            )
            .optional()?)
    }

    fn accept_invitation(&self, token_hash: &[u8], password_hash: &str) -> Result<Option<User>> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let found = tx
                .query_row(
                    &format!(
                        "SELECT {USER_COLUMNS} FROM invitations i JOIN users u ON u.id = i.user_id
                          WHERE i.token_hash = ?1 AND i.expires_at > ?2 AND u.disabled = 0"
                    ),
                    params![token_hash, now_rfc3339()],
                    row_to_user,
                )
                .optional()?;
            let Some(found) = found else {
                return Ok(None);
            };
            tx.execute("DELETE FROM invitations WHERE token_hash = ?1", [token_hash])?;
            tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![password_hash, found.id],
            )?;
            let actor = Actor::User { user_id: found.id, session: String::from("invitation") };
            append(tx, &actor, "user.invitation.accept", &found.email, json!({}))?;
            Ok(Some(user(tx, &found.email)?))
        })
    }

    fn set_visibility(&self, actor: &Actor, dataset: &str, visibility: Visibility) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            let before: String =
                tx.query_row("SELECT visibility FROM datasets WHERE uid = ?1", [&uid], |r| {
                    r.get(0)
                })?;
            tx.execute(
                "UPDATE datasets SET visibility = ?1, modified_at = ?2 WHERE uid = ?3",
                params![visibility.as_str(), now_rfc3339(), uid],
            )?;
            append(
                tx,
                actor,
                "dataset.visibility",
                dataset,
                json!({"from": before, "to": visibility.as_str(),
                       "organization": dataset_org(tx, &uid)?}),
            )
        })
    }

    fn set_rule(&self, actor: &Actor, dataset: &str, rule: Option<&AccessRule>) -> Result<()> {
        let rule = rule.filter(|r| !r.is_empty());
        let text = rule.map(serde_json::to_string).transpose().map_err(|e| {
            Error::CorruptCatalog(format!("cannot write the rule of {dataset}: {e}"))
        })?;
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            let before: Option<String> =
                tx.query_row("SELECT rule FROM datasets WHERE uid = ?1", [&uid], |r| r.get(0))?;
            let before: Option<Value> = before.and_then(|b| serde_json::from_str(&b).ok());
            tx.execute(
                "UPDATE datasets SET rule = ?1, modified_at = ?2 WHERE uid = ?3",
                params![text, now_rfc3339(), uid],
            )?;
            append(
                tx,
                actor,
                "dataset.rule",
                dataset,
                json!({"from": before, "to": rule, "organization": dataset_org(tx, &uid)?}),
            )
        })
    }

    fn set_dataset_org(&self, actor: &Actor, dataset: &str, org: &str) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            org_exists(tx, org)?;
            let before: Option<String> =
                tx.query_row("SELECT org_id FROM datasets WHERE uid = ?1", [&uid], |r| r.get(0))?;
            tx.execute(
                "UPDATE datasets SET org_id = ?1, modified_at = ?2 WHERE uid = ?3",
                params![org, now_rfc3339(), uid],
            )?;
            append(tx, actor, "dataset.org", dataset, json!({"from": before, "to": org}))
        })
    }

    fn grant(&self, actor: &Actor, dataset: &str, email: &str) -> Result<()> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let uid = dataset_uid(tx, dataset)?;
            let found = user(tx, email)?;
            tx.execute(
                "INSERT OR IGNORE INTO dataset_grants (dataset_uid, user_id, created_at)
                 VALUES (?1, ?2, ?3)",
                params![uid, found.id, now_rfc3339()],
            )?;
            let organization = dataset_org(tx, &uid)?;
            append(
                tx,
                actor,
                "dataset.grant",
                dataset,
                json!({"user": found.email, "organization": organization}),
            )
        })
    }

    fn grants(&self, dataset: &str) -> Result<Vec<User>> {
        let conn = self.conn();
        let uid = dataset_uid(&conn, dataset)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {USER_COLUMNS} FROM dataset_grants g JOIN users u ON u.id = g.user_id
              WHERE g.dataset_uid = ?1 ORDER BY u.email_key"
        ))?;
        let rows = stmt.query_map([uid], row_to_user)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn audit_page(&self, filter: &AuditFilter) -> Result<(u64, Vec<AuditEntry>)> {
        let conn = self.conn();
        let orgs = filter.orgs.as_ref().map(|orgs| json!(orgs).to_string());
        let condition = format!(
            "(?1 IS NULL OR {AUDIT_ORG_CONDITION})
              AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR action = ?3)
              AND (?4 IS NULL OR at >= ?4) AND (?5 IS NULL OR at < ?5)"
        );
        let bound = params![orgs, filter.actor, filter.action, filter.since, filter.until];
        let total: i64 = conn.query_row(
            &format!("SELECT count(*) FROM audit_log WHERE {condition}"),
            bound,
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare(&format!(
            "SELECT id, at, actor, via, action, target, details FROM audit_log
              WHERE {condition} ORDER BY id DESC LIMIT ?6 OFFSET ?7"
        ))?;
        let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(filter.offset).unwrap_or(i64::MAX);
        let rows = stmt.query_map(
            params![orgs, filter.actor, filter.action, filter.since, filter.until, limit, offset],
            row_to_audit,
        )?;
        let entries = rows.map(|r| audit_entry(r?)).collect::<Result<Vec<_>>>()?;
        Ok((u64::try_from(total).unwrap_or_default(), entries))
    }

    fn list_users(&self) -> Result<Vec<User>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.email_key"))?;
        let rows = stmt.query_map([], row_to_user)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn set_admin(&self, actor: &Actor, email: &str, admin: bool) -> Result<User> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            let found = user(tx, email)?;
            tx.execute("UPDATE users SET admin = ?1 WHERE id = ?2", params![admin, found.id])?;
            append(tx, actor, "user.admin", &found.email, json!({"admin": admin}))?;
            user(tx, email)
        })
    }

    fn pending_invitations(&self, org: &str) -> Result<Vec<PendingInvitation>> {
        let conn = self.conn();
        org_exists(&conn, org)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {USER_COLUMNS}, m.role, i.created_at, i.expires_at FROM invitations i
               JOIN users u ON u.id = i.user_id
               JOIN memberships m ON m.user_id = u.id AND m.org_id = ?1
              WHERE i.expires_at > ?2 ORDER BY u.email_key"
        ))?;
        let rows = stmt.query_map(params![org, now_rfc3339()], |r| {
            Ok((row_to_user(r)?, r.get::<_, String>(7)?, r.get::<_, String>(8)?, r.get(9)?))
        })?;
        rows.map(|r| {
            let (user, role, created_at, expires_at) = r?;
            Ok(PendingInvitation { user, role: parse_word(&role)?, created_at, expires_at })
        })
        .collect()
    }

    fn revoke_invitation(&self, actor: &Actor, org: &str, email: &str) -> Result<bool> {
        let mut conn = self.conn();
        write(&mut conn, |tx| {
            org_exists(tx, org)?;
            let found = user(tx, email)?;
            let member: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM memberships WHERE org_id = ?1 AND user_id = ?2)",
                params![org, found.id],
                |r| r.get(0),
            )?;
            if !member {
                return Ok(false);
            }
            let deleted = tx.execute(
                "DELETE FROM invitations WHERE user_id = ?1 AND expires_at > ?2",
                params![found.id, now_rfc3339()],
            )?;
            if deleted == 0 {
                return Ok(false);
            }
            let left = !found.has_password
                && tx.execute(
                    "DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2",
                    params![org, found.id],
                )? > 0;
            append(
                tx,
                actor,
                "user.invitation.revoke",
                &found.email,
                json!({"organization": org, "left_organization": left}),
            )?;
            Ok(true)
        })
    }

    fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, at, actor, via, action, target, details FROM audit_log
              ORDER BY id DESC LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], row_to_audit)?;
        rows.map(|r| audit_entry(r?)).collect()
    }
}

fn row_to_audit(r: &rusqlite::Row<'_>) -> rusqlite::Result<(AuditEntry, String)> {
    Ok((
        AuditEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            via: r.get(3)?,
            action: r.get(4)?,
            target: r.get(5)?,
            details: Value::Null,
        },
        r.get::<_, String>(6)?,
    ))
}

fn audit_entry((mut entry, details): (AuditEntry, String)) -> Result<AuditEntry> {
    entry.details =
        serde_json::from_str(&details).map_err(|e| Error::CorruptCatalog(e.to_string()))?;
    Ok(entry)
}
