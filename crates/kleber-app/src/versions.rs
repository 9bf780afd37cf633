//! A dataset's versions, as its publishers see them: the list (number, date, records,
//! rejected rows, source, who, comment), restoring an earlier one as the new current version,
//! and the comment a publisher writes on a version (docs/versions.md#comments).
//!
//! A comment is one line of text of at most [`COMMENT_MAX_CHARS`] characters, trimmed; an
//! empty one is no comment. Control characters (line breaks, tabs, escapes) are refused, not
//! stripped: the publisher sees what is wrong and nothing is silently changed. Every way to
//! write one (an import, an upload's publication, the edit afterwards) goes through
//! [`check_comment`].
//!
//! A restore never changes a `v<N>` directory: it publishes a new version (the next number)
//! whose files are the old one's (hard links, or copies), through the store's ordinary
//! crash-safe publication, recorded as `dataset.publish` with `restored_from` in the version
//! list.

use kleber_store::VersionInfo;

use crate::manage::{Editor, managed_for, store_error};
use crate::{App, Error};

/// The longest comment a version takes, in characters (Unicode scalar values).
pub const COMMENT_MAX_CHARS: usize = 500;

/// Checks a version's comment: `None` or blank is no comment; otherwise the trimmed text,
/// refused ([`Error::InvalidBody`], the message says what and where) when longer than
/// [`COMMENT_MAX_CHARS`] or holding a control character.
pub fn check_comment(comment: Option<&str>) -> Result<Option<String>, Error> {
    let Some(text) = comment.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let length = text.chars().count();
    if length > COMMENT_MAX_CHARS {
        return Err(Error::InvalidBody(format!(
            "the comment is {length} characters long; a version's comment holds at most {COMMENT_MAX_CHARS}: shorten it (the dataset's description is the place for more)"
        )));
    }
    if let Some((at, c)) = text.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(Error::InvalidBody(format!(
            "the comment holds a control character (U+{:04X}) at character {}: a version's comment is one line of text, without line breaks or tabs",
            u32::from(c),
            at + 1
        )));
    }
    Ok(Some(text.to_owned()))
}

impl App {
    /// The versions of dataset `id`, newest first.
    pub async fn versions(&self, editor: &Editor, id: &str) -> Result<Vec<VersionInfo>, Error> {
        let (editor, lookup) = (editor.clone(), id.to_owned());
        let d = self.on_store(move |store| managed_for(store, &editor, &lookup)).await?;
        // With each version's change summary (computed now if it was not at publish).
        self.summarized_versions(&d.uid, id, false).await
    }

    /// Publishes the files of version `number` of dataset `id` as its new current version;
    /// returns the new version's number.
    pub async fn restore_version(
        &self,
        editor: &Editor,
        id: &str,
        number: i64,
    ) -> Result<i64, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            let d = managed_for(store, &editor, &id)?;
            if d.archived {
                return Err(Error::Conflict(format!(
                    "dataset {id:?} is archived (read-only): unarchive it before restoring a version"
                )));
            }
            let publication =
                store.restore_version(&id, number, editor.actor().clone()).map_err(store_error)?;
            Ok(publication.version)
        })
        .await
    }

    /// Writes the comment of version `number` of dataset `id` (`None` or blank: removes it),
    /// for an editor of the dataset (the rule of publishing); returns the version as listed.
    /// Unknown version: [`Error::VersionNotFound`] naming the versions that exist; a
    /// refused comment ([`check_comment`]), or a dataset archived or in the trash
    /// ([`Error::Conflict`]), changes nothing.
    pub async fn set_version_comment(
        &self,
        editor: &Editor,
        id: &str,
        number: i64,
        comment: Option<&str>,
    ) -> Result<VersionInfo, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        let comment = comment.map(str::to_owned);
        self.on_store(move |store| {
            let d = managed_for(store, &editor, &id)?;
            let comment = check_comment(comment.as_deref())?;
            let infos = store.catalog().version_infos(&d.id).map_err(store_error)?;
            let unknown = || {
                Error::VersionNotFound(format!(
                    "dataset {id} has no version {number}; its versions are {}",
                    crate::time_travel::known(&infos)
                ))
            };
            if !infos.iter().any(|v| v.number == number) {
                return Err(unknown());
            }
            // Through `account_change`, so this process's readers see the change at once.
            let written = store
                .account_change(|c| {
                    c.set_version_comment(editor.actor(), &d.id, number, comment.as_deref())
                })
                .map_err(store_error)?;
            if !written {
                return Err(unknown());
            }
            let infos = store.catalog().version_infos(&d.id).map_err(store_error)?;
            infos.into_iter().find(|v| v.number == number).ok_or_else(|| {
                Error::internal(format!("version {number} of {id} vanished after its comment"))
            })
        })
        .await
    }
}
