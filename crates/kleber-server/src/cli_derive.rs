//! `kleber derive`: define a derived dataset from the shell (docs/crossing.md). The query is
//! read from a file, checked, run as the operator (who reads every dataset whole) and its
//! first version published; a running `kleber serve` then recomputes it whenever an input
//! publishes.

use anyhow::Context;
use clap::Args;
use kleber_app::manage::Editor;

use crate::cli::{DataDir, cli_error, open_app};

/// `kleber derive ID --query FILE [--title T]`
#[derive(Debug, Args)]
pub(crate) struct DeriveArgs {
    /// The derived dataset's identifier (created if new; an existing derived dataset is
    /// redefined).
    id: String,
    /// A file holding one SQL SELECT over datasets, named by identifier (docs/crossing.md).
    /// Required unless `--refresh`.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "refresh",
        conflicts_with = "refresh"
    )]
    query: Option<std::path::PathBuf>,
    /// The title of a new dataset.
    #[arg(long)]
    title: Option<String>,
    /// The organization of a new dataset (default: the default organization).
    #[arg(long)]
    org: Option<String>,
    /// Recompute the dataset now with its stored query instead of defining it (`--query`
    /// is then not read).
    #[arg(long)]
    refresh: bool,
    #[command(flatten)]
    data_dir: DataDir,
}

pub(crate) fn run_derive(args: DeriveArgs) -> anyhow::Result<()> {
    let (app, runtime) = open_app(&args.data_dir)?;
    let computed = if let (Some(file), false) = (args.query.as_deref(), args.refresh) {
        let query = std::fs::read_to_string(file).with_context(|| {
            format!("cannot read the query file {}: give a readable text file", file.display())
        })?;
        runtime
            .block_on(app.define_derivation(
                &Editor::operator(),
                &args.id,
                &query,
                args.title.as_deref(),
                args.org.as_deref(),
            ))
            .map_err(|e| cli_error(e).context(format!("{}: nothing was changed", file.display())))?
    } else {
        runtime.block_on(app.recompute_derivation(&args.id)).map_err(cli_error)?
    };
    let inputs: Vec<String> = computed.inputs.iter().map(|(id, v)| format!("{id} v{v}")).collect();
    println!(
        "{}: version {} published, {} records, from {}",
        args.id,
        computed.version,
        computed.rows,
        inputs.join(", ")
    );
    Ok(())
}
