//! `tenant-admin migrate` (and `taskforce migrate`).

use std::{io::IsTerminal, sync::Arc, time::Duration};

use anyhow::{Context as _, bail};
use clap::Args;
use indicatif::ProgressBar;
use taskforce_application::TenantAdmin;
use taskforce_domain::Slug;
use taskforce_persistence::{MigrationEvent, PgPool, PgStore, TenantMigrator, migrate_shared};

use super::{output, parse_slug};
use crate::{
    database::{Database, OnInterrupt},
    services::Shared,
    settings::Settings,
};

/// What to migrate; by default the shared schema, then every tenant.
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// Only the shared (public) schema.
    #[arg(long, conflicts_with_all = ["tenants", "tenant"])]
    shared: bool,
    /// Only the tenant schemas.
    #[arg(long, conflicts_with = "tenant")]
    tenants: bool,
    /// Only this tenant's schema.
    #[arg(long, value_name = "SLUG", value_parser = parse_slug)]
    tenant: Option<Slug>,
    /// Tenant schemas migrated at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    jobs: u32,
}

/// Runs the migration the arguments ask for. Fails (exit 1) when any
/// tenant failed; the others are migrated regardless.
pub fn migrate(settings: &Settings, args: &MigrateArgs) -> anyhow::Result<()> {
    let database = Database::open(&settings.database, OnInterrupt::StopTheCluster)?;
    let mut db_settings = settings.database.clone();
    db_settings.pool_size = args.jobs + 1;
    database.reachable(&db_settings, "tenant-admin migrate")?;
    let pool = database.pool(&db_settings, "tenant-admin migrate")?;
    let migrator = TenantMigrator::embedded()?;
    let everything = !args.shared && !args.tenants && args.tenant.is_none();

    if args.shared || everything {
        let applied =
            migrate_shared(&mut *taskforce_persistence::check_out(&pool).context("connecting to PostgreSQL")?)?;
        output::say(&match applied.len() {
            0 => "shared schema: up to date".to_owned(),
            n => format!("shared schema: applied {n} migration(s): {}", applied.join(", ")),
        });
    }
    if let Some(slug) = &args.tenant {
        let mut conn = taskforce_persistence::check_out(&pool).context("connecting to PostgreSQL")?;
        let target =
            migrator.target(&mut conn, slug.as_str())?.with_context(|| format!("no tenant with the slug '{slug}'"))?;
        let applied = migrator
            .migrate_one(&mut conn, &target)
            .with_context(|| format!("tenant '{slug}'"))?
            .with_context(|| format!("tenant '{slug}' was deleted while it was being migrated"))?;
        drop(conn);
        // its recorded version changed (migrations applied, or a stale
        // record brought up to date): servers must read it again
        if target.version.as_deref() != Some(migrator.latest_version()) {
            forget_hosts(settings, &pool, std::slice::from_ref(slug));
        }
        output::say(&match applied.len() {
            0 => format!("tenant '{slug}': up to date"),
            n => format!("tenant '{slug}': applied {n} migration(s): {}", applied.join(", ")),
        });
    }
    if args.tenants || everything {
        let progress = Progress::new();
        let store = PgStore::new(pool.clone(), migrator.clone())
            .with_fresh_provisioning_connections(database.pool_settings(&db_settings, "tenant-admin migrate"));
        let report = store.migrate_tenants(args.jobs as usize, &|event| progress.on(&event))?;
        progress.finish();
        let changed: Vec<Slug> = report
            .migrated
            .iter()
            .map(|(slug, _)| slug)
            .chain(&report.recorded)
            .filter_map(|slug| Slug::parse(slug).ok())
            .collect();
        forget_hosts(settings, &pool, &changed);
        // tenants deleted during the run are neither migrated nor up to date
        let deleted = match report.deleted.len() {
            0 => String::new(),
            n => format!(", {n} deleted meanwhile"),
        };
        output::say(&format!(
            "tenant schemas: {} migrated, {} up to date, {} failed{deleted} ({:.2} s, {} job(s), target version {})",
            report.migrated.len(),
            report.up_to_date,
            report.failed.len(),
            report.elapsed.as_secs_f64(),
            args.jobs,
            migrator.latest_version()
        ));
        // the summary of failures, after the count (on a terminal the bar
        // also printed each as it came, now scrolled away)
        for (slug, error) in &report.failed {
            crate::stderr_line!("{}", failed_line(slug, error));
        }
        if report.spares_dropped > 0 {
            output::say(&format!(
                "spare schemas: dropped {} made by older migrations; servers make new ones in the background",
                report.spares_dropped
            ));
        }
        if !report.failed.is_empty() {
            bail!(
                "{} tenant schema(s) failed to migrate; they answer 503 until fixed and migrated again",
                report.failed.len()
            );
        }
    }
    output::written()
}

/// Invalidates the migrated tenants' host entries in the shared cache, so
/// servers stop answering `503` for them at once rather than after
/// `cache.tenant_ttl_secs`. Without Redis there is nothing to reach; a
/// failure is a warning, since the entries expire anyway.
fn forget_hosts(settings: &Settings, pool: &PgPool, slugs: &[Slug]) {
    if slugs.is_empty() || settings.redis.url().is_none() {
        return;
    }
    let outcome = Shared::for_operator(settings).and_then(|shared| {
        let store = Arc::new(PgStore::new(pool.clone(), TenantMigrator::embedded()?));
        let admin = TenantAdmin::new(store).with_cache(shared.access_cache(settings));
        let hosts = admin.forget_hosts_of(slugs)?;
        shared.settle();
        Ok(hosts)
    });
    match outcome {
        Ok(hosts) => tracing::debug!(hosts, "invalidated the migrated tenants' cached hosts"),
        Err(error) => {
            crate::stderr_line!("warning: could not invalidate cached hosts ({error:#}); they expire on their own");
        }
    }
}

/// The line that names a tenant whose migration failed.
fn failed_line(slug: &str, error: &impl std::fmt::Display) -> String {
    format!("failed: tenant '{slug}': {error}")
}

/// A progress bar on a terminal; nothing otherwise.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new() -> Self {
        Self(std::io::stderr().is_terminal().then(ProgressBar::hidden))
    }

    fn on(&self, event: &MigrationEvent) {
        let Some(bar) = &self.0 else { return };
        match event {
            MigrationEvent::Planned { pending, .. } => {
                bar.set_length(*pending as u64);
                bar.set_style(output::bar_style(
                    "{spinner} migrating tenants [{bar:40}] {pos}/{len} {rate} eta {eta} {msg}",
                ));
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.enable_steady_tick(Duration::from_millis(120));
            }
            MigrationEvent::Finished { slug, error } => {
                if let Some(error) = error {
                    bar.println(failed_line(slug, error));
                }
                bar.inc(1);
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
