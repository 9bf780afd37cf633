//! `kleber source`: a dataset's remote source from the shell (docs/sources.md). Each command
//! opens the data directory and calls the application layer as the operator; a running
//! `kleber serve` sees the change within its catalog freshness bound.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use clap::Subcommand;
use kleber_app::manage::Editor;
use kleber_app::sources::{SourceSettings, SourceSpec, parse_header_arg};

use crate::cli::{DataDir, cli_error, open_app};

/// `kleber source ...`
#[derive(Debug, Subcommand)]
pub(crate) enum SourceCommand {
    /// Give a dataset a remote source (replacing the one it has).
    ///
    /// Example: `kleber source set parkings --url https://example.org/parkings.csv
    /// --header 'Authorization: Bearer abc' --schedule '*/5 * * * *' --unique-id id`.
    Set {
        /// The dataset (it must exist: `kleber import`, or POST /datasets on the API).
        id: String,
        /// An http(s) URL; several are read in order and concatenated.
        #[arg(long = "url", required = true, value_name = "URL")]
        urls: Vec<String>,
        /// A header sent with each request, 'Name: value' (stored encrypted, never shown).
        /// Without --header, the headers stored before are kept.
        #[arg(long = "header", value_name = "'NAME: VALUE'", conflicts_with = "no_headers")]
        headers: Vec<String>,
        /// Remove the stored headers.
        #[arg(long)]
        no_headers: bool,
        /// A cron schedule, five fields (minute hour day month weekday) in the portal's time
        /// zone, e.g. '*/5 * * * *' or '30 6 * * 1-5'.
        #[arg(long)]
        schedule: Option<String>,
        /// A field whose value identifies a record (record ids stay across refreshes).
        #[arg(long = "unique-id", value_name = "FIELD")]
        unique_id: Vec<String>,
        /// Largest file accepted, in MiB (default: the server's --source-max-mb).
        #[arg(long)]
        max_mb: Option<u64>,
        /// Longest a fetch may take, in seconds (default: the server's --source-timeout).
        #[arg(long)]
        timeout_secs: Option<u64>,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Fetch the source now and publish what changed.
    Run {
        /// The dataset.
        id: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Show the source (header names only) and its last runs.
    Show {
        /// The dataset.
        id: String,
        /// Runs listed.
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// The time zone schedules are read in.
        #[arg(long, env = "KLEBER_TIMEZONE", default_value = "Europe/Paris")]
        timezone: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Remove the source and its runs (the data published stays).
    Clear {
        /// The dataset.
        id: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
}

pub(crate) fn run_source(command: SourceCommand) -> anyhow::Result<()> {
    let editor = Editor::operator();
    match command {
        SourceCommand::Set {
            id,
            urls,
            headers,
            no_headers,
            schedule,
            unique_id,
            max_mb,
            timeout_secs,
            data_dir,
        } => {
            let headers = if no_headers {
                Some(BTreeMap::new())
            } else if headers.is_empty() {
                None
            } else {
                let mut map = BTreeMap::new();
                for h in &headers {
                    let (k, v) = parse_header_arg(h).map_err(anyhow::Error::msg)?;
                    map.insert(k, v);
                }
                Some(map)
            };
            let spec = SourceSpec { urls, headers, schedule, unique_id, max_mb, timeout_secs };
            spec.check().map_err(|e| anyhow::anyhow!("{e}; nothing was changed"))?;
            let (app, runtime) = open_app(&data_dir)?;
            let view = runtime.block_on(app.set_source(&editor, &id, spec)).map_err(cli_error)?;
            println!("{id}: source set");
            print_view(&view);
        }
        SourceCommand::Run { id, data_dir } => {
            let (app, runtime) = open_app(&data_dir)?;
            let run = runtime.block_on(app.run_source(&editor, &id)).map_err(cli_error)?;
            match run.outcome.as_str() {
                "published" => println!(
                    "{id}: version {} published ({} records, {} rejected rows)",
                    run.version.unwrap_or_default(),
                    run.records.unwrap_or_default(),
                    run.rejected.unwrap_or_default()
                ),
                "unchanged" => println!("{id}: unchanged, nothing published"),
                _ => bail!(
                    "{}; dataset `{id}` keeps its current version (run {})",
                    run.error.unwrap_or_else(|| "the run failed".to_owned()),
                    run.id
                ),
            }
        }
        SourceCommand::Show { id, runs, timezone, data_dir } => {
            let tz = kleber_app::schedule::parse_timezone(&timezone)
                .map_err(|e| anyhow::anyhow!("--timezone: {e}"))?;
            let (app, runtime) = open_app(&data_dir)?;
            app.set_source_settings(SourceSettings { timezone: tz, ..SourceSettings::default() });
            let view = runtime
                .block_on(app.source(&editor, &id))
                .map_err(cli_error)?
                .with_context(|| {
                    format!("dataset `{id}` has no source; set one with kleber source set {id} --url URL")
                })?;
            print_view(&view);
            let list = runtime.block_on(app.source_runs(&editor, &id, runs)).map_err(cli_error)?;
            if list.is_empty() {
                println!("runs: none yet");
            }
            for r in list {
                println!(
                    "run {}: {} {} {} → {}{}{}",
                    r.id,
                    r.trigger,
                    r.started_at,
                    r.ended_at.as_deref().unwrap_or("…"),
                    r.outcome,
                    r.version
                        .map(|v| format!(
                            ", version {v}, {} records, {} rejected",
                            r.records.unwrap_or_default(),
                            r.rejected.unwrap_or_default()
                        ))
                        .unwrap_or_default(),
                    r.error.map(|e| format!(": {e}")).unwrap_or_default()
                );
            }
        }
        SourceCommand::Clear { id, data_dir } => {
            let (app, runtime) = open_app(&data_dir)?;
            let cleared = runtime.block_on(app.clear_source(&editor, &id)).map_err(cli_error)?;
            if cleared {
                println!("{id}: source removed (its published data stays)");
            } else {
                println!("{id}: had no source");
            }
        }
    }
    Ok(())
}

fn print_view(view: &kleber_app::sources::SourceView) {
    for url in &view.urls {
        println!("  url: {url}");
    }
    if !view.header_names.is_empty() {
        println!("  headers: {} (values stored encrypted)", view.header_names.join(", "));
    }
    match (&view.schedule, &view.next_run) {
        (Some(s), Some(next)) => {
            println!("  schedule: {s} ({}), next run {next}", view.timezone);
        }
        (Some(s), None) => println!("  schedule: {s} ({})", view.timezone),
        _ => println!("  schedule: none (run it with kleber source run)"),
    }
    if !view.unique_id.is_empty() {
        println!("  unique id: {}", view.unique_id.join(", "));
    }
    if view.failing {
        println!("  failing: the last run failed; the current version stays");
    }
}
