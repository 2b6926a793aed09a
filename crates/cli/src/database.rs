//! Reaching PostgreSQL: the configured URL, or the embedded cluster.

use std::{
    io::{IsTerminal as _, Write as _},
    time::Duration,
};

use anyhow::Context;
use taskforce_persistence::{PgPool, PoolSettings, build_pool};
use taskforce_pgcluster::{Cluster, Durability, PgBinaries, Released, RunningCluster, StopHandle};

use crate::settings::DatabaseSettings;

/// The database to use, and this process's lease on the embedded cluster when it uses one.
#[derive(Debug)]
pub struct Database {
    /// Connection URL.
    pub url: String,
    /// The embedded cluster; dropped, the lease is let go, and the cluster
    /// stopped if no other process holds one.
    pub cluster: Option<RunningCluster>,
}

/// How a process that starts the embedded cluster treats an interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// `serve`: its own graceful shutdown stops the cluster.
    LeaveToTheProcess,
    /// A command that runs to its end (tenant-admin, `migrate`): Ctrl-C,
    /// `SIGTERM` or `SIGHUP` lets go of its lease and stops the cluster if
    /// no other process holds one, from the moment it has the lease (a
    /// process killed by a signal runs no drop).
    StopTheCluster,
}

/// Set once an interrupt is being handled: the main thread then leaves the
/// exit to the handler (see [`interrupted`]).
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether an interrupt is being handled: its handler stops the cluster,
/// prints the one line and exits with 130 (143 for `SIGTERM`), so the main
/// thread, whose work the stop cut short, must print nothing and wait.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// For a main thread whose work is done or failed: when an interrupt is
/// being handled, waits for its handler, which ends the process (the work
/// failed because the handler stopped the cluster; its error is not the
/// story to tell). Returns at once otherwise.
pub fn await_interrupt_handler() {
    while interrupted() {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Watches for Ctrl-C, `SIGTERM` and `SIGHUP` on a thread of its own; on the first,
/// marks the process [`interrupted`], stops the cluster (once: its drop
/// will not stop it again), prints one line and exits. Every unit of work
/// is a transaction, so the one the stop cut short is rolled back.
fn stop_on_interrupt(handle: StopHandle) {
    let watch = move || -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
        let code = runtime.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let (mut terminate, mut hang_up) = (signal(SignalKind::terminate())?, signal(SignalKind::hangup())?);
            tokio::select! {
                interrupted = tokio::signal::ctrl_c() => interrupted.map(|()| 130),
                _ = terminate.recv() => Ok::<_, std::io::Error>(143),
                _ = hang_up.recv() => Ok(129),
            }
        })?;
        INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        crate::telemetry::silence();
        let stopped = match handle.stop() {
            Ok(Released::Stopped) => "the embedded PostgreSQL cluster was stopped".to_owned(),
            Ok(Released::InUse) => {
                "the embedded PostgreSQL cluster keeps running for the other processes using it".to_owned()
            }
            Ok(Released::Busy) => {
                "the embedded PostgreSQL cluster was left running (another process was starting it)".to_owned()
            }
            Ok(Released::NotRunning | Released::Already) => "the embedded PostgreSQL cluster is not running".to_owned(),
            Err(error) => format!("the embedded PostgreSQL cluster could not be stopped: {error}"),
        };
        // on a terminal, over whatever a spinner left on the line
        let clear = if std::io::stderr().is_terminal() { "\r\x1b[2K" } else { "" };
        let _ = writeln!(
            std::io::stderr(),
            "{clear}error: interrupted; {stopped} (a unit of work under way, if any, was rolled back)"
        );
        std::process::exit(code)
    };
    let spawned = std::thread::Builder::new().name("interrupt".into()).spawn(move || {
        if let Err(error) = watch() {
            tracing::warn!(%error, "cannot watch for interrupts; the embedded cluster may outlive an interrupted run");
        }
    });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot watch for interrupts; the embedded cluster may outlive an interrupted run");
    }
}

/// `url` with libpq's `connect_timeout` (seconds), unless it names one.
pub(crate) fn with_connect_timeout(url: &str, seconds: u64) -> String {
    if url.contains("connect_timeout") {
        url.to_owned()
    } else {
        taskforce_persistence::with_params(url, &format!("connect_timeout={seconds}"))
    }
}

impl Database {
    /// The configured URL, or the embedded cluster (created, started and its
    /// `taskforce` database made on first use).
    pub fn open(settings: &DatabaseSettings, on_interrupt: OnInterrupt) -> anyhow::Result<Self> {
        if let Some(url) = settings.url() {
            return Ok(Self { url: url.to_owned(), cluster: None });
        }
        let bins = PgBinaries::locate()?;
        let dir = std::path::absolute(&settings.embedded_dir).unwrap_or_else(|_| settings.embedded_dir.clone());
        let cluster = Cluster::new(bins, &dir);
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        if cluster.init_if_needed(Durability::Durable)? {
            if on_interrupt == OnInterrupt::StopTheCluster {
                // tenant-admin, which shows warnings only: run from another
                // folder than serve's, it would work on an empty cluster unsaid
                tracing::warn!(
                    "created a new, empty embedded PostgreSQL cluster in {} (none was there; set a database URL, or run \
                     tenant-admin from the folder serve runs in, to use serve's)",
                    dir.display()
                );
            } else {
                tracing::info!(dir = %dir.display(), "created the embedded PostgreSQL cluster");
            }
        }
        let running = cluster.start(Some(settings.embedded_port))?;
        if on_interrupt == OnInterrupt::StopTheCluster {
            stop_on_interrupt(running.stop_handle());
        }
        running.ensure_database("taskforce").context("creating the taskforce database in the embedded cluster")?;
        let url = running.url("taskforce");
        if running.started() {
            tracing::info!(%url, "started the embedded PostgreSQL cluster; the last process using it stops it");
        } else {
            tracing::info!(%url, "using the embedded PostgreSQL cluster another process started; the last one using it stops it");
        }
        Ok(Self { url, cluster: Some(running) })
    }

    /// Connects once and lets go, so that a command run by hand fails at
    /// once, with PostgreSQL's reason, when the database cannot be reached
    /// (a wrong password, no such database): the pool would retry for its
    /// whole check-out timeout and report a time-out. Not for `serve`, which
    /// starts whether or not the database is up yet.
    pub fn reachable(&self, settings: &DatabaseSettings, application_name: &str) -> anyhow::Result<()> {
        let mut once = self.pool_settings(settings, application_name);
        // a host that drops packets answers nothing: give up as the pool would
        once.url = with_connect_timeout(&once.url, once.checkout_timeout.as_secs().max(2));
        taskforce_persistence::connect(&once).map(drop).context("connecting to PostgreSQL")
    }

    /// The pool over this database.
    pub fn pool(&self, settings: &DatabaseSettings, application_name: &str) -> anyhow::Result<PgPool> {
        build_pool(&self.pool_settings(settings, application_name)).context("connecting to PostgreSQL")
    }

    /// The pools tenant scopes run on when there is more than one shard
    /// (none otherwise): [`DatabaseSettings::shard_count`] pools of
    /// `pool_size / shard_count` connections.
    pub fn tenant_shards(&self, settings: &DatabaseSettings, application_name: &str) -> anyhow::Result<Vec<PgPool>> {
        let count = settings.shard_count();
        if count <= 1 {
            return Ok(Vec::new());
        }
        let mut shard = self.pool_settings(settings, application_name);
        shard.max_size = (settings.pool_size / count).max(1);
        (0..count).map(|_| build_pool(&shard)).collect::<Result<_, _>>().context("connecting to PostgreSQL")
    }

    /// Pool settings for this database.
    pub fn pool_settings(&self, settings: &DatabaseSettings, application_name: &str) -> PoolSettings {
        PoolSettings {
            url: self.url.clone(),
            max_size: settings.pool_size,
            // on demand: see `PoolSettings::min_idle`
            min_idle: Some(0),
            checkout_timeout: Duration::from_millis(settings.checkout_timeout_ms),
            statement_timeout: Duration::from_millis(settings.statement_timeout_ms),
            application_name: application_name.to_owned(),
            statement_cache: settings.statement_cache,
        }
    }
}

/// A binary that does not migrate at start (production) refuses a shared
/// schema older than itself: `serve` would answer readiness and then `500`
/// on every request that reads a table or column it does not have yet, and
/// `tenant-admin` fail with PostgreSQL's "relation does not exist".
///
/// A database that cannot be reached is no reason to stay down: `serve`
/// starts and answers readiness `503` until it is back (the check is then
/// left to the operator's `migrate`); `tenant-admin` fails on its first
/// query anyway.
pub(crate) fn shared_schema_is_current(pool: &PgPool) -> anyhow::Result<()> {
    let mut conn = match taskforce_persistence::check_out(pool) {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(%error, "could not check the shared schema's migrations: the database does not answer");
            return Ok(());
        }
    };
    let pending = taskforce_persistence::shared_pending(&mut conn)?;
    if pending.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "the shared schema lacks {} migration(s) of this version ({}): run `taskforce migrate` (or `tenant-admin \
         migrate`) first, or set database.auto_migrate = true",
        pending.len(),
        pending.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::with_connect_timeout;

    #[test]
    fn a_connect_timeout_is_added_unless_one_is_named() {
        assert_eq!(with_connect_timeout("postgres://h/db", 3), "postgres://h/db?connect_timeout=3");
        assert_eq!(
            with_connect_timeout("postgres://h/db?sslmode=disable", 3),
            "postgres://h/db?sslmode=disable&connect_timeout=3"
        );
        assert_eq!(with_connect_timeout("host=h dbname=db", 3), "host=h dbname=db connect_timeout=3");
        assert_eq!(with_connect_timeout("postgres://h/db?connect_timeout=9", 3), "postgres://h/db?connect_timeout=9");
        assert_eq!(with_connect_timeout("postgres://u:a?b@h/db", 3), "postgres://u:a?b@h/db?connect_timeout=3");
        assert_eq!(
            with_connect_timeout("postgres://h/db?application_name=a@b", 3),
            "postgres://h/db?application_name=a@b&connect_timeout=3"
        );
    }
}
