//! Who a dataset is granted to (reading it while it is restricted): the list and a new grant,
//! for the dataset's editors, as the back office's edit page asks them.
//!
//! The dataset is checked by [`crate::manage`]'s one access rule (not readable:
//! `DatasetNotFound`; readable, not editable: `Forbidden`); a grant is written with its audit
//! entry (`dataset.grant`) in the store's transaction.

use crate::manage::{Editor, account_error, managed_for, store_error};
use crate::{App, Error};

impl App {
    /// The email addresses dataset `id` is granted to.
    pub async fn dataset_grants(&self, editor: &Editor, id: &str) -> Result<Vec<String>, Error> {
        let (editor, id) = (editor.clone(), id.to_owned());
        self.on_store(move |store| {
            let d = managed_for(store, &editor, &id)?;
            let users = store.catalog().grants(&d.id).map_err(store_error)?;
            Ok(users.into_iter().map(|u| u.email).collect())
        })
        .await
    }

    /// Grants reading dataset `id` to the user with address `email` (an unknown address is
    /// [`Error::NotFound`]).
    pub async fn grant_dataset(&self, editor: &Editor, id: &str, email: &str) -> Result<(), Error> {
        let (editor, id, email) = (editor.clone(), id.to_owned(), email.trim().to_owned());
        if email.is_empty() {
            return Err(Error::InvalidBody("email: give the address of the user to grant".into()));
        }
        let accounts = std::sync::Arc::clone(&self.accounts);
        self.on_store(move |store| {
            managed_for(store, &editor, &id)?;
            accounts.grant(editor.actor(), &id, &email).map_err(account_error)
        })
        .await
    }
}
