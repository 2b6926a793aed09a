//! Tenant provisioning and removal as one unit.

mod support;

use diesel::connection::SimpleConnection;
use support::{TestResult, count, migrations_with, names, new_tenant, provision, store, store_with};
use taskforce_domain::{HostName, Store, StoreError, StoreExt, TenantDomain};

fn schemas_named(store: &taskforce_persistence::PgStore, schema: &str) -> Result<i64, Box<dyn std::error::Error>> {
    let mut conn = store.pool().get()?;
    Ok(count(&mut conn, &format!("SELECT count(*) AS n FROM pg_namespace WHERE nspname = '{schema}'"))?)
}

fn shared_rows(store: &taskforce_persistence::PgStore) -> Result<(i64, i64), Box<dyn std::error::Error>> {
    let mut conn = store.pool().get()?;
    Ok((
        count(&mut conn, "SELECT count(*) AS n FROM public.tenants")?,
        count(&mut conn, "SELECT count(*) AS n FROM public.domains")?,
    ))
}

#[test]
fn provisioning_creates_row_domains_and_a_migrated_schema() -> TestResult {
    let (_db, store) = store(2)?;
    let tenant = provision(&store, "acme")?;
    assert_eq!(tenant.schema_name.as_str(), "tenant_acme");
    assert_eq!(tenant.schema_version.as_deref(), Some(store.migrator().latest_version()));
    assert_eq!(schemas_named(&store, "tenant_acme")?, 1);
    let domains = store.platform(|tx| tx.domains().list(Some(tenant.id)))?;
    assert_eq!(
        domains,
        vec![TenantDomain { domain: HostName::parse("acme.localhost")?, tenant_id: tenant.id, is_primary: true }]
    );
    let mut conn = store.pool().get()?;
    let applied = count(&mut conn, "SELECT count(*) AS n FROM tenant_acme.__diesel_schema_migrations")?;
    let on_disk = |dir: &str| -> Result<i64, std::io::Error> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(dir);
        Ok(std::fs::read_dir(path)?.count() as i64)
    };
    assert_eq!(applied, on_disk("tenant")?);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM public.__diesel_schema_migrations")?, on_disk("public")?);
    Ok(())
}

#[test]
fn a_failure_in_the_last_migration_leaves_no_schema_and_no_row_and_a_retry_succeeds() -> TestResult {
    let (_dir, broken) = migrations_with(&[(
        "2099-01-01-000001_broken",
        "CREATE TABLE made_first (id int);\nSELECT * FROM no_such_table;",
    )])?;
    let (_db, store) = store_with(2, broken)?;
    let failed = store.provision(&new_tenant("acme")?, |_, _| Ok::<_, StoreError>(()));
    let Err(error) = failed else {
        return Err("the broken migration must fail provisioning".into());
    };
    let message = error.to_string();
    assert!(message.contains("no_such_table"), "{message}");
    assert_eq!(schemas_named(&store, "tenant_acme")?, 0);
    assert_eq!(shared_rows(&store)?, (0, 0));

    // the same command, with migrations that work, then succeeds
    let fixed =
        taskforce_persistence::PgStore::new(store.pool().clone(), taskforce_persistence::TenantMigrator::embedded()?);
    provision(&fixed, "acme")?;
    assert_eq!(schemas_named(&store, "tenant_acme")?, 1);
    assert_eq!(shared_rows(&store)?, (1, 1));
    Ok(())
}

#[test]
fn a_failure_after_the_schema_is_made_rolls_everything_back() -> TestResult {
    let (_db, store) = store(2)?;
    let failed = store.provision(&new_tenant("acme")?, |_, _| {
        Err::<(), _>(StoreError::Unavailable("owner could not be added".into()))
    });
    assert!(matches!(failed, Err(StoreError::Unavailable(_))));
    assert_eq!(schemas_named(&store, "tenant_acme")?, 0);
    assert_eq!(shared_rows(&store)?, (0, 0));
    Ok(())
}

#[test]
fn clashes_are_refused_and_change_nothing() -> TestResult {
    let (_db, store) = store(2)?;
    provision(&store, "my-team")?;
    // same slug
    let again = store.provision(&new_tenant("my-team")?, |_, _| Ok::<_, StoreError>(()));
    assert!(again.is_err_and(|e| e.is_duplicate_of(&taskforce_domain::Unique::Slug)));
    // another slug mapping to the same schema name
    let mut clash = new_tenant("my_team")?;
    clash.domains = vec![HostName::parse("other.localhost")?];
    let clashed = store.provision(&clash, |_, _| Ok::<_, StoreError>(()));
    assert!(clashed.is_err_and(|e| e.is_duplicate_of(&taskforce_domain::Unique::SchemaName)));
    // a taken domain
    let mut taken = new_tenant("other")?;
    taken.domains = vec![HostName::parse("my-team.localhost")?];
    let refused = store.provision(&taken, |_, _| Ok::<_, StoreError>(()));
    assert!(refused.is_err_and(|e| e.is_duplicate_of(&taskforce_domain::Unique::Domain)));
    assert_eq!(shared_rows(&store)?, (1, 1));
    assert_eq!(schemas_named(&store, "tenant_other")?, 0);
    Ok(())
}

#[test]
fn an_orphan_schema_is_reported_not_adopted() -> TestResult {
    let (_db, store) = store(2)?;
    store.pool().get()?.batch_execute("CREATE SCHEMA tenant_ghost; CREATE TABLE tenant_ghost.secrets (x int)")?;
    let refused = store.provision(&new_tenant("ghost")?, |_, _| Ok::<_, StoreError>(()));
    assert!(refused.is_err_and(|e| e.is_duplicate_of(&taskforce_domain::Unique::Schema)));
    assert_eq!(shared_rows(&store)?, (0, 0));
    Ok(())
}

#[test]
fn deprovisioning_removes_schema_row_domains_and_memberships() -> TestResult {
    let (_db, store) = store(2)?;
    let keep = provision(&store, "keep")?;
    let gone = provision(&store, "gone")?;
    let memberships = |store: &taskforce_persistence::PgStore| -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut conn = store.pool().get()?;
        Ok(names(
            &mut conn,
            "SELECT t.slug || ':' || u.username AS name FROM public.memberships m \
             JOIN public.tenants t ON t.id = m.tenant_id JOIN public.users u ON u.id = m.user_id ORDER BY 1",
        )?)
    };
    store.pool().get()?.batch_execute(&format!(
        "INSERT INTO public.users (id, username, email, password_hash) VALUES (7, 'ada', 'ada@example.com', 'x'); \
         INSERT INTO public.memberships (tenant_id, user_id, role) VALUES ({}, 7, 'owner'), ({}, 7, 'member')",
        keep.id.0, gone.id.0
    ))?;
    assert_eq!(memberships(&store)?, ["gone:ada", "keep:ada"]);

    assert!(store.deprovision(gone.id)?, "its schema was there to drop");
    assert_eq!(schemas_named(&store, "tenant_gone")?, 0);
    assert_eq!(schemas_named(&store, "tenant_keep")?, 1);
    assert_eq!(shared_rows(&store)?, (1, 1));
    assert_eq!(memberships(&store)?, ["keep:ada"], "the other tenant's membership and the account stay");
    assert_eq!(store.platform(|tx| tx.tenants().get(gone.id))?, None);
    assert!(store.platform(|tx| tx.tenants().get(keep.id))?.is_some());
    assert!(matches!(store.deprovision(gone.id), Err(StoreError::NotFound)));
    // a tenant whose schema was dropped by hand goes, and says its schema was not there
    let bare = provision(&store, "bare")?;
    store.pool().get()?.batch_execute("DROP SCHEMA tenant_bare CASCADE")?;
    assert!(!store.deprovision(bare.id)?);
    assert_eq!(store.platform(|tx| tx.tenants().get(bare.id))?, None);
    Ok(())
}

/// With fresh provisioning connections, creating a tenant uses a connection
/// of its own (closed afterwards, so no pooled backend accumulates every
/// schema's catalogs): it succeeds while the whole pool is taken, where a
/// store provisioning from the pool waits and gives up.
#[test]
fn provisioning_on_fresh_connections_needs_nothing_from_the_pool() -> TestResult {
    use std::time::Duration;
    use taskforce_persistence::{PgStore, PoolSettings, TenantMigrator, build_pool};

    let (db, _) = store(1)?;
    let mut settings = PoolSettings::new(db.url());
    settings.max_size = 1;
    settings.checkout_timeout = Duration::from_millis(300);
    let pool = build_pool(&settings)?;
    let pooled = PgStore::new(pool.clone(), TenantMigrator::embedded()?);
    let fresh = pooled.clone().with_fresh_provisioning_connections(settings);

    let held = pool.get()?;
    assert!(provision(&pooled, "waits").is_err(), "the pool's only connection is taken");
    provision(&fresh, "acme")?;
    drop(held);
    assert_eq!(schemas_named(&pooled, "tenant_acme")?, 1);
    assert_eq!(schemas_named(&pooled, "tenant_waits")?, 0);
    Ok(())
}
