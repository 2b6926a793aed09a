//! Shared set-up for the persistence tests: a database of their own with the
//! shared schema migrated, and small SQL helpers.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::{path::Path, sync::Arc};

use diesel::{
    PgConnection, QueryableByName, RunQueryDsl,
    sql_types::{BigInt, Text},
};
use diesel_migrations::FileBasedMigrations;
use taskforce_domain::{HostName, NewTenant, Plan, Slug, StoreError, StoreExt, Tenant, TenantName};
use taskforce_persistence::{PgStore, PoolSettings, TenantMigrator, build_pool, connect, migrate_shared};
use taskforce_pgcluster::TestDatabase;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A store on a fresh database whose shared schema is migrated.
pub fn store_with(
    pool_size: u32,
    migrator: TenantMigrator,
) -> Result<(TestDatabase, PgStore), Box<dyn std::error::Error>> {
    let db = TestDatabase::create()?;
    let mut settings = PoolSettings::new(db.url());
    settings.max_size = pool_size;
    migrate_shared(&mut connect(&settings)?)?;
    let pool = build_pool(&settings)?;
    Ok((db, PgStore::new(pool, migrator)))
}

pub fn store(pool_size: u32) -> Result<(TestDatabase, PgStore), Box<dyn std::error::Error>> {
    store_with(pool_size, TenantMigrator::embedded()?)
}

pub fn new_tenant(slug: &str) -> Result<NewTenant, Box<dyn std::error::Error>> {
    Ok(NewTenant {
        slug: Slug::parse(slug)?,
        name: TenantName::parse(&format!("Tenant {slug}"))?,
        plan: Plan::Free,
        allow_signup: false,
        domains: vec![HostName::parse(&format!("{slug}.localhost"))?],
    })
}

pub fn provision(store: &PgStore, slug: &str) -> Result<Tenant, Box<dyn std::error::Error>> {
    let (tenant, ()) = store.provision(&new_tenant(slug)?, |_, _| Ok::<_, StoreError>(()))?;
    Ok(tenant)
}

/// The tenant migrations of the repository, copied into a folder, plus
/// `extra` as (directory name, up.sql) pairs.
pub fn migrations_with(
    extra: &[(&str, &str)],
) -> Result<(tempfile::TempDir, TenantMigrator), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/tenant");
    for entry in std::fs::read_dir(source)? {
        let entry = entry?;
        let target = dir.path().join(entry.file_name());
        std::fs::create_dir(&target)?;
        for file in std::fs::read_dir(entry.path())? {
            let file = file?;
            std::fs::copy(file.path(), target.join(file.file_name()))?;
        }
    }
    for (name, up) in extra {
        let target = dir.path().join(name);
        std::fs::create_dir(&target)?;
        std::fs::write(target.join("up.sql"), up)?;
        std::fs::write(target.join("down.sql"), "SELECT 1;")?;
    }
    let migrator = TenantMigrator::from_source(Arc::new(FileBasedMigrations::from_path(dir.path())?))?;
    Ok((dir, migrator))
}

#[derive(Debug, QueryableByName)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

#[derive(Debug, QueryableByName)]
pub struct Name {
    #[diesel(sql_type = Text)]
    pub name: String,
}

pub fn count(conn: &mut PgConnection, sql: &str) -> Result<i64, diesel::result::Error> {
    diesel::sql_query(sql).get_result::<Count>(conn).map(|c| c.n)
}

pub fn names(conn: &mut PgConnection, sql: &str) -> Result<Vec<String>, diesel::result::Error> {
    Ok(diesel::sql_query(sql).load::<Name>(conn)?.into_iter().map(|n| n.name).collect())
}
