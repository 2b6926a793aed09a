//! A database of its own for each test, on the server named by the
//! environment or on an ephemeral cluster.

use std::{
    os::unix::process::CommandExt,
    path::Path,
    process::{Command, Stdio},
    sync::{Mutex, OnceLock},
    time::{SystemTime, UNIX_EPOCH},
};

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_types::Text};

use crate::{Cluster, ClusterError, Durability, PgBinaries, with_database};

/// Why a test database could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    /// The ephemeral cluster could not be started.
    #[error("no database URL is set and the ephemeral test cluster could not start: {0}")]
    Cluster(String),
    /// The server refused the connection.
    #[error("cannot connect to the test server: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// Creating or dropping the database failed.
    #[error("test database statement failed: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Says why a test skips itself for lack of a tool (PostgreSQL's server
/// binaries, `redis-server`), or, when `TASKFORCE_TEST_TOOLS=required` (CI),
/// fails instead: there no test may skip for that.
pub fn skip_unless_required(why: &str) -> Result<(), String> {
    if std::env::var("TASKFORCE_TEST_TOOLS").as_deref() == Ok("required") {
        return Err(format!("TASKFORCE_TEST_TOOLS=required but {why}"));
    }
    eprintln!("skipped: {why}");
    Ok(())
}

/// Test databases older than this are left-overs of killed runs and dropped.
const STALE_AFTER_SECS: u64 = 6 * 3600;

static EPHEMERAL: OnceLock<Result<String, String>> = OnceLock::new();
static STALE_SWEPT: Mutex<bool> = Mutex::new(false);

/// The URL of the PostgreSQL server tests run against:
/// `TASKFORCE__DATABASE__URL` or `DATABASE_URL` when set, otherwise an
/// ephemeral cluster started once per test process (and stopped, its files
/// removed, by a watchdog when the process ends).
pub fn test_server_url() -> Result<String, TestDbError> {
    for name in ["TASKFORCE__DATABASE__URL", "DATABASE_URL"] {
        if let Ok(url) = std::env::var(name)
            && !url.trim().is_empty()
        {
            return Ok(crate::without_tls_on_loopback(url.trim()));
        }
    }
    EPHEMERAL.get_or_init(|| start_ephemeral().map_err(|error| error.to_string())).clone().map_err(TestDbError::Cluster)
}

/// Starts a new ephemeral cluster whatever the environment says and returns
/// its URL; it lives until this process ends. [`test_server_url`] calls this
/// once when no URL is configured.
pub fn start_ephemeral() -> Result<String, ClusterError> {
    let bins = PgBinaries::locate()?;
    let root = std::env::temp_dir().join(format!(
        "taskforce-test-pg-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let cluster = Cluster::new(bins, root.join("data"));
    cluster.make_dir(&root)?;
    cluster.init_if_needed(Durability::Ephemeral)?;
    let running = cluster.start(None)?;
    let url = running.url("postgres");
    spawn_watchdog(running.cluster(), &root)?;
    running.detach();
    Ok(url)
}

/// Stops the cluster and removes its files once this process is gone,
/// however it ends.
fn spawn_watchdog(cluster: &Cluster, root: &Path) -> Result<(), ClusterError> {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{root}'",
        pid = std::process::id(),
        stop = cluster.stop_command_line(),
        root = root.display(),
    );
    let mut watchdog = Command::new("sh");
    watchdog.arg("-c").arg(script).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).process_group(0);
    if let Some((uid, gid)) = cluster.owner() {
        watchdog.uid(uid).gid(gid);
    }
    watchdog
        .spawn()
        .map(|_| ())
        .map_err(|source| ClusterError::Io { context: "starting the test cluster's watchdog".into(), source })
}

/// An empty database created for one test and dropped when the value is
/// dropped.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    server: String,
}

#[derive(QueryableByName)]
struct Datname {
    #[diesel(sql_type = Text)]
    datname: String,
}

impl TestDatabase {
    /// Creates a fresh, empty database.
    pub fn create() -> Result<Self, TestDbError> {
        let server = test_server_url()?;
        let mut admin = PgConnection::establish(&server)?;
        sweep_stale(&mut admin)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let name = format!("tf_test_{now}_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut admin)?;
        Ok(Self { url: with_database(&server, &name), name, server })
    }

    /// The database's connection URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the server's maintenance database.
    pub fn server_url(&self) -> &str {
        &self.server
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.server).map_err(TestDbError::from).and_then(|mut admin| {
            diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name))
                .execute(&mut admin)
                .map_err(TestDbError::from)
        });
        if let Err(error) = dropped {
            tracing::warn!(%error, database = %self.name, "could not drop the test database");
        }
    }
}

/// Drops test databases left by runs that were killed before cleaning up.
fn sweep_stale(admin: &mut PgConnection) -> Result<(), TestDbError> {
    let mut swept = STALE_SWEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if *swept {
        return Ok(());
    }
    *swept = true;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let names: Vec<Datname> =
        diesel::sql_query("SELECT datname::text AS datname FROM pg_database WHERE datname LIKE 'tf\\_test\\_%'")
            .load(admin)?;
    for Datname { datname } in names {
        let created: Option<u64> = datname.split('_').nth(2).and_then(|secs| secs.parse().ok());
        if created.is_some_and(|created| now.saturating_sub(created) > STALE_AFTER_SECS) {
            diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{datname}\" WITH (FORCE)")).execute(admin)?;
        }
    }
    Ok(())
}
