//! A dataset's versions, as its publishers see them: the list (number, date, records,
//! rejected rows, source, who), and restoring an earlier one as the new current version.
//!
//! A restore never changes a `v<N>` directory: it publishes a new version (the next number)
//! whose files are the old one's (hard links, or copies), through the store's ordinary
//! crash-safe publication, recorded as `dataset.publish` with `restored_from` in the version
//! list.

use kleber_store::VersionInfo;

use crate::manage::{Editor, managed_for, store_error};
use crate::{App, Error};

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
}
