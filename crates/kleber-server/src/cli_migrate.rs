//! `kleber migrate URL` and `kleber harvest ods URL`: the command line of the Opendatasoft
//! harvester ([`kleber_app::harvest_ods`]), with a progress bar and a report.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kleber_app::harvest_ods::{HarvestEvent, HarvestOptions, HarvestReport, Selection};
use serde_json::{Map, Value, json};

use crate::cli::{DataDir, open_app};

/// What both commands share: the source, its key, the bounds.
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// The Opendatasoft portal's address, e.g. https://data.strasbourg.eu.
    url: String,
    /// An API key of the source portal, to copy what it lets its owner read (restricted
    /// datasets included).
    #[arg(long, env = "KLEBER_SOURCE_APIKEY")]
    apikey: Option<String>,
    /// Largest data file accepted for one dataset, in MiB.
    #[arg(long, default_value_t = kleber_app::harvest_ods::DEFAULT_MAX_DATA_BYTES >> 20)]
    max_dataset_mb: u64,
    /// Seconds to wait for the source to connect or to send more bytes.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data_dir: DataDir,
}

/// `kleber migrate URL`.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Only the datasets matching this ODSQL condition on the source's catalog, e.g.
    /// `publisher = "Ville de Strasbourg"`.
    #[arg(long = "where", value_name = "ODSQL")]
    where_clause: Option<String>,
}

/// `kleber harvest ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum HarvestCommand {
    /// Harvest an Opendatasoft portal through its Explore API v2.1.
    Ods(HarvestOdsArgs),
    /// Store a harvest of a CKAN portal (Action API) and run it.
    Ckan(crate::cli_harvest::AddArgs),
    /// Store a harvest of a DCAT-AP catalog (Turtle, RDF/XML, JSON-LD; Hydra pages) and run it.
    Dcat(crate::cli_harvest::AddArgs),
    /// List the stored harvests.
    List(crate::cli_harvest::ListArgs),
    /// Run a stored harvest now.
    Run(crate::cli_harvest::NameArgs),
    /// Delete a stored harvest (its datasets stay).
    Delete(crate::cli_harvest::NameArgs),
}

/// `kleber harvest ods URL`.
#[derive(Debug, Args)]
pub(crate) struct HarvestOdsArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Only the datasets matching this ODSQL condition on the source's catalog.
    #[arg(long = "where", value_name = "ODSQL", conflicts_with = "dataset")]
    where_clause: Option<String>,
    /// Only these datasets (repeat the flag).
    #[arg(long, value_name = "ID")]
    dataset: Vec<String>,
    /// Set a metadata key on every harvested dataset over the source's value: KEY=VALUE
    /// (VALUE read as JSON when it is, e.g. `keyword=["mobilité"]`, else as text).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Move to the trash the datasets harvested before that the source no longer has (or
    /// that the selection no longer takes).
    #[arg(long)]
    remove_deleted: bool,
}

fn options(args: &SourceArgs, selection: Selection) -> HarvestOptions {
    let mut options = HarvestOptions::new(args.url.clone());
    options.apikey = args.apikey.clone().filter(|k| !k.is_empty());
    options.selection = selection;
    options.max_data_bytes = args.max_dataset_mb.saturating_mul(1 << 20);
    options.timeout = Duration::from_secs(args.timeout);
    options.abort_after =
        std::env::var("KLEBER_HARVEST_ABORT_AFTER").ok().and_then(|v| v.parse().ok());
    options
}

/// Runs `kleber migrate`.
pub(crate) fn run_migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let selection = match args.where_clause {
        Some(w) if !w.trim().is_empty() => Selection::Where(w),
        _ => Selection::All,
    };
    let options = options(&args.source, selection);
    run(&args.source, &options, "Migrated")
}

/// Runs `kleber harvest`.
pub(crate) fn run_harvest(command: HarvestCommand) -> anyhow::Result<()> {
    let args = match command {
        HarvestCommand::Ods(args) => args,
        HarvestCommand::Ckan(args) => return crate::cli_harvest::run_add("ckan", args),
        HarvestCommand::Dcat(args) => return crate::cli_harvest::run_add("dcat", args),
        HarvestCommand::List(args) => return crate::cli_harvest::run_list(args),
        HarvestCommand::Run(args) => return crate::cli_harvest::run_run(args),
        HarvestCommand::Delete(args) => return crate::cli_harvest::run_delete(args),
    };
    let selection = match (&args.where_clause, args.dataset.is_empty()) {
        (Some(w), _) if !w.trim().is_empty() => Selection::Where(w.clone()),
        (_, false) => Selection::Ids(args.dataset.clone()),
        _ => Selection::All,
    };
    let mut options = options(&args.source, selection);
    options.overrides = overrides(&args.set)?;
    options.remove_deleted = args.remove_deleted;
    run(&args.source, &options, "Harvested")
}

/// `--set KEY=VALUE` flags as a metadata patch.
fn overrides(set: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut patch = Map::new();
    for item in set {
        let Some((key, value)) = item.split_once('=') else {
            bail!(
                "invalid --set {item:?}: expected KEY=VALUE, e.g. --set publisher=\"Ville de Strasbourg\""
            );
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            bail!(
                "invalid --set {item:?}: the key must be a metadata name in lowercase letters and '_' (publisher, license, keyword, theme, ...)"
            );
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
        patch.insert(key.to_owned(), value);
    }
    Ok(patch)
}

fn run(args: &SourceArgs, options: &HarvestOptions, verb: &str) -> anyhow::Result<()> {
    let (app, runtime) = open_app(&args.data_dir)?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} datasets {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut current = String::new();
    let shown = bar.clone();
    let mut progress = move |event: HarvestEvent| match event {
        HarvestEvent::Selected { total } => shown.set_length(total as u64),
        HarvestEvent::Dataset { id, index } => {
            shown.set_position(index as u64);
            shown.set_message(id.clone());
            current = id;
        }
        HarvestEvent::Bytes { done, total } => {
            let total =
                total.map(|t| format!(" of {}", indicatif::HumanBytes(t))).unwrap_or_default();
            shown.set_message(format!("{current}: {}{total}", indicatif::HumanBytes(done)));
        }
        HarvestEvent::Finished { .. } => shown.inc(1),
    };
    let result = runtime.block_on(app.harvest_ods(options, &mut progress));
    bar.finish_and_clear();
    let report =
        result.with_context(|| format!("nothing more was copied from {}", options.source))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report_json(&report))?);
    } else {
        print_report(&report, verb, &args.data_dir.data_dir);
    }
    if !report.failed.is_empty() {
        bail!(
            "{} of {} datasets could not be copied (listed above); run the command again to retry them",
            report.failed.len(),
            report.selected
        );
    }
    Ok(())
}

fn report_json(report: &HarvestReport) -> Value {
    let pairs = |list: &[(String, String)]| -> Vec<Value> {
        list.iter().map(|(id, why)| json!({"dataset": id, "reason": why})).collect()
    };
    json!({
        "source": report.source,
        "selected": report.selected,
        "copied": report.copied.iter().map(|c| json!({"dataset": c.id, "records": c.records, "format": c.format})).collect::<Vec<_>>(),
        "records": report.records(),
        "unchanged": report.unchanged,
        "removed": report.removed,
        "kept": report.kept,
        "failed": pairs(&report.failed),
        "not_carried_over": pairs(&report.notes),
        "seconds": report.elapsed.as_secs_f64(),
    })
}

fn print_report(report: &HarvestReport, verb: &str, dir: &std::path::Path) {
    println!(
        "{verb} {} into {} in {:.1} s: {} datasets copied ({} records), {} unchanged, {} failed.",
        report.source,
        dir.display(),
        report.elapsed.as_secs_f64(),
        report.copied.len(),
        report.records(),
        report.unchanged.len(),
        report.failed.len()
    );
    print_report_details(report, "--remove-deleted");
}

/// The lines under a harvest report's summary: each dataset copied, removed or kept, what
/// was not carried over, what failed; `delete_flag` is the option that removes the kept ones.
pub(crate) fn print_report_details(report: &HarvestReport, delete_flag: &str) {
    for c in &report.copied {
        println!("  copied {} ({} records, {})", c.id, c.records, c.format.unwrap_or("no data"));
    }
    for id in &report.removed {
        println!("  removed {id} (gone from the source; in the trash, restorable)");
    }
    for id in &report.kept {
        println!("  kept {id} (gone from the source; {delete_flag} moves it to the trash)");
    }
    if !report.notes.is_empty() {
        println!("Not carried over:");
        for (id, why) in &report.notes {
            println!("  {id}: {why}");
        }
    }
    if !report.failed.is_empty() {
        println!("Failed:");
        for (id, why) in &report.failed {
            println!("  {id}: {why}");
        }
    }
}
