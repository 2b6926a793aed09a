//! The change feed on a real server: the triggers announce every change to
//! what the request path caches when it is made with plain SQL, as
//! tenant-admin or an operator would, and nothing else; a feed that loses
//! its connection says so and listens again.

mod support;

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use diesel::connection::SimpleConnection;
use support::{TestResult, provision, store};
use taskforce_domain::{AccessChange, AccessChangeSink, FamilyId, HostName, TenantId, UserId};
use taskforce_persistence::{ChangeFeed, PoolSettings, connect};

const FEED: &str = "feed-under-test";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Heard {
    Live,
    Lost,
    Changed(AccessChange),
}

/// What the sink heard, in order.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<Heard>>);

impl Recorder {
    /// What was heard, a run of `Live` counted once: the feed says it is
    /// live at every heartbeat, and how many fall into a step of a test
    /// depends on how busy the machine is.
    fn heard(&self) -> Vec<Heard> {
        let mut heard = self.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        heard.dedup_by(|next, previous| *next == Heard::Live && *previous == Heard::Live);
        heard
    }

    fn push(&self, heard: Heard) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(heard);
    }

    /// Waits (up to 20 s) until `done` holds for what was heard.
    fn until(&self, what: &str, done: impl Fn(&[Heard]) -> bool) -> Result<Vec<Heard>, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let heard = self.heard();
            if done(&heard) {
                return Ok(heard);
            }
            if Instant::now() > deadline {
                return Err(format!("never heard {what}; heard {heard:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl AccessChangeSink for Recorder {
    fn feed_live(&self) {
        self.push(Heard::Live);
    }

    fn feed_lost(&self) {
        self.push(Heard::Lost);
    }

    fn changed(&self, changes: &[AccessChange]) {
        for change in changes {
            self.push(Heard::Changed(change.clone()));
        }
    }
}

/// A feed that reads every 10 ms and reconnects after 50 ms; its heartbeat
/// (2 s) is long enough that a busy machine, running every test at once,
/// does not make it miss its own notice and drop the connection mid-test.
fn feed(url: &str) -> ChangeFeed {
    let mut settings = PoolSettings::new(url);
    settings.application_name = FEED.to_owned();
    ChangeFeed::new(settings).with_intervals(
        Duration::from_millis(10),
        Duration::from_secs(2),
        Duration::from_millis(50),
    )
}

fn host(name: &str) -> Result<Heard, Box<dyn std::error::Error>> {
    Ok(Heard::Changed(AccessChange::Host(HostName::parse(name)?)))
}

#[test]
fn every_change_to_what_is_cached_is_announced_and_nothing_else() -> TestResult {
    let (db, store) = store(2)?;
    let acme = provision(&store, "acme")?;
    let id = acme.id.0;
    let mut sql = connect(&PoolSettings::new(db.url()))?;
    sql.batch_execute(&format!(
        "INSERT INTO public.users (id, username, email, password_hash) VALUES (7, 'ada', 'ada@example.com', 'x'), \
         (8, 'bob', 'bob@example.com', 'x'); \
         INSERT INTO public.memberships (tenant_id, user_id, role) VALUES ({id}, 7, 'member'); \
         INSERT INTO public.refresh_families (id, tenant_id, user_id) VALUES (11, {id}, 7)"
    ))?;
    let recorder = Arc::new(Recorder::default());
    let _feed = feed(db.url()).start(recorder.clone())?;
    recorder.until("the feed go live", |heard| heard == [Heard::Live])?;

    // none of these changes anything a cache holds
    for quiet in [
        "UPDATE public.users SET last_login = now()".to_owned(),
        format!("INSERT INTO public.memberships (tenant_id, user_id, role) VALUES ({id}, 8, 'viewer')"),
        format!("INSERT INTO public.refresh_families (id, tenant_id, user_id) VALUES (12, {id}, 8)"),
        "UPDATE public.tenants SET created_at = created_at - interval '1 day'".to_owned(),
        "UPDATE public.tenants SET schema_version = schema_version".to_owned(),
        "UPDATE public.users SET is_active = true".to_owned(),
    ] {
        sql.batch_execute(&quiet)?;
    }
    // each of these does, in its own transaction
    for change in [
        format!("UPDATE public.tenants SET plan = 'basic' WHERE id = {id}"),
        // as `migrate` does when it has migrated a tenant's schema
        format!("UPDATE public.tenants SET schema_version = schema_version || 'x' WHERE id = {id}"),
        format!("INSERT INTO public.domains (domain, tenant_id) VALUES ('acme.example.com', {id})"),
        "UPDATE public.memberships SET role = 'admin' WHERE user_id = 7".to_owned(),
        "UPDATE public.users SET is_active = false WHERE id = 7".to_owned(),
        "UPDATE public.refresh_families SET revoked_at = now(), revoked_reason = 'logout' WHERE id = 11".to_owned(),
    ] {
        sql.batch_execute(&change)?;
    }
    let (tenant, ada, bob) = (TenantId(id), UserId(7), UserId(8));
    let expected = vec![
        Heard::Live,
        host("acme.localhost")?,
        host("acme.localhost")?,
        host("acme.example.com")?,
        Heard::Changed(AccessChange::Member(tenant, ada)),
        Heard::Changed(AccessChange::Member(tenant, ada)),
        Heard::Changed(AccessChange::Session(tenant, FamilyId(11))),
    ];
    let heard = recorder.until("the six changes", |heard| heard.len() >= expected.len())?;
    assert_eq!(heard, expected, "in commit order, the quiet changes unheard");

    // a deleted tenant takes its domains, memberships and sessions along
    sql.batch_execute(&format!("DELETE FROM public.tenants WHERE id = {id}"))?;
    let gone = [
        host("acme.localhost")?,
        host("acme.example.com")?,
        Heard::Changed(AccessChange::Member(tenant, ada)),
        Heard::Changed(AccessChange::Member(tenant, bob)),
        Heard::Changed(AccessChange::Session(tenant, FamilyId(11))),
        Heard::Changed(AccessChange::Session(tenant, FamilyId(12))),
    ];
    let heard = recorder.until("the deletion", |heard| heard.len() >= expected.len() + gone.len())?;
    let mut cascade: Vec<String> = heard[expected.len()..].iter().map(|h| format!("{h:?}")).collect();
    let mut wanted: Vec<String> = gone.iter().map(|h| format!("{h:?}")).collect();
    cascade.sort();
    wanted.sort();
    assert_eq!(cascade, wanted);

    // TRUNCATE fires no row trigger: it says everything may have changed
    sql.batch_execute("TRUNCATE public.refresh_families CASCADE")?;
    let total = expected.len() + gone.len() + 1;
    let heard = recorder.until("the truncation", |heard| heard.len() >= total)?;
    assert_eq!(heard[total - 1..], [Heard::Changed(AccessChange::Everything)]);
    Ok(())
}

#[test]
fn a_feed_that_loses_its_connection_says_so_and_listens_again() -> TestResult {
    let (db, store) = store(2)?;
    let acme = provision(&store, "acme")?;
    let recorder = Arc::new(Recorder::default());
    let feed_handle = feed(db.url()).start(recorder.clone())?;
    recorder.until("the feed go live", |heard| heard == [Heard::Live])?;

    let mut sql = connect(&PoolSettings::new(db.url()))?;
    sql.batch_execute(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = '{FEED}' AND datname = current_database()"
    ))?;
    recorder.until("the loss and the return", |heard| heard == [Heard::Live, Heard::Lost, Heard::Live])?;
    sql.batch_execute(&format!("UPDATE public.tenants SET is_active = false WHERE id = {}", acme.id.0))?;
    let heard = recorder.until("the change after the return", |heard| heard.len() == 4)?;
    assert_eq!(heard[3], host("acme.localhost")?);

    // stopped: it says nothing more and its connection goes
    drop(feed_handle);
    let after = recorder.heard();
    assert_eq!(after.last(), Some(&Heard::Lost), "a stopped feed is no longer live: {after:?}");
    let listening = format!(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '{FEED}' AND datname = current_database()"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    // the backend ends a moment after the client hangs up
    while support::count(&mut sql, &listening)? > 0 {
        assert!(Instant::now() < deadline, "the feed's connection stays open");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}
