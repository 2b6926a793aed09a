//! [`ChangeFeed`]: the database's notices of changes to what the request
//! path caches, delivered to an [`AccessChangeSink`].
//!
//! Triggers on the shared tables (migration `access_change_notices`) send a
//! notice on the channel `tf_access` when a change commits, whoever makes
//! it: the API, `tenant-admin` or an operator's SQL. The feed holds one
//! connection of its own that `LISTEN`s, and reads what has arrived every
//! `poll` (libpq reads the socket without blocking; diesel offers no way to
//! wait on it). It hears its own notice every `heartbeat` or counts itself
//! lost. When it is lost the sink hears `feed_lost`, and the feed connects
//! again every `retry`; the sink hears `feed_live` only once the feed's own
//! notice has come back on the new connection.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use diesel::{PgConnection, connection::SimpleConnection};
use taskforce_domain::{AccessChange, AccessChangeSink, FamilyId, HostName, TenantId, UserId};

use crate::pool::{PoolSettings, connect};

/// The channel the triggers notify on.
pub const CHANNEL: &str = "tf_access";

/// Listens for change notices and hands them to a sink, on a thread of its own.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    settings: PoolSettings,
    poll: Duration,
    heartbeat: Duration,
    retry: Duration,
}

impl ChangeFeed {
    /// A feed over its own connection to `settings.url` (its
    /// `application_name` shows the feed in `pg_stat_activity`): reads every
    /// 100 ms, checks that it hears itself every 5 s, reconnects every second.
    pub fn new(settings: PoolSettings) -> Self {
        Self {
            settings,
            poll: Duration::from_millis(100),
            heartbeat: Duration::from_secs(5),
            retry: Duration::from_secs(1),
        }
    }

    /// The same with other intervals (tests).
    pub fn with_intervals(mut self, poll: Duration, heartbeat: Duration, retry: Duration) -> Self {
        self.poll = poll;
        self.heartbeat = heartbeat;
        self.retry = retry;
        self
    }

    /// Starts listening; the feed stops when the handle is dropped.
    pub fn start(self, sink: Arc<dyn AccessChangeSink>) -> std::io::Result<ChangeFeedHandle> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::Builder::new().name("change-feed".into()).spawn({
            let stop = stop.clone();
            move || self.run(sink.as_ref(), &stop)
        })?;
        Ok(ChangeFeedHandle { stop, thread: Some(thread) })
    }

    fn run(&self, sink: &dyn AccessChangeSink, stop: &AtomicBool) {
        let mut warned = false;
        while !stop.load(Ordering::Acquire) {
            let ended = self.listen().and_then(|mut conn| self.serve(&mut conn, sink, stop, &mut warned));
            if let Err(error) = ended
                && !warned
            {
                tracing::warn!(%error, "change feed not listening: cached entries dropped, new ones live the short times to live");
                warned = true;
            }
            sleep_unless_stopped(self.retry, stop);
        }
    }

    fn listen(&self) -> Result<PgConnection, String> {
        let mut conn = connect(&self.settings).map_err(|error| error.to_string())?;
        conn.batch_execute(&format!("LISTEN {CHANNEL}")).map_err(|error| error.to_string())?;
        Ok(conn)
    }

    /// Hands over what arrives until the connection fails (`Err`) or the
    /// feed is stopped (`Ok`). The feed proves it hears the channel with a
    /// notice of its own, `ping <process>-<connection>-<n>`, sent on connecting and every
    /// `heartbeat`: it is live once the first comes back, and lost when one
    /// has not come back by the next (a dead connection, or a pooler in
    /// transaction mode, which does not keep `LISTEN`).
    fn serve(
        &self,
        conn: &mut PgConnection,
        sink: &dyn AccessChangeSink,
        stop: &AtomicBool,
        warned: &mut bool,
    ) -> Result<(), String> {
        // this connection's own notices: no other feed, in this process or another, sends these
        let this = format!("{}-{}", std::process::id(), CONNECTIONS.fetch_add(1, Ordering::Relaxed));
        let mut sent = 0_u64;
        let mut awaited = Some(ping(conn, &this, sent)?);
        let mut pinged = Instant::now();
        let mut live = false;
        let outcome = loop {
            if stop.load(Ordering::Acquire) {
                break Ok(());
            }
            let mut changes = Vec::new();
            let mut notices = Vec::new();
            for notice in conn.notifications_iter() {
                match notice {
                    Ok(notice) => notices.push(notice.payload),
                    Err(error) => return self.ended(sink, live, Err(error.to_string())),
                }
            }
            for payload in notices {
                if let Some(nonce) = payload.strip_prefix("ping ") {
                    if awaited.as_deref() == Some(nonce) {
                        awaited = None;
                    }
                } else if let Some(change) = parse(&payload) {
                    changes.push(change);
                } else {
                    tracing::warn!(%payload, "change feed: notice not understood");
                }
            }
            // before going live too: dropping an entry is always safe
            if !changes.is_empty() {
                sink.changed(&changes);
            }
            if !live && awaited.is_none() {
                live = true;
                if std::mem::take(warned) {
                    tracing::info!("change feed listening again");
                }
                sink.feed_live();
            }
            if pinged.elapsed() >= self.heartbeat {
                if awaited.is_some() {
                    break Err("the feed's own notice did not come back".to_owned());
                }
                sent += 1;
                match ping(conn, &this, sent) {
                    Ok(nonce) => awaited = Some(nonce),
                    Err(error) => break Err(error),
                }
                pinged = Instant::now();
            }
            sleep_unless_stopped(self.poll, stop);
        };
        self.ended(sink, live, outcome)
    }

    fn ended(&self, sink: &dyn AccessChangeSink, live: bool, outcome: Result<(), String>) -> Result<(), String> {
        if live {
            sink.feed_lost();
        }
        outcome
    }
}

/// Connections feeds of this process have listened on.
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// Sends the feed's own notice; its nonce, to be awaited.
fn ping(conn: &mut PgConnection, this: &str, n: u64) -> Result<String, String> {
    let nonce = format!("{this}-{n}");
    conn.batch_execute(&format!("NOTIFY {CHANNEL}, 'ping {nonce}'")).map_err(|error| error.to_string())?;
    Ok(nonce)
}

/// Stops its feed when dropped (within one poll interval).
#[derive(Debug)]
pub struct ChangeFeedHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for ChangeFeedHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            // a panicked feed has nothing left to stop
            let _ = thread.join();
        }
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(50);
    let deadline = Instant::now() + total;
    while !stop.load(Ordering::Acquire) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(step));
    }
}

/// A notice's payload as the triggers write it: `host <domain>`,
/// `member <tenant id> <user id>` or `session <tenant id> <family id>`.
pub fn parse(payload: &str) -> Option<AccessChange> {
    let mut words = payload.split(' ');
    let change = match (words.next()?, words.next()?, words.next()) {
        ("host", domain, None) => AccessChange::Host(HostName::parse(domain).ok()?),
        ("member", tenant, Some(user)) => {
            AccessChange::Member(TenantId(tenant.parse().ok()?), UserId(user.parse().ok()?))
        }
        ("session", tenant, Some(family)) => {
            AccessChange::Session(TenantId(tenant.parse().ok()?), FamilyId(family.parse().ok()?))
        }
        _ => return None,
    };
    words.next().is_none().then_some(change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_payloads_the_triggers_write_and_nothing_else() {
        let host = |h: &str| HostName::parse(h).map(AccessChange::Host).ok();
        assert_eq!(parse("host acme.example.com"), host("acme.example.com"));
        assert_eq!(parse("member 3 7"), Some(AccessChange::Member(TenantId(3), UserId(7))));
        assert_eq!(parse("session 3 11"), Some(AccessChange::Session(TenantId(3), FamilyId(11))));
        for bad in ["", "host", "host a b", "member 3", "member 3 x", "member 3 7 9", "session -", "tenant 3", "host  "]
        {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
