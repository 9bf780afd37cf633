//! Files attached to a dataset (documentation, schemas): added, replaced and removed through
//! the management API, served on Opendatasoft's attachment routes with the dataset's own
//! visibility.
//!
//! A file is streamed to disk (never whole in memory) under the dataset's folder, beside its
//! versions (`datasets/<uid>/attachments/<id>`), so it survives new versions; it is written to
//! a temporary file, synced, then renamed over the old one, and only then recorded in the
//! catalog with its audit entry. A body longer than [`App::max_attachment_bytes`] is cut,
//! its temporary file deleted, and nothing changes.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use kleber_store::Attachment;
use tokio::io::AsyncWriteExt;

use crate::manage::{Editor, managed_for, store_error};
use crate::{App, DatasetVersion, Error};

/// Default size limit of one attachment: 20 MiB.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 20 << 20;

/// The identifier of an attachment named `file_name`, as Opendatasoft makes them: lowercase
/// ASCII letters and digits, every other run of characters one `_` (`Notice 2024.pdf` →
/// `notice_2024_pdf`).
pub fn attachment_id(file_name: &str) -> String {
    let folded = deunicode::deunicode(file_name).to_ascii_lowercase();
    let mut id = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.ends_with('_') && !id.is_empty() {
            id.push('_');
        }
    }
    id.trim_end_matches('_').chars().take(100).collect()
}

/// Checks a file name given for an attachment: 1 to 255 characters, no path separator, no
/// control character, not `.` or `..`.
pub fn check_file_name(name: &str) -> Result<(), Error> {
    let bad = name.is_empty()
        || name.chars().count() > 255
        || name.contains(['/', '\\'])
        || name.chars().any(char::is_control)
        || name == "."
        || name == ".."
        || attachment_id(name).is_empty();
    if bad {
        let shown: String = name.chars().take(80).collect();
        return Err(Error::InvalidBody(format!(
            "the attachment's file name {shown:?} is not accepted: give 1 to 255 characters, with at least one letter or digit and no '/', '\\' or control character"
        )));
    }
    Ok(())
}

/// A content type sent for an attachment: `type/subtype` with optional parameters, visible
/// ASCII only; otherwise `application/octet-stream`.
fn content_type(given: Option<&str>) -> String {
    match given.map(str::trim) {
        Some(t)
            if t.len() <= 200
                && t.split(';').next().is_some_and(|m| {
                    let mut parts = m.trim().split('/');
                    matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty())
                })
                && t.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
        {
            t.to_owned()
        }
        _ => "application/octet-stream".to_owned(),
    }
}

/// An attachment being sent.
#[derive(Debug, Clone)]
pub struct AttachmentUpload {
    /// The file's name (its identifier is made from it, unless `replace` names one).
    pub file_name: String,
    /// A title, else the file name.
    pub title: Option<String>,
    /// The content type sent with it.
    pub content_type: Option<String>,
    /// The identifier of the attachment it replaces (which must exist).
    pub replace: Option<String>,
}

impl App {
    /// The size limit of one attachment, in bytes.
    pub fn max_attachment_bytes(&self) -> u64 {
        self.max_attachment_bytes.load(Ordering::Relaxed)
    }

    /// Sets the size limit of one attachment (`--max-attachment-mb`).
    pub fn set_max_attachment_bytes(&self, bytes: u64) {
        self.max_attachment_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Adds (or, with `upload.replace`, replaces) an attachment of dataset `id`, its bytes
    /// read from `body` as they come.
    pub async fn put_attachment<S, E>(
        &self,
        editor: &Editor,
        id: &str,
        upload: AttachmentUpload,
        mut body: S,
    ) -> Result<Attachment, Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        check_file_name(&upload.file_name)?;
        let title = upload.title.clone().unwrap_or_else(|| upload.file_name.clone());
        if title.trim().is_empty() || title.chars().count() > 300 {
            return Err(Error::InvalidBody(
                "the attachment's title must have 1 to 300 characters".to_owned(),
            ));
        }
        let (d, existing) = {
            let (editor, id) = (editor.clone(), id.to_owned());
            self.on_store(move |store| {
                let d = managed_for(store, &editor, &id)?;
                let existing = store.catalog().attachments(&d.uid).map_err(store_error)?;
                Ok((d, existing))
            })
            .await?
        };
        if d.archived || d.deleted_at.is_some() {
            return Err(Error::Conflict(format!(
                "dataset {id:?} is {}: its attachments cannot change",
                if d.archived {
                    "archived (read-only); unarchive it first"
                } else {
                    "in the trash"
                }
            )));
        }
        let attachment_id = match &upload.replace {
            Some(replaced) => {
                if !existing.iter().any(|a| &a.id == replaced) {
                    return Err(Error::NotFound(format!(
                        "dataset {id:?} has no attachment {replaced:?}"
                    )));
                }
                replaced.clone()
            }
            None => {
                let new = attachment_id(&upload.file_name);
                if existing.iter().any(|a| a.id == new) {
                    return Err(Error::Conflict(format!(
                        "dataset {id:?} already has an attachment {new:?}: replace it with PUT .../attachments/{new}, or rename the file"
                    )));
                }
                new
            }
        };
        let store = self.store_arc();
        let dir = store.attachments_dir(&d.uid);
        tokio::fs::create_dir_all(&dir).await.map_err(Error::internal)?;
        let mut suffix = [0u8; 6];
        getrandom::fill(&mut suffix).map_err(Error::internal)?;
        let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = dir.join(format!(".tmp-{attachment_id}-{suffix}"));
        let limit = self.max_attachment_bytes();
        let written = write_limited(&tmp, &mut body, limit).await;
        let size = match written {
            Ok(size) => size,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let final_path = store.attachment_path(&d.uid, &attachment_id);
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let created_at = existing
            .iter()
            .find(|a| a.id == attachment_id)
            .map_or_else(|| now.clone(), |a| a.created_at.clone());
        let attachment = Attachment {
            id: attachment_id,
            title: title.trim().to_owned(),
            file_name: upload.file_name.clone(),
            mimetype: content_type(upload.content_type.as_deref()),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            created_at,
            updated_at: now,
        };
        let (editor, id, record) = (editor.clone(), id.to_owned(), attachment.clone());
        let replacing = upload.replace.is_some();
        self.on_store(move |store| {
            std::fs::rename(&tmp, &final_path).map_err(Error::internal)?;
            let recorded = store.account_change(|c| c.put_attachment(editor.actor(), &id, &record));
            if let Err(e) = recorded {
                if !replacing {
                    let _ = std::fs::remove_file(&final_path);
                }
                return Err(store_error(e));
            }
            Ok(())
        })
        .await?;
        Ok(attachment)
    }

    /// Removes attachment `attachment` of dataset `id`, and its file.
    pub async fn remove_attachment(
        &self,
        editor: &Editor,
        id: &str,
        attachment: &str,
    ) -> Result<(), Error> {
        let (editor, id, attachment) = (editor.clone(), id.to_owned(), attachment.to_owned());
        self.on_store(move |store| {
            let d = managed_for(store, &editor, &id)?;
            let removed = store
                .account_change(|c| c.remove_attachment(editor.actor(), &id, &attachment))
                .map_err(store_error)?;
            if !removed {
                return Err(Error::NotFound(format!(
                    "dataset {id:?} has no attachment {attachment:?}"
                )));
            }
            let path = store.attachment_path(&d.uid, &attachment);
            if let Err(e) = std::fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "could not remove an attachment's file");
            }
            Ok(())
        })
        .await
    }

    /// The attachments of dataset `id` (as `editor` manages it).
    pub async fn managed_attachments(
        &self,
        editor: &Editor,
        id: &str,
    ) -> Result<Vec<Attachment>, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            let d = managed_for(store, &editor, &id)?;
            store.catalog().attachments(&d.uid).map_err(store_error)
        })
        .await
    }

    /// Attachment `attachment` of a dataset the caller reads, and where its file is.
    pub fn attachment_file(
        &self,
        version: &DatasetVersion,
        attachment: &str,
    ) -> Result<(Attachment, PathBuf), Error> {
        let record = version.record();
        let found = record.attachments.iter().find(|a| a.id == attachment).ok_or_else(|| {
            Error::NotFound(format!("dataset {:?} has no attachment {attachment:?}", record.id))
        })?;
        Ok((found.clone(), self.store.attachment_path(&record.uid, &found.id)))
    }
}

/// Streams `body` into a new file at `path`, refusing past `limit` bytes; returns the size.
async fn write_limited<S, E>(path: &std::path::Path, body: &mut S, limit: u64) -> Result<u64, Error>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::create(path).await.map_err(Error::internal)?;
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            let text = e.to_string();
            if text.contains("length limit") {
                Error::TooLarge(format!(
                    "The attachment is larger than this server accepts in a request body (--max-body-kb): {text}"
                ))
            } else {
                Error::InvalidBody(format!("the attachment's body could not be read: {text}"))
            }
        })?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(Error::TooLarge(format!(
                "The attachment is larger than the {limit} bytes accepted (--max-attachment-mb); nothing was changed."
            )));
        }
        file.write_all(&chunk).await.map_err(Error::internal)?;
    }
    file.sync_all().await.map_err(Error::internal)?;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_made_from_file_names() {
        assert_eq!(attachment_id("Notice 2024.pdf"), "notice_2024_pdf");
        assert_eq!(attachment_id("Schéma des données (v2).json"), "schema_des_donnees_v2_json");
        assert_eq!(attachment_id("..."), "");
        assert!(check_file_name("../etc/passwd").is_err());
        assert!(check_file_name("...").is_err());
        assert!(check_file_name("notice.pdf").is_ok());
        assert_eq!(content_type(Some("application/pdf")), "application/pdf");
        assert_eq!(content_type(Some("pdf")), "application/octet-stream");
        assert_eq!(content_type(None), "application/octet-stream");
    }
}
