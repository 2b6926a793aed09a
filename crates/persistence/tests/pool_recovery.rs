//! Pooled connections whose backends are gone. The read that finds one dead
//! drops it, even when it failed while preparing its statement (which
//! diesel does not count against the connection), and the other idle
//! connections are probed then, so none of them fails a later request.

mod support;

use diesel::connection::SimpleConnection;
use support::{TestResult, provision, store};
use taskforce_domain::{HostName, ProjectId, StoreExt, TenantTx};
use taskforce_persistence::{PgStore, PoolSettings, connect};

/// Ends every session of the test database but the one asking.
fn end_every_session(url: &str) -> TestResult {
    connect(&PoolSettings::new(url))?.batch_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )?;
    Ok(())
}

/// Opens `count` connections at once and hands them back idle.
fn open_idle(store: &PgStore, count: u32) -> TestResult {
    let held = (0..count).map(|_| store.pool().get()).collect::<Result<Vec<_>, _>>()?;
    drop(held);
    assert_eq!(store.pool().state().idle_connections, count);
    Ok(())
}

/// Checks `count` connections out at once, as a burst of requests would,
/// and counts those that fail a `SELECT 1`.
fn dead_in_a_burst_of(store: &PgStore, count: u32) -> Result<usize, Box<dyn std::error::Error>> {
    let mut burst = (0..count).map(|_| store.pool().get()).collect::<Result<Vec<_>, _>>()?;
    Ok(burst.iter_mut().filter_map(|conn| conn.batch_execute("SELECT 1").err()).count())
}

#[test]
fn a_read_on_a_connection_whose_backend_was_ended_is_followed_by_a_live_one() -> TestResult {
    let (db, store) = store(1)?;
    let acme = provision(&store, "acme")?;
    let host = HostName::parse("acme.localhost")?;
    // the pool's one connection, open, without the host lookup prepared on it
    assert_eq!(store.read(|tx| tx.tenants().list())?.len(), 1);
    end_every_session(db.url())?;

    assert!(store.read(|tx| tx.tenants().by_host(&host)).is_err(), "the dead connection fails its read");
    let found = store.read(|tx| tx.tenants().by_host(&host))?;
    assert_eq!(found.map(|t| t.id), Some(acme.id), "the next read runs on a new connection");
    Ok(())
}

#[test]
fn once_a_read_meets_a_dead_connection_no_dead_one_is_left_idle() -> TestResult {
    let (db, store) = store(4)?;
    provision(&store, "acme")?;
    open_idle(&store, 4)?;
    end_every_session(db.url())?;

    assert!(store.read(|tx| tx.tenants().list()).is_err(), "the read that meets the end fails");
    // without the probe, three of the four would be the dead ones left idle
    assert_eq!(dead_in_a_burst_of(&store, 4)?, 0);
    Ok(())
}

#[test]
fn once_a_tenant_transaction_meets_a_dead_connection_no_dead_one_is_left_idle() -> TestResult {
    let (db, store) = store(4)?;
    let acme = provision(&store, "acme")?;
    open_idle(&store, 4)?;
    end_every_session(db.url())?;

    let outcome = store.tenant(&acme, |tx: &mut dyn TenantTx| tx.projects().get(ProjectId(1)));
    assert!(outcome.is_err(), "the transaction that meets the end fails");
    assert_eq!(dead_in_a_burst_of(&store, 4)?, 0);
    Ok(())
}
