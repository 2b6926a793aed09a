//! `migrate` over many tenants: parallel, idempotent, and one failure does
//! not stop the others.

mod support;

use std::sync::Mutex;

use diesel::connection::SimpleConnection;
use support::{TestResult, count, migrations_with, provision, store};
use taskforce_domain::{StoreError, StoreExt};
use taskforce_persistence::{MigrationEvent, PgStore, migrate_shared};

#[test]
fn shared_migrations_are_idempotent() -> TestResult {
    let (_db, store) = store(1)?;
    let mut conn = store.pool().get()?;
    assert!(migrate_shared(&mut conn)?.is_empty(), "the helper already migrated; nothing is left to do");
    Ok(())
}

#[test]
fn a_new_migration_reaches_every_tenant_but_the_broken_one_which_is_reported() -> TestResult {
    let (_db, store) = store(4)?;
    for slug in ["a1", "b2", "c3", "d4"] {
        provision(&store, slug)?;
    }
    // nothing to do yet
    let idle = store.migrator().migrate_all(store.pool(), 2, &|_| {})?;
    assert_eq!((idle.up_to_date, idle.migrated.len(), idle.failed.len()), (4, 0, 0));

    // b2 already has the column the new migration adds: its migration fails
    store.in_tenant_scope(&taskforce_domain::Slug::parse("b2")?.schema_name(), |conn| {
        conn.batch_execute("ALTER TABLE projects ADD COLUMN colour text").map_err(StoreError::internal)
    })?;
    let (_dir, next) = migrations_with(&[(
        "2099-01-01-000001_colour",
        "ALTER TABLE projects ADD COLUMN colour text;\nCREATE INDEX projects_colour_idx ON projects (colour);",
    )])?;
    let upgraded = PgStore::new(store.pool().clone(), next);
    let events = Mutex::new(Vec::new());
    let report = upgraded.migrator().migrate_all(upgraded.pool(), 2, &|event| {
        events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    })?;
    let migrated: Vec<&str> = report.migrated.iter().map(|(slug, _)| slug.as_str()).collect();
    assert_eq!(migrated, vec!["a1", "c3", "d4"]);
    assert!(report.migrated.iter().all(|(_, versions)| versions == &vec!["20990101000001".to_owned()]));
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, "b2");
    assert!(report.failed[0].1.contains("colour"), "{}", report.failed[0].1);
    let events = events.into_inner().unwrap_or_else(|p| p.into_inner());
    assert_eq!(events.first(), Some(&MigrationEvent::Planned { pending: 4, tenants: 4 }));
    assert_eq!(events.iter().filter(|e| matches!(e, MigrationEvent::Finished { .. })).count(), 4);

    // the failed tenant is unchanged: old version on its row, no index, no record
    let mut conn = store.pool().get()?;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM public.tenants WHERE schema_version = '20990101000001'")?,
        3
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'projects_colour_idx'")?, 3);
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM tenant_b2.__diesel_schema_migrations WHERE version = '20990101000001'"
        )?,
        0
    );

    // a second run only retries the broken one
    let again = upgraded.migrator().migrate_all(upgraded.pool(), 2, &|_| {})?;
    assert_eq!(again.up_to_date, 3);
    assert_eq!(again.failed.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), vec!["b2"]);

    // once fixed by hand, it goes through
    store.in_tenant_scope(&taskforce_domain::Slug::parse("b2")?.schema_name(), |conn| {
        conn.batch_execute("ALTER TABLE projects DROP COLUMN colour").map_err(StoreError::internal)
    })?;
    let fixed = upgraded.migrator().migrate_all(upgraded.pool(), 2, &|_| {})?;
    assert_eq!((fixed.migrated.len(), fixed.failed.len(), fixed.up_to_date), (1, 0, 3));
    let tenants = upgraded.platform(|tx| tx.tenants().list())?;
    assert!(tenants.iter().all(|t| t.schema_is_current("20990101000001")));
    Ok(())
}

/// A tenant recorded as behind whose schema has nothing pending counts as
/// up to date, not migrated; one whose schema was dropped by hand fails with
/// a reason that says so.
#[test]
fn a_stale_version_is_up_to_date_and_a_dropped_schema_is_named() -> TestResult {
    let (_db, store) = store(2)?;
    for slug in ["a1", "b2", "c3"] {
        provision(&store, slug)?;
    }
    let mut conn = store.pool().get()?;
    conn.batch_execute(
        "UPDATE public.tenants SET schema_version = '00000000000000' WHERE slug IN ('a1', 'b2');
         DROP SCHEMA tenant_b2 CASCADE;",
    )?;
    let report = store.migrator().migrate_all(store.pool(), 2, &|_| {})?;
    assert_eq!((report.up_to_date, report.migrated.len(), &report.recorded[..]), (2, 0, &["a1".to_owned()][..]));
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM public.tenants WHERE slug = 'a1' AND schema_version > '0'")?,
        1,
        "a1's version is recorded"
    );
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].0, "b2");
    assert!(report.failed[0].1.contains("schema does not exist"), "{}", report.failed[0].1);
    Ok(())
}

/// A tenant deleted after the run found it behind is passed over, and the
/// summary says so: it is neither migrated nor up to date (it was counted
/// as up to date, so the summary told of more tenants than there were).
#[test]
fn a_tenant_deleted_during_the_run_is_counted_as_deleted() -> TestResult {
    use taskforce_domain::Store as _;
    let (_db, store) = store(2)?;
    provision(&store, "a1")?;
    let doomed = provision(&store, "b2")?;
    let mut conn = store.pool().get()?;
    conn.batch_execute("UPDATE public.tenants SET schema_version = '00000000000000'")?;
    let deleted = Mutex::new(None);
    let report = store.migrator().migrate_all(store.pool(), 1, &|event| {
        if matches!(event, MigrationEvent::Planned { .. }) {
            *deleted.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(store.deprovision(doomed.id));
        }
    })?;
    assert!(matches!(deleted.into_inner()?, Some(Ok(true))), "b2 was not deleted");
    assert_eq!(report.deleted, vec!["b2".to_owned()], "{report:?}");
    assert_eq!((report.up_to_date, &report.recorded[..], report.failed.len()), (1, &["a1".to_owned()][..], 0));
    Ok(())
}

/// On fresh connections each job connects by itself: with a pool of one
/// connection and two jobs every tenant is migrated (the pool serves only
/// the query that finds the schemas behind), and a failing schema is
/// reported without stopping the job that met it.
#[test]
fn jobs_on_fresh_connections_need_nothing_from_the_pool() -> TestResult {
    let (db, store) = store(1)?;
    for slug in ["a1", "b2", "c3", "d4", "e5"] {
        provision(&store, slug)?;
    }
    store.in_tenant_scope(&taskforce_domain::Slug::parse("c3")?.schema_name(), |conn| {
        conn.batch_execute("ALTER TABLE projects ADD COLUMN colour text").map_err(StoreError::internal)
    })?;
    let (_dir, next) =
        migrations_with(&[("2099-01-01-000001_colour", "ALTER TABLE projects ADD COLUMN colour text;")])?;
    let settings = taskforce_persistence::PoolSettings::new(db.url());
    // once planned, the pool's one connection is taken for the whole run
    let held = Mutex::new(None);
    let report = next.migrate_all_on_fresh_connections(store.pool(), &settings, 2, &|event| {
        if matches!(event, MigrationEvent::Planned { .. }) {
            *held.lock().unwrap_or_else(|p| p.into_inner()) = store.pool().try_get();
        }
    })?;
    assert!(held.into_inner().unwrap_or_else(|p| p.into_inner()).is_some(), "the pool's connection was held");
    let migrated: Vec<&str> = report.migrated.iter().map(|(slug, _)| slug.as_str()).collect();
    assert_eq!(migrated, vec!["a1", "b2", "d4", "e5"]);
    assert_eq!(report.failed.iter().map(|(slug, _)| slug.as_str()).collect::<Vec<_>>(), vec!["c3"]);
    Ok(())
}

/// Each job replaces its connection after the configured number of schemas:
/// the migration records the backend that ran it, and 5 tenants migrated by
/// one job, 2 per connection, were migrated by 3 backends in runs of 2, 2, 1.
#[test]
fn jobs_on_fresh_connections_reconnect_every_few_schemas() -> TestResult {
    let (db, store) = store(2)?;
    for slug in ["a1", "b2", "c3", "d4", "e5"] {
        provision(&store, slug)?;
    }
    let (_dir, next) =
        migrations_with(&[("2099-01-01-000001_backend", "CREATE TABLE backend AS SELECT pg_backend_pid() AS pid;")])?;
    let next = next.with_schemas_per_connection(2);
    let settings = taskforce_persistence::PoolSettings::new(db.url());
    let report = next.migrate_all_on_fresh_connections(store.pool(), &settings, 1, &|_| {})?;
    assert_eq!(report.migrated.len(), 5, "{report:?}");
    let mut conn = store.pool().get()?;
    let pids: Vec<String> = ["a1", "b2", "c3", "d4", "e5"]
        .iter()
        .map(|slug| {
            support::names(&mut conn, &format!("SELECT pid::text AS name FROM tenant_{slug}.backend"))
                .map(|rows| rows.concat())
        })
        .collect::<Result<_, _>>()?;
    assert_eq!(pids[0], pids[1], "{pids:?}");
    assert_ne!(pids[1], pids[2], "{pids:?}");
    assert_eq!(pids[2], pids[3], "{pids:?}");
    assert_ne!(pids[3], pids[4], "{pids:?}");
    assert_ne!(pids[0], pids[4], "{pids:?}");
    Ok(())
}
