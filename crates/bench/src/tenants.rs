//! Tenant provisioning and `migrate` over many tenants.

use std::{path::Path, sync::Arc, time::Instant};

use anyhow::Context;
use diesel_migrations::FileBasedMigrations;
use taskforce_application::TenantAdmin;
use taskforce_domain::{HostName, NewTenant, Plan, Slug, Store, TenantName};
use taskforce_persistence::{PgStore, PoolSettings, TenantMigrator, build_pool, connect, migrate_shared};
use taskforce_pgcluster::TestDatabase;

use crate::stats::{Samples, ms};

/// Creates `count` tenants, building each schema; then makes `spares`
/// spare schemas and creates as many tenants from them; then runs a no-op
/// migrate and a one-migration migrate over all of them with each number of
/// jobs.
pub fn run(count: usize, spares: usize, jobs: &[usize]) -> anyhow::Result<()> {
    let db = TestDatabase::create().context("creating the benchmark database")?;
    let mut settings = PoolSettings::new(db.url());
    settings.max_size = jobs.iter().copied().max().unwrap_or(1) as u32 + 1;
    migrate_shared(&mut connect(&settings)?)?;
    let pool = build_pool(&settings)?;
    let store = Arc::new(
        PgStore::new(pool.clone(), TenantMigrator::embedded()?).with_fresh_provisioning_connections(settings.clone()),
    );
    let dyn_store: Arc<dyn Store> = store.clone();
    let admin = TenantAdmin::new(dyn_store);
    println!("database: {} (PostgreSQL at {})", db.name(), db.server_url());

    let started = Instant::now();
    let built = create(&admin, 0..count)?;
    println!(
        "create tenant, schema built (row + domain + migrated schema): {} (total {:.1}s)",
        built.line(),
        started.elapsed().as_secs_f64()
    );

    if spares > 0 {
        let started = Instant::now();
        let made = store.top_up_spares(spares, &|_| {})?;
        anyhow::ensure!(made == spares, "made {made} of {spares} spare schemas");
        println!(
            "make {spares} spare schemas (one connection, in the background in production): {:.1} ms each",
            started.elapsed().as_secs_f64() * 1e3 / spares as f64
        );
        let started = Instant::now();
        let claimed = create(&admin, count..count + spares)?;
        anyhow::ensure!(store.spare_stock()?.ready == 0, "some tenants did not take a spare");
        println!(
            "create tenant from a spare (row + domain + renamed schema): {} (total {:.1}s)",
            claimed.line(),
            started.elapsed().as_secs_f64()
        );
    }

    migrate_rounds(db.url(), &store, count + spares, jobs)
}

/// Creates the tenants `bench<i>` for `range`, one at a time, timing each.
fn create(admin: &TenantAdmin, range: std::ops::Range<usize>) -> anyhow::Result<Samples> {
    let mut timings = Vec::with_capacity(range.len());
    let total = range.len();
    for (n, i) in range.enumerate() {
        let new = NewTenant {
            slug: Slug::parse(&format!("bench{i:05}"))?,
            name: TenantName::parse(&format!("Bench {i}"))?,
            plan: Plan::Free,
            allow_signup: false,
            domains: vec![HostName::parse(&format!("bench{i:05}.localhost"))?],
        };
        let one = Instant::now();
        admin.create(&new)?;
        timings.push(one.elapsed());
        if (n + 1) % 250 == 0 {
            eprintln!("  created {}/{total}", n + 1);
        }
    }
    Ok(Samples::new(timings))
}

/// `migrate` over `count` tenants that are all current: a no-op with each
/// number of jobs, then one new migration (a column and an index on
/// `projects`) with each.
pub fn migrate_rounds(url: &str, store: &PgStore, count: usize, jobs: &[usize]) -> anyhow::Result<()> {
    let mut settings = PoolSettings::new(url);
    settings.max_size = jobs.iter().copied().max().unwrap_or(1) as u32 + 1;
    let pool = build_pool(&settings)?;
    for &j in jobs {
        let migrator = store.migrator();
        let one = Instant::now();
        let report = migrator.migrate_all_on_fresh_connections(&pool, &settings, j, &|_| {})?;
        anyhow::ensure!(report.failed.is_empty() && report.migrated.is_empty(), "a no-op migrate did work: {report:?}");
        println!("no-op migrate over {count} tenants, --jobs {j}: {:.1} ms", ms(one.elapsed()));
    }

    for (round, &j) in jobs.iter().enumerate() {
        let dir = tempfile::tempdir()?;
        copy_migrations(dir.path())?;
        for extra in 0..=round {
            let name = format!("2099-01-01-{:06}_bench_{extra}", extra + 1);
            let target = dir.path().join(name);
            std::fs::create_dir(&target)?;
            std::fs::write(
                target.join("up.sql"),
                format!(
                    "ALTER TABLE projects ADD COLUMN bench_{extra} integer;\nCREATE INDEX projects_bench_{extra}_idx ON projects (bench_{extra});"
                ),
            )?;
            std::fs::write(target.join("down.sql"), format!("ALTER TABLE projects DROP COLUMN bench_{extra};"))?;
        }
        let migrator = TenantMigrator::from_source(Arc::new(FileBasedMigrations::from_path(dir.path())?))?;
        let one = Instant::now();
        let report = migrator.migrate_all_on_fresh_connections(&pool, &settings, j, &|_| {})?;
        anyhow::ensure!(report.failed.is_empty(), "migrations failed: {:?}", report.failed);
        anyhow::ensure!(report.migrated.len() == count, "migrated {} of {count}", report.migrated.len());
        println!("one new migration over {count} tenants, --jobs {j}: {:.2} s", one.elapsed().as_secs_f64());
    }
    Ok(())
}

fn copy_migrations(into: &Path) -> anyhow::Result<()> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/tenant");
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        let target = into.join(entry.file_name());
        std::fs::create_dir(&target)?;
        for file in std::fs::read_dir(entry.path())? {
            let file = file?;
            std::fs::copy(file.path(), target.join(file.file_name()))?;
        }
    }
    Ok(())
}
