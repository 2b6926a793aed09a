//! A pooled connection whose backend is gone is dropped after the read that
//! finds out, even when that read failed while preparing its statement
//! (which diesel does not count against the connection): the next read
//! gets a live one instead of the same dead one again and again.

mod support;

use diesel::connection::SimpleConnection;
use support::{TestResult, provision, store};
use taskforce_domain::{HostName, StoreExt};
use taskforce_persistence::{PoolSettings, connect};

#[test]
fn a_read_on_a_connection_whose_backend_was_ended_is_followed_by_a_live_one() -> TestResult {
    let (db, store) = store(1)?;
    let acme = provision(&store, "acme")?;
    let host = HostName::parse("acme.localhost")?;
    // the pool's one connection, open, without the host lookup prepared on it
    assert_eq!(store.read(|tx| tx.tenants().list())?.len(), 1);
    let mut admin = connect(&PoolSettings::new(db.url()))?;
    admin.batch_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )?;

    assert!(store.read(|tx| tx.tenants().by_host(&host)).is_err(), "the dead connection fails its read");
    let found = store.read(|tx| tx.tenants().by_host(&host))?;
    assert_eq!(found.map(|t| t.id), Some(acme.id), "the next read runs on a new connection");
    Ok(())
}
