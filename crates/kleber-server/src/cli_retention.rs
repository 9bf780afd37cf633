//! `kleber retention`: which versions keep their data (docs/versions.md#retention), from the
//! shell. Each command opens the data directory and calls the application layer as the
//! operator; setting a dataset's policy applies it at once.

use clap::Subcommand;
use kleber_app::manage::Editor;

use crate::cli::{DataDir, cli_error, open_app};

/// `kleber retention ...`
#[derive(Debug, Subcommand)]
pub(crate) enum RetentionCommand {
    /// Set a dataset's policy and apply it now (versions it does not keep lose their data;
    /// their entries stay).
    ///
    /// Example: `kleber retention set parkings all:1d,daily:30d,weekly:26w,monthly:forever`.
    /// Rules: all, daily, weekly, monthly; durations in min, h, d or w, or forever.
    Set {
        /// The dataset.
        id: String,
        /// The policy, e.g. `all:1d,daily:30d,weekly:26w,monthly:forever`.
        policy: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Make a dataset follow the portal's default policy again.
    Clear {
        /// The dataset.
        id: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Show the policy that applies to a dataset.
    Show {
        /// The dataset.
        id: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Set the portal's default policy (`all:forever`, the default, keeps every version).
    Default {
        /// The policy.
        policy: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
}

pub(crate) fn run_retention(command: RetentionCommand) -> anyhow::Result<()> {
    let editor = Editor::operator();
    match command {
        RetentionCommand::Set { id, policy, data_dir } => {
            kleber_app::retention::Policy::parse(&policy)
                .map_err(|e| anyhow::anyhow!("{e}; nothing was changed"))?;
            let (app, runtime) = open_app(&data_dir)?;
            let pruned = runtime
                .block_on(app.set_retention(&editor, &id, Some(&policy)))
                .map_err(cli_error)?;
            println!("{id}: retention {policy}");
            print_pruned(&id, &pruned);
        }
        RetentionCommand::Clear { id, data_dir } => {
            let (app, runtime) = open_app(&data_dir)?;
            let pruned =
                runtime.block_on(app.set_retention(&editor, &id, None)).map_err(cli_error)?;
            let policy = runtime.block_on(app.default_retention()).map_err(cli_error)?;
            println!("{id}: follows the portal's default retention ({})", policy.text());
            print_pruned(&id, &pruned);
        }
        RetentionCommand::Show { id, data_dir } => {
            let (app, runtime) = open_app(&data_dir)?;
            let r = runtime.block_on(app.retention(&editor, &id)).map_err(cli_error)?;
            let whose = if r.own { "its own" } else { "the portal's default" };
            println!("{id}: {} ({whose})", r.policy.text());
        }
        RetentionCommand::Default { policy, data_dir } => {
            kleber_app::retention::Policy::parse(&policy)
                .map_err(|e| anyhow::anyhow!("{e}; nothing was changed"))?;
            let (app, runtime) = open_app(&data_dir)?;
            let set = runtime
                .block_on(app.set_default_retention(&editor, Some(&policy)))
                .map_err(cli_error)?;
            println!(
                "portal default retention: {} (applied to each dataset without its own at its next publication, or within the hour by kleber serve)",
                set.text()
            );
        }
    }
    Ok(())
}

fn print_pruned(id: &str, pruned: &[i64]) {
    if pruned.is_empty() {
        println!("{id}: no version pruned");
    } else {
        let list: Vec<String> = pruned.iter().map(i64::to_string).collect();
        println!("{id}: data of versions {} pruned (their entries stay)", list.join(", "));
    }
}
