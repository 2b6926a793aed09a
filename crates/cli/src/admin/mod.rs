//! `tenant-admin`: what operators do, on the command line. Every command
//! has `--help`; listing commands take `--json`; the exit code is 0 on
//! success, 1 on failure (one line on stderr), 2 on bad usage.

mod django;
mod domains;
mod members;
mod migrate;
mod output;
mod spares;
mod tenants;
mod users;

use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use taskforce_application::{Accounts, TenantAdmin};
use taskforce_auth::{Argon2Hasher, HashCost};
use taskforce_domain::{Email, HostName, HostNameError, Plan, Role, Slug, TenantName, Username};
use taskforce_persistence::{PgStore, TenantMigrator, migrate_shared};

pub use migrate::{MigrateArgs, migrate};

use crate::{
    database::{Database, OnInterrupt},
    settings::Settings,
};

/// The TaskForce operators' tool: tenants, domains, users, members, migrations.
#[derive(Debug, Parser)]
#[command(name = "tenant-admin", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the shared schema, then every tenant schema (or only one part).
    Migrate(MigrateArgs),
    /// Create, list, show, update and delete tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Map host names to tenants.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Create accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Give accounts a role in a tenant.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Make sure the development tenant exists, with self-signup on
    /// (idempotent).
    DevTenant(DevTenantArgs),
    /// Tenant schemas made ahead of time, which new tenants take.
    #[command(subcommand)]
    Spares(spares::SparesCommand),
    /// Bring the Django product's tenants and accounts over (passwords
    /// included); what is here already is left alone, so it can run again.
    ImportDjango(django::ImportDjangoArgs),
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant: its row, domains and migrated schema, as one unit.
    /// It also gets <slug>.<platform_domain>.
    Create(tenants::CreateArgs),
    /// List tenants.
    List(JsonFlag),
    /// Show one tenant.
    Show {
        /// The tenant's slug.
        #[arg(value_parser = parse_slug)]
        slug: Slug,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Change a tenant's name, plan, active flag or signup flag.
    Update(tenants::UpdateArgs),
    /// Delete a tenant: its schema with all data, domains, memberships, row.
    Delete {
        /// The tenant's slug.
        #[arg(value_parser = parse_slug)]
        slug: Slug,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Export a tenant to a file (JSON): settings, domains, members with
    /// their accounts and password hashes, every row of its schema.
    /// Attachments' bytes stay in the file store.
    Export {
        /// The tenant's slug.
        #[arg(value_parser = parse_slug)]
        slug: Slug,
        /// Where to write (created with mode 0600; an existing file is
        /// refused), or `-` for standard output (not a terminal: the export
        /// holds password hashes), to pipe it on (`| gzip`).
        file: std::path::PathBuf,
    },
    /// Import an exported tenant as one unit, under its slug and domains or
    /// under a new slug (then with <new slug>.<platform_domain> only).
    Import {
        /// A file written by `tenant export`, or `-` for stdin (kept in a
        /// temporary file: an import reads its document twice).
        file: std::path::PathBuf,
        /// Import under this slug instead (a copy beside the original).
        #[arg(long, value_parser = parse_new_slug)]
        slug: Option<Slug>,
        /// Keep the user ids no account here matches instead of mapping them
        /// to nobody: only for an export of format 1 or 2 (which lacks the
        /// accounts of former members) restored into the database it came
        /// from; in another database those ids may be other people's.
        /// Refused for later formats, which need no such thing.
        #[arg(long)]
        keep_unmatched_ids: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DomainCommand {
    /// Map a host name to a tenant.
    Add {
        /// The tenant's slug.
        #[arg(value_parser = parse_slug)]
        slug: Slug,
        /// The host name, such as acme.example.com.
        #[arg(value_parser = parse_host)]
        domain: HostName,
        /// Make it the tenant's primary domain.
        #[arg(long)]
        primary: bool,
    },
    /// Unmap a host name.
    Remove {
        /// The host name.
        #[arg(value_parser = parse_host)]
        domain: HostName,
    },
    /// List domains, of one tenant or all.
    List {
        /// Only this tenant's.
        #[arg(value_parser = parse_slug)]
        slug: Option<Slug>,
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. Without --password-stdin a strong password is
    /// generated and printed once.
    Create(users::CreateArgs),
    /// Vouch that an account which registered itself is its holder's (you
    /// checked who registered it): imports then take it for the member of
    /// the same user name and e-mail address.
    Confirm {
        /// The account's user name.
        #[arg(value_parser = parse_username)]
        username: Username,
    },
}

#[derive(Debug, Subcommand)]
enum MemberCommand {
    /// Give an account a role in a tenant.
    Add {
        /// The tenant's slug.
        #[arg(value_parser = parse_slug)]
        slug: Slug,
        /// The account's user name.
        #[arg(value_parser = parse_username)]
        username: Username,
        /// The role.
        #[arg(long, value_name = "owner|admin|member|viewer", value_parser = parse_role)]
        role: Role,
    },
    /// List a tenant's members.
    List {
        /// The tenant's slug.
        #[arg(value_parser = parse_slug)]
        slug: Slug,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// `--json`.
#[derive(Debug, Args)]
struct JsonFlag {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct DevTenantArgs {
    /// The slug.
    #[arg(long, default_value = "dev", value_parser = parse_new_slug)]
    slug: Slug,
    /// The display name.
    #[arg(long, default_value = "Dev Tenant", value_parser = parse_name)]
    name: TenantName,
    /// Domains besides <slug>.<platform_domain> (repeatable).
    #[arg(long = "domain", default_value = "localhost", value_parser = parse_host)]
    domains: Vec<HostName>,
}

/// A slug that names a tenant that may exist: as stored, so a tenant whose
/// slug an earlier build took (`ab--c`) can still be shown, updated,
/// exported or deleted.
pub(super) fn parse_slug(s: &str) -> Result<Slug, String> {
    Slug::from_stored(s).map_err(|e| e.to_string())
}

/// A slug for a tenant to be made: every rule of today's.
pub(super) fn parse_new_slug(s: &str) -> Result<Slug, String> {
    Slug::parse(s).map_err(|e| e.to_string())
}

fn parse_host(s: &str) -> Result<HostName, String> {
    HostName::parse(s).map_err(|error| match error {
        // what an operator most likely meant
        HostNameError::BadChar(':') => format!("{error} (a domain is given without its port)"),
        HostNameError::BadChar(c) if !c.is_ascii() => {
            format!("{error} (write an international name in its ASCII form, xn--…)")
        }
        other => other.to_string(),
    })
}

fn parse_name(s: &str) -> Result<TenantName, String> {
    TenantName::parse(s).map_err(|e| e.to_string())
}

pub(super) fn parse_username(s: &str) -> Result<Username, String> {
    Username::parse(s).map_err(|e| e.to_string())
}

pub(super) fn parse_email(s: &str) -> Result<Email, String> {
    Email::parse(s).map_err(|e| e.to_string())
}

/// A plan in any case (`BASIC`), as slugs and domains are lowered.
fn parse_plan(s: &str) -> Result<Plan, String> {
    s.trim().to_ascii_lowercase().parse().map_err(|e: taskforce_domain::UnknownPlan| e.to_string())
}

/// A role in any case (`Admin`).
fn parse_role(s: &str) -> Result<Role, String> {
    s.trim().to_ascii_lowercase().parse().map_err(|e: taskforce_domain::UnknownRole| e.to_string())
}

/// What commands work with: the store and the use cases over it.
struct Context {
    admin: TenantAdmin,
    store: Arc<PgStore>,
    accounts: Accounts,
    /// What accounts log in with; asked whether an imported hash can be read.
    hasher: Arc<Argon2Hasher>,
    platform_domain: HostName,
    shared: crate::services::Shared,
    /// Kept so the lease on the embedded cluster is let go (and the cluster
    /// stopped, if no other process uses it) at the end.
    _database: Database,
}

impl Context {
    fn open(settings: &Settings, pool_size: u32) -> anyhow::Result<Self> {
        let database = Database::open(&settings.database, OnInterrupt::StopTheCluster)?;
        let mut db_settings = settings.database.clone();
        db_settings.pool_size = pool_size;
        database.reachable(&db_settings, "tenant-admin")?;
        let pool = database.pool(&db_settings, "tenant-admin")?;
        if settings.database.auto_migrate {
            migrate_shared(&mut *taskforce_persistence::check_out(&pool).context("connecting to PostgreSQL")?)?;
        } else {
            crate::database::shared_schema_is_current(&pool)?;
        }
        let store = Arc::new(
            PgStore::new(pool, TenantMigrator::embedded()?)
                .with_fresh_provisioning_connections(database.pool_settings(&db_settings, "tenant-admin")),
        );
        let hasher = Arc::new(Argon2Hasher::new(HashCost::OWASP_MINIMUM)?);
        let platform_domain = HostName::parse(&settings.tenancy.platform_domain).context("tenancy.platform_domain")?;
        // with Redis, changes made here drop the entries every server reads
        let shared = crate::services::Shared::for_operator(settings)?;
        let cache = shared.access_cache(settings);
        Ok(Self {
            admin: TenantAdmin::new(store.clone())
                .with_cache(cache)
                .with_files(crate::services::file_store(&settings.storage)?),
            accounts: Accounts::new(store.clone(), hasher.clone()),
            hasher,
            store,
            platform_domain,
            shared,
            _database: database,
        })
    }
}

/// `tenant-admin` as its binary runs it: settings from the environment,
/// warnings only unless `RUST_LOG` says otherwise, the command, then one
/// `error:` line on failure. The process's exit code: 0, or 1 (2 for a
/// usage error, which clap reports before this runs).
pub fn main(cli: Cli) -> u8 {
    main_with(|settings| run(settings, cli))
}

/// Runs `work` as `tenant-admin` runs its commands ([`main`]); `taskforce
/// migrate` runs `tenant-admin migrate` through it, so that both log,
/// draw their progress and answer an interrupt alike.
pub fn main_with(work: impl FnOnce(&Settings) -> anyhow::Result<()>) -> u8 {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            crate::stderr_line!("error: {error}");
            return 1;
        }
    };
    let mut log = settings.log.clone();
    if std::env::var_os("RUST_LOG").is_none() {
        log.level = "warn".to_owned();
    }
    crate::telemetry::init_silenceable(&log);
    let outcome = work(&settings);
    crate::database::await_interrupt_handler();
    match outcome {
        Ok(()) => 0,
        Err(error) => {
            crate::stderr_line!("error: {error:#}");
            1
        }
    }
}

/// Runs one parsed command.
pub fn run(settings: &Settings, cli: Cli) -> anyhow::Result<()> {
    if let Command::Migrate(args) = &cli.command {
        return migrate(settings, args);
    }
    // it turns self-signup on and reactivates whatever tenant it is given:
    // a development convenience, never wanted on a production fleet
    if matches!(cli.command, Command::DevTenant(_)) && settings.environment == crate::settings::Environment::Production
    {
        anyhow::bail!("dev-tenant is for development; in production use `tenant create` and `tenant update`");
    }
    let ctx = Context::open(settings, 2)?;
    let outcome = dispatch(&ctx, cli, settings);
    ctx.shared.settle();
    // the command's own failure first; then one of writing its output
    outcome.and_then(|()| output::written())
}

fn dispatch(ctx: &Context, cli: Cli, settings: &Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate(_) => Ok(()),
        Command::Tenant(TenantCommand::Create(args)) => tenants::create(ctx, args),
        Command::Tenant(TenantCommand::List(flag)) => tenants::list(ctx, flag.json),
        Command::Tenant(TenantCommand::Show { slug, json }) => tenants::show(ctx, &slug, json.json),
        Command::Tenant(TenantCommand::Update(args)) => tenants::update(ctx, args),
        Command::Tenant(TenantCommand::Delete { slug, yes }) => tenants::delete(ctx, &slug, yes),
        Command::Tenant(TenantCommand::Export { slug, file }) => tenants::export(ctx, &slug, &file),
        Command::Tenant(TenantCommand::Import { file, slug, keep_unmatched_ids }) => {
            tenants::import(ctx, &file, slug.as_ref(), keep_unmatched_ids)
        }
        Command::Domain(DomainCommand::Add { slug, domain, primary }) => domains::add(ctx, &slug, &domain, primary),
        Command::Domain(DomainCommand::Remove { domain }) => domains::remove(ctx, &domain),
        Command::Domain(DomainCommand::List { slug, json }) => domains::list(ctx, slug.as_ref(), json.json),
        Command::User(UserCommand::Create(args)) => users::create(ctx, args),
        Command::User(UserCommand::Confirm { username }) => users::confirm(ctx, &username),
        Command::Member(MemberCommand::Add { slug, username, role }) => members::add(ctx, &slug, &username, role),
        Command::Member(MemberCommand::List { slug, json }) => members::list(ctx, &slug, json.json),
        Command::DevTenant(args) => tenants::dev_tenant(ctx, args),
        Command::Spares(command) => spares::run(ctx, command, settings.database.spare_schemas),
        Command::ImportDjango(args) => django::run(ctx, args),
    }
}
