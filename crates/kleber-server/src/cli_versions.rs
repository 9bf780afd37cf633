//! `kleber versions`: a dataset's versions from the shell (docs/versions.md): the list, and
//! the publisher's comment on a version (docs/versions.md#comments). Each command opens the
//! data directory and calls the application layer as the operator, as the management API's
//! routes call it for their editor.

use clap::Subcommand;
use kleber_app::manage::Editor;
use kleber_store::VersionInfo;

use crate::cli::{DataDir, cli_error, open_app};

/// `kleber versions ...`
#[derive(Debug, Subcommand)]
pub(crate) enum VersionsCommand {
    /// List a dataset's versions, newest first: number, date, records, what changed, comment.
    List {
        /// The dataset.
        id: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Write the comment of a version (one line of at most 500 characters), or remove it
    /// with --clear.
    ///
    /// Example: `kleber versions comment velhop 3 "Correction des coordonnées de 3 stations"`.
    Comment {
        /// The dataset.
        id: String,
        /// The version's number (`kleber versions list ID` shows them).
        number: i64,
        /// The comment.
        #[arg(required_unless_present = "clear")]
        text: Option<String>,
        /// Remove the version's comment.
        #[arg(long, conflicts_with = "text")]
        clear: bool,
        #[command(flatten)]
        data_dir: DataDir,
    },
}

pub(crate) fn run_versions(command: VersionsCommand) -> anyhow::Result<()> {
    let editor = Editor::operator();
    match command {
        VersionsCommand::List { id, data_dir } => {
            let (app, runtime) = open_app(&data_dir)?;
            let versions = runtime.block_on(app.versions(&editor, &id)).map_err(cli_error)?;
            if versions.is_empty() {
                println!("{id}: no version yet");
            }
            for v in &versions {
                println!("{}", line(v));
            }
        }
        VersionsCommand::Comment { id, number, text, clear, data_dir } => {
            let text = if clear { None } else { text };
            let (app, runtime) = open_app(&data_dir)?;
            let v = runtime
                .block_on(app.set_version_comment(&editor, &id, number, text.as_deref()))
                .map_err(|e| cli_error(e).context("nothing was changed"))?;
            match &v.comment {
                Some(comment) => println!("{id}: version {number}: comment {comment:?}"),
                None => println!("{id}: version {number}: no comment"),
            }
        }
    }
    Ok(())
}

/// One version as a line: `3 (current)  2026-12-06T03:20:00Z  1,204 records  +3 -0 ~12
/// "comment"`.
fn line(v: &VersionInfo) -> String {
    let mut parts = vec![format!("{}{}", v.number, if v.current { " (current)" } else { "" })];
    parts.push(v.created_at.clone());
    parts.push(format!("{} records", v.records));
    if let Some(s) = v.summary {
        parts.push(format!("+{} -{} ~{}", s.added, s.removed, s.changed));
    }
    if v.pruned {
        parts.push("pruned (data gone)".to_owned());
    }
    if let Some(from) = v.restored_from {
        parts.push(format!("restores version {from}"));
    }
    if let Some(comment) = &v.comment {
        parts.push(format!("{comment:?}"));
    }
    parts.join("  ")
}
