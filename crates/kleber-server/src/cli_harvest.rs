//! `kleber harvest ckan|dcat URL`, `kleber harvest list`, `kleber harvest run NAME`,
//! `kleber harvest delete NAME`: named harvest sources from the shell (docs/harvest.md). Each
//! command opens the data directory and calls the application layer as the operator.

use std::collections::BTreeMap;

use anyhow::bail;
use clap::Args;
use kleber_app::harvest::HarvestSpec;
use kleber_app::harvest_ods::HarvestReport;
use kleber_app::manage::Editor;
use kleber_app::sources::parse_header_arg;
use serde_json::{Map, Value};

use crate::cli::{DataDir, cli_error, open_app};

/// `kleber harvest ckan URL` / `kleber harvest dcat URL`.
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The portal's address (CKAN: https://demo.ckan.org) or the catalog's (DCAT-AP: the
    /// address of its first page, in Turtle, RDF/XML or JSON-LD).
    url: String,
    /// The harvest's name (default: from the host name); its datasets are `NAME-<source id>`.
    #[arg(long)]
    name: Option<String>,
    /// Which datasets: CKAN's `q` (Solr), or a keyword for DCAT-AP.
    #[arg(long)]
    query: Option<String>,
    /// CKAN's filter query `fq`, e.g. `organization:ville-de-strasbourg`.
    #[arg(long)]
    fq: Option<String>,
    /// Only these source datasets (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "ID,ID")]
    ids: Vec<String>,
    /// Move to the trash the datasets harvested before that the source no longer has (default:
    /// keep them, marked as no longer at the source).
    #[arg(long)]
    delete_missing: bool,
    /// Run it on a cron schedule (five fields, the portal's time zone) within `kleber serve`.
    #[arg(long)]
    schedule: Option<String>,
    /// Set a metadata key on every harvested dataset: KEY=VALUE (VALUE read as JSON when it
    /// is, e.g. `theme=["Mobilité"]`, else as text).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// A header sent with every request to the source's own host, e.g. CKAN's API token
    /// `--header 'Authorization: 0123abcd'` (repeatable). Stored encrypted, never shown back;
    /// without --header, a harvest set again keeps its stored headers.
    #[arg(long = "header", value_name = "'NAME: VALUE'")]
    headers: Vec<String>,
    /// Remove the headers stored with the harvest.
    #[arg(long, conflicts_with = "headers")]
    no_headers: bool,
    /// Only store the harvest, do not run it now.
    #[arg(long)]
    no_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data_dir: DataDir,
}

/// `kleber harvest list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data_dir: DataDir,
}

/// `kleber harvest run NAME` / `kleber harvest delete NAME`.
#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    /// The harvest's name (`kleber harvest list`).
    name: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    data_dir: DataDir,
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
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
        patch.insert(key.trim().to_owned(), value);
    }
    Ok(patch)
}

/// Stores a CKAN or DCAT-AP harvest and runs it (unless `--no-run`).
pub(crate) fn run_add(kind: &str, args: AddArgs) -> anyhow::Result<()> {
    let headers = if args.no_headers {
        Some(BTreeMap::new())
    } else if args.headers.is_empty() {
        None
    } else {
        let mut map = BTreeMap::new();
        for h in &args.headers {
            let (name, value) = parse_header_arg(h).map_err(anyhow::Error::msg)?;
            map.insert(name, value);
        }
        Some(map)
    };
    let spec = HarvestSpec {
        name: args.name.clone(),
        kind: kind.to_owned(),
        url: args.url.clone(),
        query: args.query.clone(),
        fq: args.fq.clone(),
        ids: args.ids.clone(),
        overrides: overrides(&args.set)?,
        delete_missing: args.delete_missing,
        schedule: args.schedule.clone(),
        organization: None,
        headers,
        apikey: None,
    };
    let (app, runtime) = open_app(&args.data_dir)?;
    let editor = Editor::operator();
    let view = runtime.block_on(app.set_harvest(&editor, spec)).map_err(cli_error)?;
    println!(
        "Harvest {} ({} {}){}{} stored.",
        view.name,
        view.kind,
        view.url,
        view.schedule.as_deref().map(|s| format!(", schedule {s}")).unwrap_or_default(),
        if view.config.header_names.is_empty() {
            String::new()
        } else {
            format!(", headers {} (encrypted)", view.config.header_names.join(", "))
        }
    );
    if args.no_run {
        return Ok(());
    }
    run_named(&app, &runtime, &view.name, args.json)
}

fn run_named(
    app: &kleber_app::App,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    json: bool,
) -> anyhow::Result<()> {
    let (run, report) =
        runtime.block_on(app.run_harvest(&Editor::operator(), name)).map_err(cli_error)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"run": run, "report": report_json(&report)})
            )?
        );
    } else {
        print_report(name, &report);
    }
    if !report.failed.is_empty() {
        bail!(
            "{} of {} datasets could not be harvested (listed above); `kleber harvest run {name}` retries them",
            report.failed.len(),
            report.selected
        );
    }
    Ok(())
}

/// Runs `kleber harvest list`.
pub(crate) fn run_list(args: ListArgs) -> anyhow::Result<()> {
    let (app, runtime) = open_app(&args.data_dir)?;
    let list = runtime.block_on(app.harvests(&Editor::operator())).map_err(cli_error)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!(
            "No harvest; add one with `kleber harvest ckan URL` or `kleber harvest dcat URL`."
        );
    }
    for h in list {
        println!(
            "{}\t{}\t{}\t{} datasets\t{}{}",
            h.name,
            h.kind,
            h.url,
            h.datasets,
            h.schedule.as_deref().unwrap_or("manual"),
            if h.failing { "\tlast run failed" } else { "" }
        );
    }
    Ok(())
}

/// Runs `kleber harvest run NAME`.
pub(crate) fn run_run(args: NameArgs) -> anyhow::Result<()> {
    let (app, runtime) = open_app(&args.data_dir)?;
    run_named(&app, &runtime, &args.name, args.json)
}

/// Runs `kleber harvest delete NAME`.
pub(crate) fn run_delete(args: NameArgs) -> anyhow::Result<()> {
    let (app, runtime) = open_app(&args.data_dir)?;
    runtime.block_on(app.delete_harvest(&Editor::operator(), &args.name)).map_err(cli_error)?;
    println!("Harvest {} deleted; the datasets it created stay, as local datasets.", args.name);
    Ok(())
}

fn report_json(report: &HarvestReport) -> Value {
    let pairs = |list: &[(String, String)]| -> Vec<Value> {
        list.iter().map(|(id, why)| serde_json::json!({"dataset": id, "reason": why})).collect()
    };
    serde_json::json!({
        "source": report.source,
        "selected": report.selected,
        "copied": report.copied.iter().map(|c| serde_json::json!({"dataset": c.id, "records": c.records, "format": c.format})).collect::<Vec<_>>(),
        "records": report.records(),
        "unchanged": report.unchanged,
        "removed": report.removed,
        "kept": report.kept,
        "failed": pairs(&report.failed),
        "not_carried_over": pairs(&report.notes),
        "seconds": report.elapsed.as_secs_f64(),
    })
}

fn print_report(name: &str, report: &HarvestReport) {
    println!(
        "Harvest {name} of {} in {:.1} s: {} datasets copied ({} records), {} unchanged, {} failed.",
        report.source,
        report.elapsed.as_secs_f64(),
        report.copied.len(),
        report.records(),
        report.unchanged.len(),
        report.failed.len()
    );
    crate::cli_migrate::print_report_details(report, "--delete-missing");
}
