//! Initialising, starting and stopping a private cluster with `initdb` and
//! `pg_ctl`.

use std::{
    fs,
    net::TcpListener,
    os::unix::{fs::MetadataExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use crate::PgBinaries;

/// Why a private cluster could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No folder with `initdb`, `pg_ctl` and `postgres` was found.
    #[error(
        "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found on PATH or under /usr/lib/postgresql/*/bin: \
         install PostgreSQL (Debian/Ubuntu: apt install postgresql; macOS: brew install postgresql) \
         or set TASKFORCE__DATABASE__URL (or DATABASE_URL) to a running server"
    )]
    BinariesNotFound,
    /// A PostgreSQL tool exited with an error.
    #[error("{command} failed: {detail}")]
    Command {
        /// The tool and its main argument.
        command: String,
        /// What it printed, last lines first.
        detail: String,
    },
    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let context = context.into();
    move |source| ClusterError::Io { context, source }
}

/// Settings written into a new cluster's `postgresql.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Crash-safe, for the development data kept under `.data/postgres`.
    Durable,
    /// `fsync` off: for throw-away test clusters only.
    Ephemeral,
}

/// A cluster's data folder and the account its processes run as.
#[derive(Debug, Clone)]
pub struct Cluster {
    bins: PgBinaries,
    data_dir: PathBuf,
    owner: Option<(u32, u32)>,
}

/// A started cluster, used by this process until it is dropped, stopped or
/// [detached](RunningCluster::detach). Every process that uses a cluster's
/// folder holds a lease on it (a shared lock on `<folder>.users`), whoever
/// started the server: the last one to let go stops it, so a `tenant-admin`
/// that started the cluster does not stop it under a `serve` that came
/// later, and a server left running by a process that was killed is
/// stopped by the next one that uses it and lets go last.
#[derive(Debug)]
pub struct RunningCluster {
    cluster: Cluster,
    port: u16,
    /// Whether this process started the server (rather than found it running).
    started: bool,
    /// Whether letting go stops the server when this is the last lease;
    /// false once detached.
    stops: bool,
    lease: std::sync::Arc<Lease>,
}

/// One process's lease on a cluster; let go once, by whoever comes first:
/// the [`RunningCluster`]'s drop or a [`StopHandle`] (a signal handler).
#[derive(Debug)]
struct Lease {
    /// `<folder>.users`, locked shared while the lease is held.
    users: fs::File,
    released: std::sync::atomic::AtomicBool,
}

/// What letting go of a lease did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// This process was the last user, and stopped the server.
    Stopped,
    /// Another process holds a lease: the server keeps running for it.
    InUse,
    /// No server was running on the folder any more.
    NotRunning,
    /// The lease had been let go already (by the other of the drop and a
    /// [`StopHandle`]), or was [detached](RunningCluster::detach).
    Already,
    /// Another process kept the folder's gate (creating or starting the
    /// cluster) past the wait: the lease is let go, the server left running.
    Busy,
}

/// Lets go of a [`RunningCluster`]'s lease from elsewhere (a signal
/// handler's thread), stopping the server if no other process holds one.
#[derive(Debug, Clone)]
pub struct StopHandle {
    cluster: Cluster,
    lease: std::sync::Arc<Lease>,
}

impl StopHandle {
    /// Lets go of the lease unless that was done already, and stops the
    /// server if it was the last one.
    pub fn stop(&self) -> Result<Released, ClusterError> {
        self.cluster.release(&self.lease, true)
    }
}

impl Cluster {
    /// A cluster kept in `data_dir`. PostgreSQL refuses to run as root, so
    /// when this process is root the cluster belongs to the `postgres`
    /// account (or `nobody`) and its tools run as that account.
    pub fn new(bins: PgBinaries, data_dir: impl Into<PathBuf>) -> Self {
        let owner = running_as_root().then(service_account).flatten();
        Self { bins, data_dir: data_dir.into(), owner }
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Lets go of `lease` unless that was done already and, when `stop` and
    /// no other process holds a lease, stops the server running in this
    /// folder (fast shutdown: sessions are ended, data is kept). The gate is
    /// held throughout, so no other process starts using the server while it
    /// is being stopped; it is waited for [`RELEASE_WAIT`] at most (another
    /// process's initdb or start holds it), so an interrupted command does
    /// not hang behind another.
    fn release(&self, lease: &Lease, stop: bool) -> Result<Released, ClusterError> {
        if lease.released.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Ok(Released::Already);
        }
        let Some(_gate) = self.gate_within(RELEASE_WAIT)? else {
            let _ = lease.users.unlock();
            return Ok(Released::Busy);
        };
        lease.users.unlock().map_err(io(format!("letting go of {}", self.users_path().display())))?;
        if !stop {
            return Ok(Released::Already);
        }
        match lease.users.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Ok(Released::InUse),
            Err(fs::TryLockError::Error(error)) => {
                return Err(io(format!("locking {}", self.users_path().display()))(error));
            }
        }
        let stopped = if self.running_port().is_some() {
            let mut pg_ctl = self.command("pg_ctl");
            pg_ctl.arg("-D").arg(&self.data_dir).args(["-m", "fast", "-w", "stop"]);
            run(pg_ctl, "pg_ctl stop").map(|_| Released::Stopped)
        } else {
            Ok(Released::NotRunning)
        };
        let _ = lease.users.unlock();
        stopped
    }

    /// `<folder>.lock`, held exclusively while a process creates, starts or
    /// stops the cluster, so that two never do at once (two first runs
    /// making the folder would each remove the other's).
    fn gate(&self) -> Result<fs::File, ClusterError> {
        let path = self.beside("lock");
        let file = lock_file(&path)?;
        file.lock().map_err(io(format!("locking {}", path.display())))?;
        Ok(file)
    }

    /// [`gate`](Self::gate), or `None` if another process keeps it longer
    /// than `wait`.
    fn gate_within(&self, wait: std::time::Duration) -> Result<Option<fs::File>, ClusterError> {
        let path = self.beside("lock");
        let file = lock_file(&path)?;
        let deadline = std::time::Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(file)),
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => return Ok(None),
                Err(fs::TryLockError::Error(error)) => return Err(io(format!("locking {}", path.display()))(error)),
            }
        }
    }

    /// `<folder>.users`: a shared lock on it is a process's lease.
    fn users_path(&self) -> PathBuf {
        self.beside("users")
    }

    /// `<folder>.<suffix>`, beside the data folder: the whole name with a
    /// suffix (`pg.a` and `pg.b` have locks of their own).
    fn beside(&self, suffix: &str) -> PathBuf {
        let name = self.data_dir.file_name().map_or_else(|| "cluster".into(), |n| n.to_string_lossy().into_owned());
        self.data_dir.with_file_name(format!("{name}.{suffix}"))
    }

    /// The folder initdb of process `pid` works in before it is renamed to
    /// the data folder.
    fn staging_dir(&self, pid: u32) -> PathBuf {
        self.data_dir.with_extension(format!("init-{pid}"))
    }

    /// Removes the staging folders ([`Cluster::staging_dir`]) of earlier runs
    /// whose process is gone: an initdb they interrupted leaves ~40 MB each.
    fn remove_abandoned_staging(&self) {
        let Some(parent) = self.data_dir.parent() else { return };
        let prefix = self.staging_dir(0).file_name().map(|n| n.to_string_lossy().trim_end_matches('0').to_owned());
        let (Some(prefix), Ok(entries)) = (prefix, fs::read_dir(parent)) else { return };
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = file_name.strip_prefix(&prefix).and_then(|pid| pid.parse::<u32>().ok()) else { continue };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Creates the cluster unless the folder already holds one. Returns
    /// whether it was created. A half-made cluster from an interrupted run is
    /// removed and made again.
    pub fn init_if_needed(&self, durability: Durability) -> Result<bool, ClusterError> {
        let _gate = self.gate()?;
        if self.data_dir.join("PG_VERSION").is_file() && self.data_dir.join("postgresql.conf").is_file() {
            return Ok(false);
        }
        let staging = self.staging_dir(std::process::id());
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io(format!("removing {}", staging.display())))?;
        }
        self.remove_abandoned_staging();
        self.make_dir(&staging)?;
        let mut initdb = self.command("initdb");
        initdb.arg("-D").arg(&staging).args(["-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        initdb.arg(format!("--locale={}", utf8_locale()));
        if durability == Durability::Ephemeral {
            initdb.arg("--no-sync");
        }
        run(initdb, "initdb")?;
        let mut conf = String::from(
            "\n# written by taskforce\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_connections = 300\n",
        );
        if durability == Durability::Ephemeral {
            conf.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        append(&staging.join("postgresql.conf"), &conf)?;
        if self.data_dir.exists() {
            fs::remove_dir_all(&self.data_dir).map_err(io(format!("removing {}", self.data_dir.display())))?;
        }
        fs::rename(&staging, &self.data_dir)
            .map_err(io(format!("moving the new cluster to {}", self.data_dir.display())))?;
        Ok(true)
    }

    /// Starts the server on `127.0.0.1` — on `port` if given and free,
    /// otherwise on a free one — and waits until it accepts connections. A
    /// server already running on this folder is reused, not restarted.
    /// Either way this process holds a lease on it from now on.
    pub fn start(self, port: Option<u16>) -> Result<RunningCluster, ClusterError> {
        let _gate = self.gate()?;
        let users = lock_file(&self.users_path())?;
        users.lock_shared().map_err(io(format!("locking {}", self.users_path().display())))?;
        let lease = std::sync::Arc::new(Lease { users, released: Default::default() });
        if let Some(port) = self.running_port() {
            return Ok(RunningCluster { cluster: self, port, started: false, stops: true, lease });
        }
        let port = match port {
            Some(port) if TcpListener::bind(("127.0.0.1", port)).is_ok() => port,
            _ => free_port()?,
        };
        let log = self.data_dir.join("server.log");
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(&self.data_dir).arg("-l").arg(&log).args([
            "-w",
            "-t",
            "60",
            "-o",
            &format!("-p {port}"),
            "start",
        ]);
        run(pg_ctl, "pg_ctl start").map_err(|error| match error {
            ClusterError::Command { command, detail } => {
                let tail = fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(5).collect();
                ClusterError::Command { command, detail: format!("{detail} {}", tail.join(" | ")) }
            }
            other => other,
        })?;
        Ok(RunningCluster { cluster: self, port, started: true, stops: true, lease })
    }

    /// The port of a server already running on this folder, if any.
    fn running_port(&self) -> Option<u16> {
        let mut status = self.command("pg_ctl");
        status.arg("-D").arg(&self.data_dir).arg("status");
        let running = status.output().is_ok_and(|out| out.status.success());
        if !running {
            return None;
        }
        // postmaster.pid: pid, data dir, start time, port, ...
        fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?.lines().nth(3)?.trim().parse().ok()
    }

    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(self.bins.bin(tool));
        command.stdin(Stdio::null()).env("LC_ALL", utf8_locale());
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command
    }

    /// Creates a folder (and its parents) that the cluster's account owns.
    pub fn make_dir(&self, dir: &Path) -> Result<(), ClusterError> {
        fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid))
                .map_err(io(format!("handing {} to the postgres account", dir.display())))?;
        }
        Ok(())
    }

    /// A shell command line, run as the cluster's account, that stops the
    /// server right away; used by watchdogs.
    pub fn stop_command_line(&self) -> String {
        format!("'{}' -D '{}' -m immediate -w stop", self.bins.bin("pg_ctl").display(), self.data_dir.display())
    }

    /// The account the cluster runs as, when this process is root.
    pub fn owner(&self) -> Option<(u32, u32)> {
        self.owner
    }
}

impl RunningCluster {
    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for one database of the cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Whether this process started the server, rather than found it
    /// running.
    pub fn started(&self) -> bool {
        self.started
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Creates a database unless it exists, also when another process
    /// creates it at the same moment (two first runs: the loser's `CREATE
    /// DATABASE` fails on the catalog's unique name, and the database is
    /// there).
    pub fn ensure_database(&self, name: &str) -> Result<(), diesel::result::Error> {
        use diesel::{Connection, RunQueryDsl};
        let mut conn = diesel::PgConnection::establish(&self.url("postgres"))
            .map_err(|e| diesel::result::Error::QueryBuilderError(Box::new(e)))?;
        if database_exists(&mut conn, name)? {
            return Ok(());
        }
        match diesel::sql_query(format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""))).execute(&mut conn) {
            Ok(_) => Ok(()),
            Err(_) if database_exists(&mut conn, name)? => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Lets go of the lease and leaves the server running, whoever else
    /// uses it: its stopping is someone else's (a watchdog's) business.
    pub fn detach(mut self) -> Cluster {
        self.stops = false;
        self.cluster.clone()
    }

    /// Lets go of the lease and stops the server (fast shutdown: sessions
    /// are ended, data is kept) unless another process still holds one.
    pub fn stop(mut self) -> Result<Released, ClusterError> {
        let stops = std::mem::replace(&mut self.stops, false);
        self.cluster.release(&self.lease, stops)
    }

    /// A handle that lets go of this lease (stopping the server if it is
    /// the last) from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle { cluster: self.cluster.clone(), lease: self.lease.clone() }
    }
}

impl Drop for RunningCluster {
    fn drop(&mut self) {
        if let Err(error) = self.cluster.release(&self.lease, self.stops) {
            tracing::warn!(%error, "could not stop the private PostgreSQL cluster");
        }
    }
}

/// The locale the cluster is made and run with: `C.UTF-8` where the machine
/// has it (glibc, musl, recent macOS), else `en_US.UTF-8` (older macOS),
/// else `C` (initdb's `-E UTF8` still stores UTF-8; only case folding past
/// ASCII, as in `ILIKE`, is lost). Without `locale -a`, `C.UTF-8`.
fn utf8_locale() -> &'static str {
    static CHOSEN: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    CHOSEN.get_or_init(|| {
        Command::new("locale")
            .arg("-a")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map_or("C.UTF-8", |out| pick_locale(&String::from_utf8_lossy(&out.stdout)))
    })
}

/// [`utf8_locale`]'s choice among the names `locale -a` printed, which
/// spell the code set in several ways (`C.utf8`, `C.UTF-8`).
fn pick_locale(available: &str) -> &'static str {
    let normal = |name: &str| name.trim().to_ascii_lowercase().replace('-', "");
    let have: std::collections::HashSet<String> = available.lines().map(normal).collect();
    ["C.UTF-8", "en_US.UTF-8"].into_iter().find(|wanted| have.contains(&normal(wanted))).unwrap_or("C")
}

/// How long letting go of a lease waits for another process's creation or
/// start of the cluster before leaving the server running.
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Opens (creating, and the folders above it) a lock file.
fn lock_file(path: &Path) -> Result<fs::File, ClusterError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    }
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io(format!("opening {}", path.display())))
}

fn run(mut command: Command, name: &str) -> Result<Output, ClusterError> {
    let output =
        command.stdout(Stdio::piped()).stderr(Stdio::piped()).output().map_err(io(format!("running {name}")))?;
    if output.status.success() {
        return Ok(output);
    }
    let text = String::from_utf8_lossy(&output.stderr).trim().to_owned()
        + " "
        + String::from_utf8_lossy(&output.stdout).trim();
    Err(ClusterError::Command { command: name.to_owned(), detail: text.trim().to_owned() })
}

fn append(path: &Path, text: &str) -> Result<(), ClusterError> {
    use std::io::Write;
    let mut file = fs::OpenOptions::new().append(true).open(path).map_err(io(format!("opening {}", path.display())))?;
    file.write_all(text.as_bytes()).map_err(io(format!("writing {}", path.display())))
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> Result<u16, ClusterError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io("finding a free port"))?;
    listener.local_addr().map(|addr| addr.port()).map_err(io("finding a free port"))
}

fn running_as_root() -> bool {
    fs::metadata("/proc/self").map(|meta| meta.uid() == 0).unwrap_or(false)
}

/// The uid and gid of the `postgres` account, or else `nobody`.
fn service_account() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    let find = |wanted: &str| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            match fields.as_slice() {
                [name, _, uid, gid, ..] if *name == wanted => Some((uid.parse().ok()?, gid.parse().ok()?)),
                _ => None,
            }
        })
    };
    find("postgres").or_else(|| find("nobody"))
}

/// Whether the cluster has a database `name`.
fn database_exists(conn: &mut diesel::PgConnection, name: &str) -> Result<bool, diesel::result::Error> {
    use diesel::RunQueryDsl;
    let count: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
        "SELECT count(*) FROM pg_database WHERE datname = '{}'",
        name.replace('\'', "''")
    ))
    .get_result(conn)?;
    Ok(count > 0)
}

#[cfg(test)]
mod tests {
    use super::pick_locale;

    #[test]
    fn the_locale_is_a_utf_8_one_the_machine_has() {
        // Debian's glibc
        assert_eq!(pick_locale("C\nC.utf8\nPOSIX\n"), "C.UTF-8");
        // an older macOS: no C.UTF-8
        assert_eq!(pick_locale("C\nPOSIX\nen_GB.UTF-8\nen_US.UTF-8\nUTF-8\n"), "en_US.UTF-8");
        // a minimal container
        assert_eq!(pick_locale("C\nPOSIX\n"), "C");
    }
}
