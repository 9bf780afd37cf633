//! `kleber processors`: a dataset's processors from the shell (docs/sources.md#processors).
//! Each command opens the data directory and calls the application layer as the operator.

use anyhow::Context;
use clap::Subcommand;
use kleber_app::manage::Editor;

use crate::cli::{DataDir, cli_error, open_app};

/// `kleber processors ...`
#[derive(Debug, Subcommand)]
pub(crate) enum ProcessorsCommand {
    /// Set a dataset's processors from a JSON file (`{"version": 1, "steps": [...]}`),
    /// checked against its current fields; applied at every later import, upload or source
    /// run.
    Set {
        /// The dataset.
        id: String,
        /// The pipeline's JSON file.
        #[arg(long, value_name = "steps.json")]
        file: std::path::PathBuf,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Print a dataset's processors as JSON.
    Show {
        /// The dataset.
        id: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Remove a dataset's processors (the data published stays).
    Clear {
        /// The dataset.
        id: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
}

pub(crate) fn run_processors(command: ProcessorsCommand) -> anyhow::Result<()> {
    let editor = Editor::operator();
    match command {
        ProcessorsCommand::Set { id, file, data_dir } => {
            let text = std::fs::read_to_string(&file).with_context(|| {
                format!("cannot read {}; give the path of a JSON file", file.display())
            })?;
            let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}: not valid JSON: {e} (line {}, column {}); nothing was changed",
                    file.display(),
                    e.line(),
                    e.column()
                )
            })?;
            let (app, runtime) = open_app(&data_dir)?;
            let pipeline =
                runtime.block_on(app.set_processors(&editor, &id, value)).map_err(|e| {
                    cli_error(e).context(format!("{}: nothing was changed", file.display()))
                })?;
            println!("{id}: {} processor steps set", pipeline.steps.len());
            for (i, step) in pipeline.steps.iter().enumerate() {
                println!("  {}. {}", i + 1, step.summary());
            }
        }
        ProcessorsCommand::Show { id, data_dir } => {
            let (app, runtime) = open_app(&data_dir)?;
            let pipeline = runtime.block_on(app.processors(&editor, &id)).map_err(cli_error)?;
            let pipeline = pipeline.unwrap_or(kleber_app::processors::Pipeline {
                version: kleber_app::processors::PIPELINE_VERSION,
                steps: Vec::new(),
            });
            println!("{}", serde_json::to_string_pretty(&pipeline)?);
        }
        ProcessorsCommand::Clear { id, data_dir } => {
            let (app, runtime) = open_app(&data_dir)?;
            let cleared =
                runtime.block_on(app.clear_processors(&editor, &id)).map_err(cli_error)?;
            if cleared {
                println!("{id}: processors removed");
            } else {
                println!("{id}: had no processors");
            }
        }
    }
    Ok(())
}
