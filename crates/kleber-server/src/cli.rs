//! The `kleber` command line: `import`, `annotate` and `serve`; the publishers' commands
//! (`org`, `user`, `member`, `key`, `dataset`) are in `cli_admin.rs`.
//!
//! Like every front end, the command line reaches data through the application layer
//! ([`kleber_app::App`]): `import` and `annotate` are its use cases, run on a small runtime.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use kleber_app::{App, RequestContext};
use kleber_ingest::{Format, ImportOptions};
use kleber_query::{Engine, Limits};
use kleber_store::{CrashPoint, Store};
use kleber_types::FieldType;

use crate::import::{ImportRequest, ImportSummary};
use crate::state::AppState;

/// Kleber, an open data portal: import files as datasets and serve them through the
/// Opendatasoft-compatible Explore API.
#[derive(Debug, Parser)]
#[command(
    name = "kleber",
    version,
    about = "Kleber, an open data portal: import files as datasets, serve them through the Opendatasoft-compatible APIs."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import a file (CSV, TSV, JSON, JSONL, GeoJSON, XLSX) as a new version of a dataset.
    Import(ImportArgs),
    /// Serve the data directory over HTTP.
    Serve(ServeArgs),
    /// Change the annotations of a field: which fields are facets, disjunctive, how they sort.
    ///
    /// Example: `kleber annotate --dataset agenda-culturel commune +facet +disjunctive facetsort=alphanum`,
    /// `kleber annotate --dataset agenda-culturel lieu -facet`.
    Annotate(AnnotateArgs),
    /// Organizations: `kleber org create ORG --name NAME [--kind KIND]`, `kleber org list`.
    #[command(subcommand)]
    Org(crate::cli_admin::OrgCommand),
    /// User accounts: `kleber user create EMAIL ...`, `kleber user disable EMAIL`.
    #[command(subcommand)]
    User(crate::cli_admin::UserCommand),
    /// Memberships: `kleber member add ORG EMAIL --role ROLE`, `kleber member remove ORG EMAIL`.
    #[command(subcommand)]
    Member(crate::cli_admin::MemberCommand),
    /// API keys: `kleber key create EMAIL --name NAME ...`, `kleber key revoke KEY_ID`,
    /// `kleber key list [EMAIL]`.
    #[command(subcommand)]
    Key(crate::cli_admin::KeyCommand),
    /// Datasets' access: `kleber dataset set ID --visibility ...`, `kleber dataset grant ID EMAIL`.
    #[command(subcommand)]
    Dataset(crate::cli_admin::DatasetCommand),
    /// The audit log, newest first: `kleber audit [--org ORG] [--limit N]`.
    Audit(crate::cli_admin::AuditArgs),
    /// Copy a whole Opendatasoft portal: `kleber migrate https://PORTAL [--where ODSQL]`.
    Migrate(crate::cli_migrate::MigrateArgs),
    /// Harvest other portals: `kleber harvest ods|ckan|dcat URL`, `kleber harvest list`, `kleber harvest run NAME`.
    #[command(subcommand)]
    Harvest(crate::cli_migrate::HarvestCommand),
    /// Remote sources: `kleber source set ID --url URL [--header 'K: V']... [--schedule CRON]`,
    /// `kleber source run ID`, `kleber source show ID`, `kleber source clear ID`.
    #[command(subcommand)]
    Source(crate::cli_sources::SourceCommand),
    /// A dataset's processors: steps applied to every file read for it (docs/sources.md).
    #[command(subcommand)]
    Processors(crate::cli_processors::ProcessorsCommand),
    /// Define a dataset as a SQL query over other datasets, recomputed when they publish:
    /// `kleber derive ID --query FILE [--title T]` (docs/crossing.md).
    Derive(crate::cli_derive::DeriveArgs),
    /// Version retention: `kleber retention set ID all:1d,daily:30d,weekly:26w,monthly:forever`,
    /// `kleber retention show ID`, `kleber retention clear ID`, `kleber retention default POLICY`.
    #[command(subcommand)]
    Retention(crate::cli_retention::RetentionCommand),
    /// A dataset's versions: `kleber versions list ID`, `kleber versions comment ID N TEXT`
    /// (docs/versions.md#comments).
    #[command(subcommand)]
    Versions(crate::cli_versions::VersionsCommand),
}

#[derive(Debug, Args)]
struct AnnotateArgs {
    /// The dataset.
    #[arg(long)]
    dataset: String,
    #[command(flatten)]
    data_dir: DataDir,
    /// The field (technical name).
    field: String,
    /// `+name` or `name=arg,arg` to set, `-name` to remove (facet, disjunctive, facetsort, ...).
    #[arg(required = true, allow_hyphen_values = true)]
    changes: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DataDir {
    /// The data directory (catalog and dataset files).
    #[arg(long, env = "KLEBER_DATA_DIR", default_value = "./kleber-data")]
    pub(crate) data_dir: PathBuf,
    /// The organization that datasets without one are given when a data directory written
    /// before organizations existed is first opened (created then; new datasets imported
    /// without --org go to it). Ignored once the directory has its default organization.
    #[arg(long, env = "KLEBER_DEFAULT_ORG", default_value = kleber_store::accounts::DEFAULT_ORG)]
    pub(crate) default_org: String,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The file to import.
    path: PathBuf,
    /// Identifier of the dataset (lowercase letters, digits, '-' and '_'); created if new.
    #[arg(long)]
    dataset: String,
    /// Title of the dataset.
    #[arg(long)]
    title: Option<String>,
    #[command(flatten)]
    data_dir: DataDir,
    /// The organization that publishes it (a new dataset without it goes to the default
    /// organization; an existing one keeps its own).
    #[arg(long)]
    org: Option<String>,
    /// Who may read it: public, restricted (the organization's members and grants), draft
    /// (its editors only). A new dataset is public unless told; an existing one keeps its own.
    #[arg(long)]
    visibility: Option<kleber_store::Visibility>,
    /// Format of the file, when its extension does not say it: csv, json, jsonl, geojson, xlsx,
    /// ods, kml, gpx, shapefile, geopackage, parquet (zips, KMZ and binary formats are told
    /// from their content).
    #[arg(long)]
    format: Option<Format>,
    /// XLSX, ODS: the sheet to read (default: the first); GeoPackage: the layer.
    #[arg(long)]
    sheet: Option<String>,
    /// CSV: the first row is a header.
    #[arg(long, conflicts_with = "no_header")]
    header: bool,
    /// CSV: there is no header row; fields are named column_1, column_2, ...
    #[arg(long)]
    no_header: bool,
    /// CSV: the delimiter (default: detected among , ; tab |).
    #[arg(long)]
    delimiter: Option<char>,
    /// Force the type of a field: FIELD=TYPE (text, int, double, boolean, date, datetime,
    /// geo_point_2d, geo_shape). Values that do not fit reject their row.
    #[arg(long = "type", value_name = "FIELD=TYPE")]
    types: Vec<String>,
    /// Split a text field into several values: FIELD=SEPARATOR.
    #[arg(long = "multivalued", value_name = "FIELD=SEP")]
    multivalued: Vec<String>,
    /// A field whose value identifies a record: record ids then stay the same across versions
    /// even when other values change (real-time data).
    #[arg(long, value_name = "FIELD")]
    unique_id: Option<String>,
    /// A comment on the new version, shown wherever versions are listed: one line of at most
    /// 500 characters, e.g. --comment "Correction des coordonnées de 3 stations". Edit it
    /// afterwards with `kleber versions comment`.
    #[arg(long)]
    comment: Option<String>,
    /// Test hook: abort at a point of the publication (before-rename, before-commit,
    /// after-commit; `KLEBER_CRASH_AT` also reaches after-begin).
    #[arg(long, hide = true)]
    crash_at: Option<CrashPoint>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    smtp: crate::mail::SmtpArgs,
    #[command(flatten)]
    data_dir: DataDir,
    /// Address to listen on.
    #[arg(long, env = "KLEBER_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Load the demo datasets into the data directory first (those missing).
    #[arg(long)]
    demo: bool,
    /// Longest time a records query may run, in seconds.
    #[arg(long, env = "KLEBER_QUERY_TIMEOUT", default_value_t = 30)]
    query_timeout: u64,
    /// Memory all running queries may hold together, in MiB.
    #[arg(long, env = "KLEBER_QUERY_MEMORY_MB", default_value_t = 1024)]
    query_memory_mb: usize,
    /// Memory for small dataset versions kept as Arrow batches, in MiB (0 turns it off).
    #[arg(long, env = "KLEBER_MEMORY_TABLES_MB", default_value_t = 32)]
    memory_tables_mb: usize,
    /// Versions of at least this many records get a clustered copy (sorted by their text
    /// fields of few values) built in the background on their first query; 0 turns it off.
    #[arg(long, env = "KLEBER_CLUSTERED_MIN_ROWS", default_value_t = 200_000)]
    clustered_min_rows: u64,
    /// Queries that run at once; the others wait for their turn, their time limit running
    /// (0: two a core). Fewer hold less memory under many clients scanning large datasets.
    #[arg(long, env = "KLEBER_CONCURRENT_QUERIES", default_value_t = 0)]
    concurrent_queries: usize,
    /// Memory for finished API responses kept by dataset version, in MiB (0 turns it off).
    #[arg(long, env = "KLEBER_RESULT_CACHE_MB", default_value_t = crate::state::DEFAULT_RESULT_CACHE_MB)]
    result_cache_mb: u64,
    /// Map tiles of the portal: a Leaflet URL template ({z}/{x}/{y}, optional {s}).
    #[arg(long, env = "KLEBER_TILE_URL", default_value = crate::web::DEFAULT_TILE_URL)]
    tile_url: String,
    /// Attribution shown on the map for those tiles.
    #[arg(long, env = "KLEBER_TILE_ATTRIBUTION", default_value = crate::web::DEFAULT_TILE_ATTRIBUTION)]
    tile_attribution: String,
    /// The portal's public base URL (http or https, a host and an optional port), e.g.
    /// https://data.example.org: every absolute URL (API links, sitemap, feed, canonical
    /// links) is built on it. Unset: each request's Host header, over http.
    #[arg(long, env = "KLEBER_PUBLIC_URL", value_name = "URL", value_parser = public_url)]
    public_url: Option<crate::http::PublicUrl>,
    /// Seconds a client has to send a request's head; also how long an idle kept-alive
    /// connection stays open.
    #[arg(long, env = "KLEBER_HEADER_READ_TIMEOUT", default_value_t = crate::listener::DEFAULT_HEADER_READ_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout: u64,
    /// Requests handled at once; beyond, 503 ServerBusy with Retry-After.
    #[arg(long, env = "KLEBER_MAX_REQUESTS", default_value_t = crate::listener::DEFAULT_MAX_REQUESTS,
          value_parser = at_least_one)]
    max_requests: usize,
    /// Largest request body accepted, in KiB; beyond, 413 PayloadTooLarge.
    #[arg(long, env = "KLEBER_MAX_BODY_KB", default_value_t = crate::listener::DEFAULT_MAX_BODY_KB)]
    max_body_kb: u64,
    /// Days a deleted dataset stays in the trash (restorable) before the server purges it
    /// with its files.
    #[arg(long, env = "KLEBER_TRASH_DAYS", default_value_t = 30)]
    trash_days: u32,
    /// Largest attachment accepted by the management API, in MiB (at most --max-upload-mb);
    /// beyond, 413 PayloadTooLarge.
    #[arg(long, env = "KLEBER_MAX_ATTACHMENT_MB", default_value_t = 20)]
    max_attachment_mb: u64,
    /// Largest file accepted by the management API's uploads, in MiB; beyond, 413
    /// PayloadTooLarge (uploads are streamed to <data dir>/tmp/uploads, never held in memory).
    #[arg(long, env = "KLEBER_MAX_UPLOAD_MB", default_value_t = kleber_app::uploads::DEFAULT_MAX_UPLOAD_MB)]
    max_upload_mb: u64,
    /// Hours an upload is kept unpublished before it is deleted.
    #[arg(long, env = "KLEBER_UPLOAD_TTL_HOURS", default_value_t = kleber_app::uploads::DEFAULT_UPLOAD_TTL_HOURS,
          value_parser = clap::value_parser!(u64).range(1..))]
    upload_ttl_hours: u64,
    /// Exports spooled to disk at once (XLSX, Parquet, shapefile, GPX, FlatGeobuf); beyond,
    /// 503 ServerBusy.
    #[arg(long, env = "KLEBER_MAX_SPOOLED_EXPORTS", default_value_t = crate::state::DEFAULT_MAX_SPOOLED_EXPORTS,
          value_parser = at_least_one)]
    max_spooled_exports: usize,
    /// Disk the spooled exports may hold together, in MiB; beyond, they stop and new ones
    /// answer 503 ServerBusy.
    #[arg(long, env = "KLEBER_MAX_SPOOL_MB", default_value_t = crate::state::DEFAULT_MAX_SPOOL_MB)]
    max_spool_mb: u64,
    /// Seconds a client may leave an export's next chunk untaken (it stopped reading but keeps
    /// its connection); the export is then dropped, releasing its query and spool file.
    #[arg(long, env = "KLEBER_EXPORT_STALL_SECS", default_value_t = crate::shared::stall::DEFAULT_EXPORT_STALL_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    export_stall_secs: u64,
    /// Requests per window an anonymous client address may make (0: no limit); beyond,
    /// 429 with Opendatasoft's body.
    #[arg(long, env = "KLEBER_RATE_LIMIT_ANONYMOUS", default_value_t = 0)]
    rate_limit_anonymous: u64,
    /// Requests per window one API key of a user may make (0: no limit).
    #[arg(long, env = "KLEBER_RATE_LIMIT_USER", default_value_t = 0)]
    rate_limit_user: u64,
    /// Requests per window one API key of a portal admin may make (0: no limit).
    #[arg(long, env = "KLEBER_RATE_LIMIT_ADMIN", default_value_t = 0)]
    rate_limit_admin: u64,
    /// The window the rate limits count in; `day` resets at midnight UTC.
    #[arg(long, env = "KLEBER_RATE_LIMIT_WINDOW", value_enum, default_value = "day")]
    rate_limit_window: crate::http::ratelimit::Window,
    /// Reverse proxies in front of the server whose X-Forwarded-For is trusted for the client
    /// address (0: the header is ignored, the connection's peer is the client).
    #[arg(long, env = "KLEBER_TRUSTED_PROXIES", default_value_t = 0)]
    trusted_proxies: usize,
    /// Clients (addresses, keys) whose rate-limit counters are kept; the least used are
    /// forgotten beyond.
    #[arg(long, env = "KLEBER_RATE_LIMIT_CLIENTS", default_value_t = crate::http::ratelimit::DEFAULT_MAX_CLIENTS,
          value_parser = at_least_one)]
    rate_limit_clients: usize,
    /// The portal's time zone, in which sources' cron schedules are read (an IANA name).
    #[arg(long, env = "KLEBER_TIMEZONE", default_value = "Europe/Paris", value_parser = timezone)]
    timezone: chrono_tz::Tz,
    /// Largest file a remote source may send, in MiB (a source may set its own).
    #[arg(long, env = "KLEBER_SOURCE_MAX_MB", default_value_t = kleber_app::sources::DEFAULT_MAX_SOURCE_MB,
          value_parser = clap::value_parser!(u64).range(1..))]
    source_max_mb: u64,
    /// Longest a remote source's fetch may take, in seconds (a source may set its own).
    #[arg(long, env = "KLEBER_SOURCE_TIMEOUT", default_value_t = kleber_app::sources::DEFAULT_SOURCE_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    source_timeout: u64,
    /// Delay, in milliseconds, between an input's publication and the recomputation of the
    /// datasets derived from it (further publications within it push it back).
    #[arg(long, env = "KLEBER_DERIVE_DEBOUNCE_MS", default_value_t = 2000)]
    derive_debounce_ms: u64,
    /// Let webhooks post to loopback and private addresses (refused by default: a hook must
    /// not reach the server's own network; docs/feeds.md#webhooks).
    #[arg(long, env = "KLEBER_WEBHOOK_ALLOW_PRIVATE")]
    webhook_allow_private: bool,
    /// Longest one webhook delivery attempt may take, in seconds.
    #[arg(long, env = "KLEBER_WEBHOOK_TIMEOUT", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    webhook_timeout: u64,
    /// Change streams (Server-Sent Events) open at once; beyond, 503 ServerBusy.
    #[arg(long, env = "KLEBER_MAX_CHANGE_STREAMS", default_value_t = kleber_app::publications::DEFAULT_MAX_STREAMS)]
    max_change_streams: usize,
}

fn timezone(value: &str) -> Result<chrono_tz::Tz, String> {
    kleber_app::schedule::parse_timezone(value)
}

fn public_url(value: &str) -> Result<crate::http::PublicUrl, String> {
    crate::http::PublicUrl::parse(value)
}

fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{value:?} is not a whole number of at least 1")),
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Import(args) => run_import(args),
        Command::Serve(args) => run_serve(args),
        Command::Annotate(args) => run_annotate(args),
        Command::Org(command) => crate::cli_admin::run_org(command),
        Command::User(command) => crate::cli_admin::run_user(command),
        Command::Member(command) => crate::cli_admin::run_member(command),
        Command::Key(command) => crate::cli_admin::run_key(command),
        Command::Dataset(command) => crate::cli_admin::run_dataset(command),
        Command::Audit(args) => crate::cli_admin::run_audit(args),
        Command::Migrate(args) => crate::cli_migrate::run_migrate(args),
        Command::Harvest(command) => crate::cli_migrate::run_harvest(command),
        Command::Source(command) => crate::cli_sources::run_source(command),
        Command::Processors(command) => crate::cli_processors::run_processors(command),
        Command::Derive(args) => crate::cli_derive::run_derive(args),
        Command::Retention(command) => crate::cli_retention::run_retention(command),
        Command::Versions(command) => crate::cli_versions::run_versions(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The innermost cause says what went wrong; the outer contexts say what it means.
            let mut chain: Vec<String> = e.chain().map(ToString::to_string).collect();
            chain.reverse();
            let mut lines = chain.iter();
            if let Some(first) = lines.next() {
                eprintln!("error: {first}");
            }
            for note in lines {
                eprintln!("  note: {note}");
            }
            ExitCode::FAILURE
        }
    }
}

fn parse_pairs(values: &[String], flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((k, val)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), val.to_owned())),
            _ => bail!("invalid --{flag} {v:?}: expected FIELD=VALUE, e.g. --{flag} total=int"),
        })
        .collect()
}

fn import_options(args: &ImportArgs) -> anyhow::Result<ImportOptions> {
    let mut type_overrides = BTreeMap::new();
    for (field, t) in parse_pairs(&args.types, "type")? {
        let t: FieldType =
            t.parse().map_err(|e: String| anyhow::anyhow!("invalid --type for {field}: {e}"))?;
        type_overrides.insert(field, t);
    }
    let multivalued = parse_pairs(&args.multivalued, "multivalued")?.into_iter().collect();
    let delimiter = match args.delimiter {
        None => None,
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(c) => bail!("invalid --delimiter {c:?}: use an ASCII character such as ';' or ','"),
    };
    Ok(ImportOptions {
        format: args.format,
        sheet: args.sheet.clone(),
        has_header: if args.header {
            Some(true)
        } else if args.no_header {
            Some(false)
        } else {
            None
        },
        delimiter,
        type_overrides,
        multivalued,
        ..ImportOptions::default()
    })
}

/// The application over the data directory `dir`, for the commands that write (`import`,
/// `annotate`), and the runtime their use cases run on.
pub(crate) fn open_app(dir: &DataDir) -> anyhow::Result<(App, tokio::runtime::Runtime)> {
    let store = Store::open_with_default_org(&dir.data_dir, &dir.default_org)
        .with_context(|| format!("cannot open data directory {}", dir.data_dir.display()))?;
    let engine = Engine::new(Limits::default())?;
    let app = App::new(store, engine, kleber_app::Limits::default());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok((app, runtime))
}

/// A use case's error as the command line reports it: an import's own error with its causes,
/// an unknown dataset in the store's words (as before the application layer), else the
/// error with its sources.
pub(crate) fn cli_error(e: kleber_app::Error) -> anyhow::Error {
    match e {
        kleber_app::Error::Import(e) => e,
        kleber_app::Error::DatasetNotFound(id) => {
            kleber_store::Error::DatasetNotFound { id }.into()
        }
        e => e.into(),
    }
}

fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    let options = import_options(&args)?;
    let (app, runtime) = open_app(&args.data_dir)?;
    let request = ImportRequest {
        path: args.path.clone(),
        dataset: args.dataset.clone(),
        title: args.title.clone(),
        options,
        unique_id: args.unique_id.clone(),
        crash: args.crash_at,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(format!("importing {}", args.path.display()));
    let started = Instant::now();
    let progress = bar.clone();
    let access = kleber_app::import::ImportAccess {
        organization: args.org.clone(),
        visibility: args.visibility,
        actor: None,
        comment: args.comment.clone(),
    };
    let result = runtime.block_on(app.import_with_access(
        &RequestContext::operator(),
        request,
        access,
        move |p| {
            progress.set_length(p.bytes_total);
            progress.set_position(p.bytes_done);
        },
    ));
    bar.finish_and_clear();
    let summary = result.map_err(cli_error)?;
    print_summary(&summary, &args, started.elapsed());
    Ok(())
}

fn print_summary(summary: &ImportSummary, args: &ImportArgs, elapsed: Duration) {
    let outcome = &summary.outcome;
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "Imported {} into dataset `{}` (version {}, uid {}) in {:.2} s ({:.0} rows/s, {:.1} MB/s).",
        args.path.display(),
        summary.dataset,
        summary.version,
        summary.uid,
        secs,
        outcome.rows as f64 / secs,
        outcome.bytes_read as f64 / 1e6 / secs,
    );
    let d = &outcome.detected;
    let mut detected = vec![format!("format {}", outcome.format)];
    if let Some(e) = &d.encoding {
        detected.push(format!("encoding {e}"));
    }
    if let Some(c) = d.delimiter {
        detected.push(format!("delimiter {c:?}"));
    }
    if let Some(h) = d.has_header {
        detected.push(if h { "header row".to_owned() } else { "no header row".to_owned() });
    }
    println!("  read: {}", detected.join(", "));
    println!("  rows in: {}", outcome.rows);
    println!("  fields ({}):", outcome.fields.len());
    let width = outcome.fields.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in &outcome.fields {
        println!("    {:width$}  {:12}  {}", f.name, f.field_type.name(), f.label);
    }
    match &summary.report_path {
        None => println!("  rows rejected: 0"),
        Some(path) => {
            println!("  rows rejected: {} (report: {})", outcome.rejected.len(), path.display());
            for issue in outcome.rejected.iter().take(5) {
                println!("    line {}: {}", issue.line, issue.reason);
            }
            if outcome.rejected.len() > 5 {
                println!("    ... and {} more in the report", outcome.rejected.len() - 5);
            }
        }
    }
}

fn run_annotate(args: AnnotateArgs) -> anyhow::Result<()> {
    let mut set = Vec::new();
    let mut remove = Vec::new();
    for change in &args.changes {
        if let Some(name) = change.strip_prefix('-') {
            remove.push(name.to_owned());
        } else if let Some((name, value)) = change.split_once('=') {
            let args: Vec<String> =
                value.split(',').map(str::to_owned).filter(|a| !a.is_empty()).collect();
            set.push((name.trim_start_matches('+').to_owned(), args));
        } else {
            set.push((change.trim_start_matches('+').to_owned(), Vec::new()));
        }
    }
    if let Some(bad) = set
        .iter()
        .map(|(n, _)| n)
        .chain(&remove)
        .find(|n| n.is_empty() || !n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    {
        bail!(
            "invalid annotation {bad:?}: use lowercase names such as facet, disjunctive, facetsort=-count"
        );
    }
    let (app, runtime) = open_app(&args.data_dir)?;
    let field = runtime
        .block_on(app.annotate(
            &RequestContext::operator(),
            &args.dataset,
            &args.field,
            set,
            remove,
        ))
        .map_err(cli_error)?;
    println!(
        "{}.{} annotations: {}",
        args.dataset,
        field.name,
        serde_json::to_string(&field.annotations)?
    );
    Ok(())
}

fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KLEBER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let data_dir = &args.data_dir.data_dir;
    let store = Store::open_with_default_org(data_dir, &args.data_dir.default_org)
        .with_context(|| format!("cannot open data directory {}", data_dir.display()))?;
    let orphans = store.remove_orphans()?;
    if orphans.skipped_busy {
        tracing::warn!("an import is running; orphan clean-up skipped");
    }
    for path in &orphans.removed {
        tracing::info!(path = %path.display(), "removed an unfinished version left by a crash");
    }
    let engine = Engine::new(Limits {
        memory_bytes: args.query_memory_mb << 20,
        query_timeout: Duration::from_secs(args.query_timeout),
        in_memory_bytes: args.memory_tables_mb.saturating_mul(1 << 20),
        clustered_min_rows: match args.clustered_min_rows {
            0 => u64::MAX,
            rows => rows,
        },
        concurrent_queries: args.concurrent_queries,
        ..Limits::default()
    })?;
    kleber_app::push::remove_leftovers(&store);
    let upload_limits = kleber_app::uploads::UploadLimits {
        max_bytes: args.max_upload_mb.saturating_mul(1 << 20),
        ttl: Duration::from_secs(args.upload_ttl_hours.saturating_mul(3600)),
    };
    let mut state = AppState::new(store, engine, Duration::from_secs(args.query_timeout))
        .with_upload_limits(upload_limits)
        .with_result_cache_mb(args.result_cache_mb)
        .with_tile_url(args.tile_url.clone(), args.tile_attribution.clone())
        .with_spool_limits(args.max_spooled_exports, args.max_spool_mb)
        .with_export_stall(Duration::from_secs(args.export_stall_secs))
        .with_rate_limits(crate::http::ratelimit::RateLimitConfig {
            anonymous: args.rate_limit_anonymous,
            user: args.rate_limit_user,
            admin: args.rate_limit_admin,
            window: args.rate_limit_window,
            trusted_proxies: args.trusted_proxies,
            max_clients: args.rate_limit_clients,
        });
    if let Some(url) = args.public_url.clone() {
        state = state.with_public_url(url);
    }
    match args.smtp.mailer() {
        Ok(Some(mailer)) => {
            tracing::info!(server = mailer.server(), "invitations are also sent by mail");
            state = state.with_mail(mailer);
        }
        Ok(None) => {}
        Err(message) => anyhow::bail!(message),
    }
    state.app.set_max_attachment_bytes(args.max_attachment_mb.saturating_mul(1 << 20));
    let limits = crate::HttpLimits {
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        max_requests: args.max_requests,
        max_body_bytes: args.max_body_kb.saturating_mul(1024),
        max_upload_bytes: upload_limits.max_bytes,
        ..crate::HttpLimits::default()
    };
    let expired = state.app.remove_expired_uploads();
    if expired > 0 {
        tracing::info!(expired, "removed expired uploads");
    }
    // Queries over small in-memory datasets are planned on these threads: the engine's stack
    // (kleber_query::CPU_STACK_BYTES) lets them skip growing one.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(kleber_query::CPU_STACK_BYTES)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let ctx = RequestContext::operator();
        if args.demo {
            let loaded =
                crate::demo::ensure(&state.app).await.context("cannot load the demo datasets")?;
            if !loaded.is_empty() {
                tracing::info!(datasets = %loaded.join(", "), "demo datasets loaded");
            }
        }
        crate::api::management::spawn_trash_purge(
            std::sync::Arc::clone(&state.app),
            args.trash_days,
        );
        state.app.set_source_settings(kleber_app::sources::SourceSettings {
            timezone: args.timezone,
            limits: kleber_app::sources::FetchLimits {
                max_bytes: args.source_max_mb.saturating_mul(1 << 20),
                timeout: Duration::from_secs(args.source_timeout),
            },
        });
        state.app.set_webhook_settings(kleber_app::webhooks::WebhookSettings {
            allow_private: args.webhook_allow_private,
            timeout: Duration::from_secs(args.webhook_timeout),
            ..kleber_app::webhooks::WebhookSettings::default()
        });
        state.app.set_max_streams(args.max_change_streams);
        kleber_app::schedule::spawn_scheduler(
            std::sync::Arc::clone(&state.app),
            std::sync::Arc::new(kleber_app::schedule::SystemClock),
        );
        state.app.set_derive_debounce(Duration::from_millis(args.derive_debounce_ms));
        kleber_app::derive::spawn_deriver(
            std::sync::Arc::clone(&state.app),
            Duration::from_millis(250),
        );
        let count = state.app.catalog(&ctx).await?.records().len();
        let listener = tokio::net::TcpListener::bind(args.addr).await.with_context(|| {
            format!(
                "cannot listen on {}; is another server using it? try --addr 127.0.0.1:8081",
                args.addr
            )
        })?;
        let addr = listener.local_addr()?;
        println!("Kleber serves {count} datasets from {} on http://{addr}/", data_dir.display());
        if let Some(url) = &args.public_url {
            println!("  public URL: {url}/ (absolute links are built on it)");
        }
        println!("  portal: http://{addr}/ (French; ?lang=en for English)");
        println!("  try: curl 'http://{addr}/api/explore/v2.1/catalog/datasets'");
        crate::serve_with(listener, state, limits, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    })
}
