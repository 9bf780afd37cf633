//! The operator's commands for publishers: `kleber org`, `user`, `member`, `key` and
//! `dataset`. Each opens the data directory and calls the application layer's account use
//! cases ([`kleber_app::accounts::Accounts`]); every change is written to the audit log as
//! done by the operator (`$USER`).

use std::io::Read;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use kleber_app::accounts::{Accounts, operator};
use kleber_store::{NewOrganization, OrgKind, OrgUpdate, Role, Scope, Store, Visibility};

use crate::cli::DataDir;

/// `kleber org ...`
#[derive(Debug, Subcommand)]
pub(crate) enum OrgCommand {
    /// Create an organization.
    ///
    /// Example: `kleber org create ems --name "Eurométropole de Strasbourg" --kind metropolis`.
    Create {
        /// Its identifier: lowercase letters, digits, '-' and '_'.
        org: String,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// What it is: city, metropolis, commune, public_body, company, association.
        #[arg(long, default_value = "public_body")]
        kind: OrgKind,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// Its web site.
        #[arg(long)]
        website: Option<String>,
        /// Its logo's URL.
        #[arg(long)]
        logo: Option<String>,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Change an organization's name, kind, description, web site or logo.
    ///
    /// Give only what changes; an empty value (`--website ""`) removes a description, web site
    /// or logo. Example: `kleber org update ems --website https://www.strasbourg.eu/`.
    Update {
        /// Its identifier.
        org: String,
        /// Its new display name.
        #[arg(long)]
        name: Option<String>,
        /// What it is: city, metropolis, commune, public_body, company, association.
        #[arg(long)]
        kind: Option<OrgKind>,
        /// A new description (plain text; empty: none).
        #[arg(long)]
        description: Option<String>,
        /// Its web site, an http(s) URL (empty: none).
        #[arg(long)]
        website: Option<String>,
        /// Its logo's URL, an http(s) URL, never fetched by the server (empty: none).
        #[arg(long)]
        logo: Option<String>,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// List the organizations: identifier, kind, name, datasets, web site.
    List {
        #[command(flatten)]
        data_dir: DataDir,
    },
}

/// `kleber user ...`
#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user account.
    Create {
        /// The email (unique, compared without case).
        email: String,
        /// The display name (default: the email).
        #[arg(long)]
        name: Option<String>,
        /// A portal administrator: reads, edits and administers everything.
        #[arg(long)]
        admin: bool,
        /// Read a password (at least 12 characters) from standard input, first line; it is
        /// stored as an argon2id hash.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Invite a user into an organization: prints a one-time link (valid 7 days) where they
    /// choose their password; the user is created without a password if needed.
    Invite {
        /// The user's email.
        email: String,
        /// The organization.
        #[arg(long)]
        org: String,
        /// admin (members, keys, all datasets), editor (publishes), viewer (reads restricted).
        #[arg(long)]
        role: Role,
        /// The portal's public address, the start of the link.
        #[arg(long, env = "KLEBER_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The language of the invitation mail (with --smtp-url): fr or en.
        #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
        lang: String,
        #[command(flatten)]
        smtp: crate::mail::SmtpArgs,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Disable a user: its keys and sessions stop working.
    Disable {
        /// The user's email.
        email: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
}

/// `kleber member ...`
#[derive(Debug, Subcommand)]
pub(crate) enum MemberCommand {
    /// Add a user to an organization, or change its role.
    Add {
        /// The organization.
        org: String,
        /// The user's email.
        email: String,
        /// admin (members, keys, all datasets), editor (publishes), viewer (reads restricted).
        #[arg(long)]
        role: Role,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Remove a user from an organization.
    Remove {
        /// The organization.
        org: String,
        /// The user's email.
        email: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
}

/// `kleber key ...`
#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Create an API key; it is printed once, alone on its line, and never shown again.
    Create {
        /// The owner's email: the key acts for this user, within its scopes.
        email: String,
        /// A name, to recognise it in `kleber key list`.
        #[arg(long)]
        name: String,
        /// What it may do: read (non-public datasets its owner reads), write, admin.
        /// Repeat for several (default: read).
        #[arg(long = "scope")]
        scopes: Vec<Scope>,
        /// Days until it stops working (default: never).
        #[arg(long, value_name = "DAYS")]
        expires: Option<u32>,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Revoke an API key by its id (the part after `klb_`, shown by `kleber key list`).
    Revoke {
        /// The key's id.
        key_id: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// List the API keys (never their secrets), of one user or all.
    List {
        /// Only this user's keys.
        email: Option<String>,
        #[command(flatten)]
        data_dir: DataDir,
    },
}

/// `kleber dataset ...`
#[derive(Debug, Subcommand)]
pub(crate) enum DatasetCommand {
    /// Change who may read a dataset, or move it to another organization.
    Set {
        /// The dataset.
        id: String,
        /// public (everyone), restricted (members and grants), draft (editors only).
        #[arg(long)]
        visibility: Option<Visibility>,
        /// The organization it belongs to.
        #[arg(long)]
        org: Option<String>,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Show or set what outsiders see of a public dataset: fields hidden from them and a
    /// condition their records must meet (docs/security.md#access-rules). Outsiders are the
    /// callers who read it only because it is public; its organization's members, the users
    /// it is granted to and portal admins see it whole.
    ///
    /// Without options, prints the current rule. `--hide` and `--where` replace the whole
    /// rule (give both to keep both). Example:
    /// `kleber dataset rule signalements --hide email --where "statut != 'interne'"`.
    Rule {
        /// The dataset.
        id: String,
        /// A field outsiders do not see (repeat for several).
        #[arg(long = "hide", value_name = "FIELD")]
        hide: Vec<String>,
        /// An ODSQL condition the records outsiders see must meet.
        #[arg(long = "where", value_name = "ODSQL")]
        condition: Option<String>,
        /// Remove the rule: outsiders see the whole dataset again.
        #[arg(long, conflicts_with_all = ["hide", "condition"])]
        clear: bool,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Let a user read a restricted dataset.
    Grant {
        /// The dataset.
        id: String,
        /// The user's email.
        email: String,
        #[command(flatten)]
        data_dir: DataDir,
    },
    /// Make a push key of the real-time push API for a dataset (printed alone on its line,
    /// shown only now), or revoke every push key of the dataset.
    PushKey {
        /// The dataset.
        id: String,
        /// Revoke the dataset's push keys instead of making one.
        #[arg(long)]
        revoke: bool,
        #[command(flatten)]
        data_dir: DataDir,
    },
}

/// The account use cases over `dir`.
/// `kleber audit`: the audit log, newest first.
#[derive(Debug, clap::Args)]
pub(crate) struct AuditArgs {
    /// Only the entries about this organization (its creation, its members, its datasets).
    #[arg(long)]
    org: Option<String>,
    /// How many entries to show.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    limit: u64,
    #[command(flatten)]
    data_dir: DataDir,
}

pub(crate) fn run_audit(args: AuditArgs) -> anyhow::Result<()> {
    let accounts = open(&args.data_dir)?;
    if let Some(org) = &args.org
        && !accounts.orgs()?.iter().any(|o| &o.id == org)
    {
        bail!(
            "unknown organization {org:?} in --org: `kleber org list --data-dir {}` lists them",
            args.data_dir.data_dir.display()
        );
    }
    let filter = kleber_store::AuditFilter {
        orgs: args.org.map(|org| vec![org]),
        limit: usize::try_from(args.limit).unwrap_or(usize::MAX),
        ..Default::default()
    };
    let (total, entries) = accounts.audit_page(&filter)?;
    println!("id\tat\tactor\tvia\taction\ttarget\tdetails");
    for e in &entries {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            e.id,
            e.at,
            e.actor,
            e.via.as_deref().unwrap_or("-"),
            e.action,
            e.target,
            e.details
        );
    }
    eprintln!("{} of {total} entries shown (newest first).", entries.len());
    Ok(())
}

fn open(dir: &DataDir) -> anyhow::Result<Accounts> {
    let store = Store::open_with_default_org(&dir.data_dir, &dir.default_org)
        .with_context(|| format!("cannot open data directory {}", dir.data_dir.display()))?;
    Ok(Accounts::new(Arc::new(store)))
}

pub(crate) fn run_org(command: OrgCommand) -> anyhow::Result<()> {
    match command {
        OrgCommand::Create { org, name, kind, description, website, logo, data_dir } => {
            let accounts = open(&data_dir)?;
            let new = NewOrganization {
                id: &org,
                name: &name,
                kind,
                description: description.as_deref(),
                website: website.as_deref(),
                logo: logo.as_deref(),
            };
            let created = accounts.create_org(&operator(), &new)?;
            println!("Created organization {} ({}, {}).", created.id, created.name, created.kind);
        }
        OrgCommand::Update { org, name, kind, description, website, logo, data_dir } => {
            let accounts = open(&data_dir)?;
            // An empty value removes the description, web site or logo.
            fn clearable(v: &Option<String>) -> Option<Option<&str>> {
                v.as_deref().map(|v| Some(v).filter(|v| !v.is_empty()))
            }
            let update = OrgUpdate {
                name: name.as_deref(),
                kind,
                description: clearable(&description),
                website: clearable(&website),
                logo: clearable(&logo),
            };
            let updated = accounts.update_org(&operator(), &org, &update)?;
            println!("Updated organization {} ({}, {}).", updated.id, updated.name, updated.kind);
        }
        OrgCommand::List { data_dir } => {
            let accounts = open(&data_dir)?;
            let default = accounts.store().catalog().default_org()?;
            let datasets = accounts.store().list_datasets()?;
            for org in accounts.orgs()? {
                let mark = if org.id == default { "  (default)" } else { "" };
                let count = datasets.iter().filter(|d| d.organization == org.id).count();
                let website = org.website.as_deref().unwrap_or("-");
                let unit = if count == 1 { "dataset" } else { "datasets" };
                println!("{}\t{}\t{}{mark}\t{count} {unit}\t{website}", org.id, org.kind, org.name);
            }
        }
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .context("cannot read the password from standard input")?;
    let line = text.lines().next().unwrap_or_default().to_owned();
    if line.is_empty() {
        bail!(
            "--password-stdin: standard input is empty; pipe the password in, e.g. `printf '%s' \"$PASSWORD\" | kleber user create ...`"
        );
    }
    Ok(line)
}

pub(crate) fn run_user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { email, name, admin, password_stdin, data_dir } => {
            let password = if password_stdin { Some(read_password()?) } else { None };
            let accounts = open(&data_dir)?;
            let user = accounts.create_user(
                &operator(),
                &email,
                name.as_deref(),
                admin,
                password.as_deref(),
            )?;
            let role = if user.admin { ", portal admin" } else { "" };
            println!("Created user {} ({}{role}).", user.email, user.name);
        }
        UserCommand::Invite { email, org, role, url, lang, smtp, data_dir } => {
            // Checked before anything is written: bad mail flags change nothing.
            let mailer = smtp.mailer().map_err(anyhow::Error::msg)?;
            let accounts = open(&data_dir)?;
            let invitation = accounts.invite(&operator(), &email, &org, role)?;
            eprintln!(
                "Invited {email} as {role} of {org}. Send them this one-time link, valid until {}:",
                invitation.expires_at
            );
            let link = format!("{}/invitation/{}", url.trim_end_matches('/'), invitation.token);
            println!("{link}");
            if let Some(mailer) = mailer {
                let org_name = accounts
                    .store()
                    .catalog()
                    .get_org(&org)?
                    .map_or_else(|| org.clone(), |o| o.name);
                let words = kleber_web::admin::AdminMessages::of(if lang == "en" {
                    kleber_web::Lang::En
                } else {
                    kleber_web::Lang::Fr
                });
                let mail = crate::mail::InvitationMail {
                    to: &email,
                    link: &link,
                    org: &org_name,
                    role: words.role(role.as_str()),
                    expires_at: &invitation.expires_at,
                    lang: &lang,
                };
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                // A mail that cannot be sent is reported; the invitation stands.
                match runtime.block_on(mailer.send_invitation(&mail)) {
                    Ok(()) => eprintln!("The link was also sent to {email} by mail."),
                    Err(e) => eprintln!(
                        "warning: the invitation mail to {email} was not sent ({e}); send the link above yourself."
                    ),
                }
            }
        }
        UserCommand::Disable { email, data_dir } => {
            let user = open(&data_dir)?.disable_user(&operator(), &email)?;
            println!("Disabled user {}: its keys and sessions no longer work.", user.email);
        }
    }
    Ok(())
}

pub(crate) fn run_member(command: MemberCommand) -> anyhow::Result<()> {
    match command {
        MemberCommand::Add { org, email, role, data_dir } => {
            open(&data_dir)?.set_member(&operator(), &org, &email, role)?;
            println!("{email} is now {role} of {org}.");
        }
        MemberCommand::Remove { org, email, data_dir } => {
            open(&data_dir)?.remove_member(&operator(), &org, &email)?;
            println!("{email} is no longer a member of {org}.");
        }
    }
    Ok(())
}

pub(crate) fn run_key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create { email, name, mut scopes, expires, data_dir } => {
            if scopes.is_empty() {
                scopes.push(Scope::Read);
            }
            let created =
                open(&data_dir)?.create_key(&operator(), &email, &name, &scopes, expires)?;
            let record = &created.record;
            let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "Created API key {} \"{}\" for {} (scopes: {}; expires: {}). It is shown once, below:",
                record.id,
                record.name,
                record.user_email,
                scopes.join(", "),
                record.expires_at.as_deref().unwrap_or("never"),
            );
            println!("{}", created.key);
        }
        KeyCommand::Revoke { key_id, data_dir } => {
            let key_id = key_id.strip_prefix(kleber_app::accounts::KEY_PREFIX).unwrap_or(&key_id);
            let record = open(&data_dir)?.revoke_key(&operator(), key_id)?;
            println!(
                "Revoked API key {} of {} (at {}).",
                record.id,
                record.user_email,
                record.revoked_at.as_deref().unwrap_or("?")
            );
        }
        KeyCommand::List { email, data_dir } => {
            let keys = open(&data_dir)?.keys(email.as_deref())?;
            println!("id\towner\tname\tscopes\tcreated\texpires\tlast used\tstate");
            let now = chrono::Utc::now();
            for k in keys {
                let expired = k
                    .expires_at
                    .as_deref()
                    .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
                    .is_some_and(|at| at <= now);
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else if expired {
                    "expired"
                } else {
                    "active"
                };
                let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{state}",
                    k.id,
                    k.user_email,
                    k.name,
                    scopes.join(","),
                    k.created_at,
                    k.expires_at.as_deref().unwrap_or("never"),
                    k.last_used_at.as_deref().unwrap_or("never"),
                );
            }
        }
    }
    Ok(())
}

pub(crate) fn run_dataset(command: DatasetCommand) -> anyhow::Result<()> {
    match command {
        DatasetCommand::Set { id, visibility, org, data_dir } => {
            if visibility.is_none() && org.is_none() {
                bail!(
                    "nothing to change: give --visibility public|restricted|draft and/or --org ORG"
                );
            }
            let accounts = open(&data_dir)?;
            if let Some(org) = &org {
                accounts.set_dataset_org(&operator(), &id, org)?;
                println!("Dataset {id} now belongs to {org}.");
            }
            if let Some(visibility) = visibility {
                accounts.set_visibility(&operator(), &id, visibility)?;
                println!("Dataset {id} is now {visibility}.");
            }
        }
        DatasetCommand::Rule { id, hide, condition, clear, data_dir } => {
            run_rule(&id, hide, condition, clear, &data_dir)?;
        }
        DatasetCommand::Grant { id, email, data_dir } => {
            open(&data_dir)?.grant(&operator(), &id, &email)?;
            println!("{email} may now read dataset {id}.");
        }
        DatasetCommand::PushKey { id, revoke, data_dir } => {
            let accounts = open(&data_dir)?;
            if revoke {
                let n = kleber_app::push::revoke_keys(accounts.store(), &operator(), &id)?;
                let unit = if n == 1 { "key" } else { "keys" };
                println!("Revoked {n} push {unit} of dataset {id}.");
            } else {
                let key = kleber_app::push::create_key(accounts.store(), &operator(), &id)?;
                eprintln!(
                    "Push key of dataset {id} (shown only now; revoke with `kleber dataset \
                     push-key {id} --revoke`):"
                );
                println!("{key}");
            }
        }
    }
    Ok(())
}

/// `kleber dataset rule`: prints the rule, or sets or clears it through the application
/// layer (which checks it against the dataset's fields and writes the audit log).
fn run_rule(
    id: &str,
    hide: Vec<String>,
    condition: Option<String>,
    clear: bool,
    data_dir: &DataDir,
) -> anyhow::Result<()> {
    let (app, runtime) = crate::cli::open_app(data_dir)?;
    let ctx = kleber_app::RequestContext::operator();
    runtime.block_on(async {
        if !clear && hide.is_empty() && condition.is_none() {
            let version = app.dataset(&ctx, id).await.map_err(crate::cli::cli_error)?;
            print_rule(id, version.record().rule.as_ref());
            return Ok(());
        }
        let rule = (!clear).then_some(kleber_store::AccessRule { hidden: hide, condition });
        app.set_rule(&ctx, &operator(), id, rule).await.map_err(|e| match e {
            kleber_app::Error::BadParameter(message) => {
                anyhow::anyhow!("{message}; nothing was changed")
            }
            e => crate::cli::cli_error(e),
        })?;
        let version = app.dataset(&ctx, id).await.map_err(crate::cli::cli_error)?;
        print_rule(id, version.record().rule.as_ref());
        Ok(())
    })
}

fn print_rule(id: &str, rule: Option<&kleber_store::AccessRule>) {
    match rule {
        None => println!("Dataset {id} has no rule: everyone who reads it sees it whole."),
        Some(rule) => {
            println!("Dataset {id}: outsiders (who read it only because it is public) see");
            if rule.hidden.is_empty() {
                println!("  every field");
            } else {
                println!("  every field but: {}", rule.hidden.join(", "));
            }
            match &rule.condition {
                Some(condition) => println!("  only the records where: {condition}"),
                None => println!("  every record"),
            }
        }
    }
}
