//! Sessions against a racing removal, on real PostgreSQL: a login holds the
//! tenant row and the membership while it opens its session, so a removal
//! that races it (locking the tenant row, then deleting) waits and then ends
//! that session too, without a deadlock.

mod support;

use std::{sync::mpsc, time::Duration};

use diesel::{QueryableByName, RunQueryDsl, sql_types::Bool};
use support::{TestResult, provision, store};
use taskforce_domain::{Email, NewUser, Role, StoreError, StoreExt, Username};

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    yes: bool,
}

#[test]
fn a_removal_racing_a_login_waits_for_it_and_ends_its_session() -> TestResult {
    let (_db, store) = store(3)?;
    let acme = provision(&store, "acme")?;
    let (user, membership) = store.platform(|tx| {
        let user = tx.users().create(&NewUser {
            username: Username::parse("mia").map_err(StoreError::internal)?,
            email: Email::parse("mia@example.com").map_err(StoreError::internal)?,
            password_hash: "x".into(),
            is_active: true,
            is_staff: false,
            registered_themselves: false,
        })?;
        Ok::<_, StoreError>((user.id, tx.memberships().add(acme.id, user.id, Role::Member)?.id))
    })?;

    // the login: holds the membership, then (while the removal runs into
    // the hold) opens its session
    let (removal_started, started) = mpsc::channel();
    let family = std::thread::scope(|scope| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
        let login = store.platform(|tx| {
            let held = tx.memberships().hold(acme.id, user)?;
            assert!(held.is_some(), "the member is there before the removal");
            let removal = scope.spawn(|| {
                let _ = removal_started.send(());
                // as TenantMembers::remove: the tenant row first
                store.platform(|tx| {
                    tx.tenants().lock(acme.id)?;
                    tx.memberships().remove(acme.id, membership)?;
                    tx.sessions().revoke_all(acme.id, user, "removed")
                })
            });
            started.recv_timeout(Duration::from_secs(10)).map_err(StoreError::internal)?;
            // wait until the removal is blocked on the hold (or, were there
            // no hold, has finished): pg_stat_activity tells
            for _ in 0..500 {
                if removal.is_finished() || removal_waits_on_a_lock(&store)? {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let family = tx.sessions().open(acme.id, user)?;
            Ok::<_, StoreError>((family, removal))
        })?;
        let (family, removal) = login;
        let ended = removal.join().map_err(|_| "the removal panicked")??;
        assert_eq!(ended, vec![family], "the removal ended the session the login opened");
        Ok(family)
    })
    .map_err(|e| e.to_string())?;
    let revoked = store.platform(|tx| tx.sessions().lock(family))?.ok_or("no session")?.revoked;
    assert!(revoked, "the login's session outlived the removal");
    Ok(())
}

/// Whether another backend of this database waits on a lock.
fn removal_waits_on_a_lock(store: &taskforce_persistence::PgStore) -> Result<bool, StoreError> {
    let mut conn = store.pool().get().map_err(StoreError::internal)?;
    diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                         WHERE datname = current_database() AND wait_event_type = 'Lock') AS yes",
    )
    .get_result::<Flag>(&mut conn)
    .map(|flag| flag.yes)
    .map_err(StoreError::internal)
}
