//! Spare schemas: made ahead of time, claimed by provisioning, given back by
//! a failed creation, dropped when outdated, kept topped up.

mod support;

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use support::{TestResult, count, names, new_tenant, provision, store, store_with};
use taskforce_domain::{SchemaName, StoreError, StoreExt};
use taskforce_persistence::{PgStore, SPARE_PREFIX, SpareFilter, TenantMigrator};

fn spare_rows(store: &PgStore) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut conn = store.pool().get()?;
    Ok(names(&mut conn, "SELECT name AS name FROM public.spare_schemas ORDER BY name")?)
}

fn spare_namespaces(store: &PgStore) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut conn = store.pool().get()?;
    Ok(names(
        &mut conn,
        "SELECT nspname::text AS name FROM pg_namespace WHERE nspname LIKE 'tenant\\_\\_spare\\_%' ORDER BY 1",
    )?)
}

fn tenants(store: &PgStore) -> Result<i64, Box<dyn std::error::Error>> {
    let mut conn = store.pool().get()?;
    Ok(count(&mut conn, "SELECT count(*) AS n FROM public.tenants")?)
}

/// A task written and read back through the tenant scope: the schema is a
/// working tenant schema, not just a name.
fn write_and_read(store: &PgStore, schema: &SchemaName, title: &str) -> Result<String, StoreError> {
    use diesel::{RunQueryDsl, sql_types::Text};
    #[derive(diesel::QueryableByName)]
    struct Title {
        #[diesel(sql_type = Text)]
        title: String,
    }
    store.in_tenant_scope(schema, |conn| {
        conn.batch_execute(&format!(
            "INSERT INTO projects (name, description, owner_id) VALUES ('p', '', 1); \
             INSERT INTO tasks (project_id, title, description, created_by) \
             SELECT id, '{title}', '', 1 FROM projects LIMIT 1"
        ))
        .map_err(|e| StoreError::internal(e.to_string()))?;
        let row: Title = diesel::sql_query("SELECT title FROM tasks ORDER BY id DESC LIMIT 1")
            .get_result(conn)
            .map_err(|e| StoreError::internal(e.to_string()))?;
        Ok(row.title)
    })
}

#[test]
fn a_new_tenant_takes_a_spare_and_its_schema_works() -> TestResult {
    let (_db, store) = store(2)?;
    assert_eq!(store.top_up_spares(2, &|_| {})?, 2);
    let before = spare_rows(&store)?;
    assert_eq!(before.len(), 2);
    assert!(before.iter().all(|name| name.starts_with(SPARE_PREFIX)), "{before:?}");
    assert_eq!(spare_namespaces(&store)?, before);

    let tenant = provision(&store, "acme")?;
    assert_eq!(tenant.schema_name.as_str(), "tenant_acme");
    assert_eq!(tenant.schema_version.as_deref(), Some(store.migrator().latest_version()));
    // the first spare was renamed: its row and its name are gone, the other stays
    assert_eq!(spare_rows(&store)?, before[1..].to_vec());
    assert_eq!(spare_namespaces(&store)?, before[1..].to_vec());
    let mut conn = store.pool().get()?;
    let version: Vec<String> =
        names(&mut conn, "SELECT schema_version AS name FROM public.tenants WHERE slug = 'acme'")?;
    assert_eq!(version, vec![store.migrator().latest_version().to_owned()]);
    let applied = count(&mut conn, "SELECT count(*) AS n FROM tenant_acme.__diesel_schema_migrations")?;
    assert_eq!(
        applied,
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/tenant"))?.count() as i64
    );
    drop(conn);
    assert_eq!(write_and_read(&store, &tenant.schema_name, "from a spare")?, "from a spare");
    Ok(())
}

#[test]
fn with_no_spare_the_schema_is_built_and_no_tenant_id_is_spent() -> TestResult {
    let (_db, store) = store(2)?;
    let first = provision(&store, "first")?;
    let second = provision(&store, "second")?;
    assert_eq!(second.id.0, first.id.0 + 1, "the spare attempt must not draw an id");
    assert_eq!(write_and_read(&store, &second.schema_name, "built")?, "built");
    assert!(spare_rows(&store)?.is_empty());
    Ok(())
}

#[test]
fn a_failed_creation_gives_the_spare_back() -> TestResult {
    let (_db, store) = store(2)?;
    store.top_up_spares(1, &|_| {})?;
    let before = spare_rows(&store)?;
    let failed = store.provision(&new_tenant("acme")?, |_, _| {
        Err::<(), _>(StoreError::Unavailable("owner could not be added".into()))
    });
    assert!(matches!(failed, Err(StoreError::Unavailable(_))), "{failed:?}");
    assert_eq!(spare_rows(&store)?, before);
    assert_eq!(spare_namespaces(&store)?, before);
    assert_eq!(tenants(&store)?, 0);
    let mut conn = store.pool().get()?;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'tenant_acme'")?, 0);
    Ok(())
}

#[test]
fn a_clash_with_a_stray_schema_is_refused_and_keeps_the_spare() -> TestResult {
    let (_db, store) = store(2)?;
    store.pool().get()?.batch_execute("CREATE SCHEMA tenant_ghost; CREATE TABLE tenant_ghost.secrets (x int)")?;
    store.top_up_spares(1, &|_| {})?;
    let before = spare_rows(&store)?;
    let refused = store.provision(&new_tenant("ghost")?, |_, _| Ok::<_, StoreError>(()));
    assert!(refused.as_ref().is_err_and(|e| e.is_duplicate_of(&taskforce_domain::Unique::Schema)), "{refused:?}");
    assert_eq!(spare_rows(&store)?, before);
    assert_eq!(tenants(&store)?, 0);
    let mut conn = store.pool().get()?;
    // the stray schema is untouched, not adopted
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM tenant_ghost.secrets")?, 0);
    Ok(())
}

#[test]
fn concurrent_creations_share_the_spares_and_all_succeed() -> TestResult {
    let (_db, store) = store(8)?;
    store.top_up_spares(3, &|_| {})?;
    let created: Vec<Result<SchemaName, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|n| {
                let store = &store;
                scope
                    .spawn(move || provision(store, &format!("t{n}")).map(|t| t.schema_name).map_err(|e| e.to_string()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("panicked".into()))).collect()
    });
    for (n, schema) in created.into_iter().enumerate() {
        let schema = schema?;
        assert_eq!(schema.as_str(), format!("tenant_t{n}"));
        assert_eq!(write_and_read(&store, &schema, &format!("t{n}"))?, format!("t{n}"));
    }
    assert!(spare_rows(&store)?.is_empty());
    assert!(spare_namespaces(&store)?.is_empty());
    assert_eq!(tenants(&store)?, 6);
    Ok(())
}

#[test]
fn only_spares_at_this_builds_version_are_claimed_and_outdated_ones_are_dropped() -> TestResult {
    let (_db, store) = store(2)?;
    store.top_up_spares(3, &|_| {})?;
    let spares = spare_rows(&store)?;
    let mut conn = store.pool().get()?;
    conn.batch_execute(&format!(
        "UPDATE public.spare_schemas SET schema_version = '0000' WHERE name = '{}'; \
         UPDATE public.spare_schemas SET schema_version = '9999' WHERE name = '{}'",
        spares[0], spares[1]
    ))?;
    drop(conn);
    let stock = store.spare_stock()?;
    assert_eq!(stock.ready, 1);
    assert_eq!(stock.other_versions, vec![("0000".to_owned(), 1), ("9999".to_owned(), 1)]);

    // the one ready spare is taken, not the older nor the newer one
    provision(&store, "acme")?;
    assert_eq!(spare_rows(&store)?, spares[..2].to_vec());

    assert_eq!(store.drop_spares(SpareFilter::Outdated, &|| {})?, 1);
    assert_eq!(spare_rows(&store)?, vec![spares[1].clone()]);
    assert_eq!(spare_namespaces(&store)?, vec![spares[1].clone()]);
    assert_eq!(store.drop_spares(SpareFilter::All, &|| {})?, 1);
    assert!(spare_namespaces(&store)?.is_empty());
    // tenants are never touched
    assert_eq!(tenants(&store)?, 1);
    Ok(())
}

#[test]
fn topping_up_makes_only_what_is_missing_and_a_broken_migration_leaves_no_spare() -> TestResult {
    let (_db, store) = store(2)?;
    let made = std::sync::Mutex::new(Vec::new());
    assert_eq!(store.top_up_spares(2, &|name| made.lock().map(|mut m| m.push(name.to_string())).unwrap_or(()))?, 2);
    assert_eq!(made.into_inner()?, spare_rows(&store)?);
    assert_eq!(store.top_up_spares(2, &|_| {})?, 0);
    assert_eq!(store.top_up_spares(3, &|_| {})?, 1);

    let (_dir, broken) = support::migrations_with(&[(
        "2099-01-01-000001_broken",
        "CREATE TABLE made_first (id int);\nSELECT * FROM no_such_table;",
    )])?;
    let (_db2, broken) = store_with(2, broken)?;
    assert!(broken.top_up_spares(1, &|_| {}).is_err());
    assert!(spare_rows(&broken)?.is_empty());
    assert!(spare_namespaces(&broken)?.is_empty());
    Ok(())
}

#[test]
fn the_background_filler_replaces_what_provisioning_takes() -> TestResult {
    let (db, plain) = store(4)?;
    let kept = PgStore::new(plain.pool().clone(), TenantMigrator::embedded()?).with_spare_schemas(2);
    let wait_for = |wanted: usize| -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rows = spare_rows(&plain)?;
            if rows.len() == wanted || Instant::now() > deadline {
                return Ok(rows);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let first = wait_for(2)?;
    assert_eq!(first.len(), 2, "the filler makes the spares at start");
    provision(&kept, "acme")?;
    let after = wait_for(2)?;
    assert_eq!(after.len(), 2, "the filler replaces the one taken");
    assert!(!after.contains(&first[0]), "the first spare became tenant_acme: {after:?}");
    drop(kept);
    drop(db);
    Ok(())
}

#[test]
fn a_spare_row_whose_schema_is_gone_is_skipped_not_claimed() -> TestResult {
    let (_db, store) = store(2)?;
    store.top_up_spares(2, &|_| {})?;
    let spares = spare_rows(&store)?;
    // someone dropped the first spare's schema by hand; its row stayed
    store.pool().get()?.batch_execute(&format!("DROP SCHEMA {} CASCADE", spares[0]))?;
    // it is not counted as ready, and topping up to 2 makes one more
    assert_eq!(store.spare_stock()?.ready, 1);
    assert_eq!(store.top_up_spares(2, &|_| {})?, 1);
    assert_eq!(store.spare_stock()?.ready, 2);
    let tenant = provision(&store, "acme")?;
    assert_eq!(write_and_read(&store, &tenant.schema_name, "second spare")?, "second spare");
    // a whole spare was taken; the broken row is left for `spares clear`
    assert_eq!(spare_rows(&store)?.len(), 2);
    assert!(spare_rows(&store)?.contains(&spares[0]));
    provision(&store, "beta")?;
    assert_eq!(store.drop_spares(SpareFilter::All, &|| {})?, 1);
    assert!(spare_rows(&store)?.is_empty());
    Ok(())
}

/// The filler's lock lives in a transaction, never in a session (so it
/// holds behind PgBouncer in transaction mode): while another transaction
/// holds it, topping up makes nothing and reports no error; once that
/// transaction ends, topping up works on the same connections.
#[test]
fn a_filler_busy_elsewhere_makes_nothing_and_leaves_no_lock_behind() -> TestResult {
    let (db, store) = store(2)?;
    let mut other = store.pool().get()?;
    other.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(1952871280, 0)")?;
    assert_eq!(store.top_up_spares(2, &|_| {})?, 0);
    assert!(matches!(store.make_spare(), Err(StoreError::Unavailable(_))));
    other.batch_execute("COMMIT")?;
    drop(other);
    assert_eq!(store.top_up_spares(2, &|_| {})?, 2);
    // no session lock is left on a pooled connection: a new session takes it at once
    let mut check = taskforce_persistence::connect(&taskforce_persistence::PoolSettings::new(db.url()))?;
    let free = names(&mut check, "SELECT pg_try_advisory_lock(1952871280, 0)::text AS name")?;
    assert_eq!(free, vec!["true".to_owned()]);
    check.batch_execute("SELECT pg_advisory_unlock(1952871280, 0)")?;
    Ok(())
}
