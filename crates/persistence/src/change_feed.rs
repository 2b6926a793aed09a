//! [`ChangeFeed`]: the database's notices of changes to what the request
//! path caches, delivered to an [`AccessChangeSink`].
//!
//! Triggers on the shared tables (migrations `access_change_notices` and
//! `truncate_notices`) send a notice on the channel `tf_access` when a change
//! commits, whoever makes it: the API, `tenant-admin` or an operator's SQL.
//! The feed holds one connection of its own that `LISTEN`s, and reads what
//! has arrived every `poll` (libpq reads the socket without blocking; diesel
//! offers no way to wait on it). Every `heartbeat` it sends a notice of its
//! own from a second connection, so that what it proves is delivery from
//! another session, and tells the sink `feed_live` each time that notice
//! comes back; one that has not come back by the next heartbeat, or a
//! connection error, makes it `feed_lost`, and it connects again every
//! `retry`. Both connections use TCP keepalives and a TCP user time-out, so a
//! connection that dies without a word fails within seconds instead of
//! blocking.

use std::{
    sync::{
        Arc,
        mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use diesel::{PgConnection, RunQueryDsl, connection::SimpleConnection, dsl::sql, sql_types::Integer};
use taskforce_domain::{AccessChange, AccessChangeSink, FamilyId, HostName, TenantId, UserId};

use crate::pool::{PoolSettings, connect};

/// The channel the triggers notify on.
const CHANNEL: &str = "tf_access";

/// How often a feed built with [`ChangeFeed::new`] proves it is live by
/// hearing its own notice: what a cache that trusts the feed derives its
/// patience from.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// libpq parameters for the feed's connections: give up connecting after
/// 5 s, probe an idle connection after 5 s, and fail a send that has not
/// been acknowledged within 10 s.
const KEEPALIVES: &str =
    "connect_timeout=5&keepalives=1&keepalives_idle=5&keepalives_interval=2&keepalives_count=2&tcp_user_timeout=10000";

/// Listens for change notices and hands them to a sink, on a thread of its own.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    settings: PoolSettings,
    poll: Duration,
    heartbeat: Duration,
    retry: Duration,
}

/// The two connections of a listening feed.
struct Listening {
    listener: PgConnection,
    sender: PgConnection,
    /// The listener's backend, which names its own notices: no other feed
    /// on this server sends these.
    name: i32,
}

impl ChangeFeed {
    /// A feed over connections of its own to `settings.url` (their
    /// `application_name` shows them in `pg_stat_activity`): reads every
    /// 100 ms, hears itself every [`HEARTBEAT`], reconnects every second.
    pub fn new(mut settings: PoolSettings) -> Self {
        if crate::pool::is_uri(&settings.url) {
            settings.url = crate::pool::with_params(&settings.url, KEEPALIVES);
        }
        Self { settings, poll: Duration::from_millis(100), heartbeat: HEARTBEAT, retry: Duration::from_secs(1) }
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
        let (stop, stopped) = mpsc::channel();
        let thread =
            std::thread::Builder::new().name("change-feed".into()).spawn(move || self.run(sink.as_ref(), &stopped))?;
        Ok(ChangeFeedHandle { stop: Some(stop), thread: Some(thread) })
    }

    fn run(&self, sink: &dyn AccessChangeSink, stop: &Receiver<()>) {
        let mut warned = false;
        while !is_stopped(stop) {
            let ended = self.listen().and_then(|mut feed| self.serve(&mut feed, sink, stop, &mut warned));
            if let Err(error) = ended
                && !warned
            {
                tracing::warn!(%error, "change feed not listening: cached entries dropped, new ones live the short times to live");
                warned = true;
            }
            if wait_unless_stopped(self.retry, stop) {
                break;
            }
        }
    }

    fn listen(&self) -> Result<Listening, String> {
        let mut listener = connect(&self.settings).map_err(|error| error.to_string())?;
        listener.batch_execute(&format!("LISTEN {CHANNEL}")).map_err(|error| error.to_string())?;
        let name = diesel::select(sql::<Integer>("pg_catalog.pg_backend_pid()"))
            .get_result(&mut listener)
            .map_err(|error| error.to_string())?;
        let sender = connect(&self.settings).map_err(|error| error.to_string())?;
        Ok(Listening { listener, sender, name })
    }

    /// Hands over what arrives until a connection fails or the feed's own
    /// notice does not come back (`Err`), or the feed is stopped (`Ok`).
    fn serve(
        &self,
        feed: &mut Listening,
        sink: &dyn AccessChangeSink,
        stop: &Receiver<()>,
        warned: &mut bool,
    ) -> Result<(), String> {
        let mut sent = 0_u64;
        let mut awaited = Some(ping(feed, sent)?);
        let mut pinged = Instant::now();
        let mut live = false;
        let outcome = loop {
            if is_stopped(stop) {
                break Ok(());
            }
            let mut payloads = Vec::new();
            let mut failed = None;
            for notice in feed.listener.notifications_iter() {
                match notice {
                    Ok(notice) => payloads.push(notice.payload),
                    Err(error) => {
                        failed = Some(error.to_string());
                        break;
                    }
                }
            }
            let mut changes = Vec::new();
            let mut heard = false;
            for payload in payloads {
                if let Some(nonce) = payload.strip_prefix("ping ") {
                    if awaited.as_deref() == Some(nonce) {
                        awaited = None;
                        heard = true;
                    }
                } else if let Some(change) = parse(&payload) {
                    changes.push(change);
                } else {
                    tracing::warn!(%payload, "change feed: notice not understood");
                }
            }
            // before anything else: dropping an entry is always safe
            if !changes.is_empty() {
                sink.changed(&changes);
            }
            if let Some(error) = failed {
                break Err(error);
            }
            if heard {
                if !live && std::mem::take(warned) {
                    tracing::info!("change feed listening again");
                }
                live = true;
                sink.feed_live();
            }
            if pinged.elapsed() >= self.heartbeat {
                if awaited.is_some() {
                    break Err("the feed's own notice did not come back".to_owned());
                }
                sent += 1;
                match ping(feed, sent) {
                    Ok(nonce) => awaited = Some(nonce),
                    Err(error) => break Err(error),
                }
                pinged = Instant::now();
            }
            if wait_unless_stopped(self.poll, stop) {
                break Ok(());
            }
        };
        if live {
            sink.feed_lost();
        }
        outcome
    }
}

/// Sends the feed's own notice from its second connection; its nonce, to be
/// awaited on the first.
fn ping(feed: &mut Listening, n: u64) -> Result<String, String> {
    let nonce = format!("{}-{n}", feed.name);
    feed.sender.batch_execute(&format!("NOTIFY {CHANNEL}, 'ping {nonce}'")).map_err(|error| error.to_string())?;
    Ok(nonce)
}

/// Stops its feed when dropped: at once if it is waiting, else when the
/// statement it is running returns.
#[derive(Debug)]
pub struct ChangeFeedHandle {
    /// Dropping it disconnects the feed's receiver: that is the signal.
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for ChangeFeedHandle {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // a panicked feed has nothing left to stop
            let _ = thread.join();
        }
    }
}

fn is_stopped(stop: &Receiver<()>) -> bool {
    matches!(stop.try_recv(), Err(TryRecvError::Disconnected))
}

/// Waits `total` unless the handle is dropped meanwhile; whether it was.
fn wait_unless_stopped(total: Duration, stop: &Receiver<()>) -> bool {
    matches!(stop.recv_timeout(total), Err(RecvTimeoutError::Disconnected))
}

/// A notice's payload as the triggers write it: `host <domain>`,
/// `member <tenant id> <user id>`, `session <tenant id> <family id>` or
/// `flush`.
fn parse(payload: &str) -> Option<AccessChange> {
    if payload == "flush" {
        return Some(AccessChange::Everything);
    }
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
        assert_eq!(parse("flush"), Some(AccessChange::Everything));
        for bad in [
            "",
            "flush 1",
            "host",
            "host a b",
            "member 3",
            "member 3 x",
            "member 3 7 9",
            "session -",
            "tenant 3",
            "host  ",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
