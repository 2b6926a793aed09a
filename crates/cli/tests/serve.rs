//! `taskforce serve` as a process: start-up on a configured database and on
//! the embedded cluster, graceful exit on SIGTERM, refusal of unsafe
//! production settings.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use taskforce_pgcluster::{TestDatabase, free_port};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn server(port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskforce"));
    command
        .args(["serve", "--port", &port.to_string()])
        .env("TASKFORCE_CONFIG_DIR", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config"))
        .env_remove("DATABASE_URL")
        .env_remove("TASKFORCE__DATABASE__URL")
        .env_remove("REDIS_URL")
        .env("TASKFORCE__REDIS__URL", "")
        // one folder in the build's scratch space for every run, not one per process in /tmp
        .env("TASKFORCE__STORAGE__ROOT", Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-files"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// `GET path` over a raw socket: (status, body).
fn get(port: u16, host: &str, path: &str) -> Result<(u16, String), std::io::Error> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

fn wait_until_up(child: &mut Child, port: u16, within: Duration) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    while started.elapsed() < within {
        if let Some(status) = child.try_wait()? {
            let mut stderr = String::new();
            child.stderr.take().map(|mut e| e.read_to_string(&mut stderr));
            return Err(format!("server exited early with {status}: {stderr}").into());
        }
        if get(port, "localhost", "/api/health/").is_ok_and(|(status, _)| status == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("server did not come up".into())
}

fn terminate(child: &mut Child, within: Duration) -> Result<Option<i32>, Box<dyn std::error::Error>> {
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    assert!(killed.success());
    let started = Instant::now();
    while started.elapsed() < within {
        if let Some(status) = child.try_wait()? {
            return Ok(status.code());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill()?;
    Err("the server did not exit after SIGTERM".into())
}

#[test]
fn serve_answers_and_exits_zero_on_sigterm() -> TestResult {
    let db = TestDatabase::create()?;
    let port = free_port()?;
    let mut child = server(port).env("TASKFORCE_ENV", "test").env("TASKFORCE__DATABASE__URL", db.url()).spawn()?;
    wait_until_up(&mut child, port, Duration::from_secs(30))?;
    let (status, body) = get(port, "localhost", "/api/health/ready/")?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(terminate(&mut child, Duration::from_secs(15))?, Some(0));
    Ok(())
}

/// `program args` in the test environment on the database at `url`.
fn on(program: &str, args: &[&str], url: &str) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .env("TASKFORCE_CONFIG_DIR", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config"))
        .env("TASKFORCE_ENV", "test")
        .env("TASKFORCE__DATABASE__URL", url)
        .env_remove("DATABASE_URL");
    command
}

/// A server that does not migrate at start (production's setting) refuses a
/// shared schema older than itself, naming what to run; it used to answer
/// readiness with `200` and then `500` on every request.
#[test]
fn serve_that_does_not_migrate_refuses_a_shared_schema_that_is_not_migrated() -> TestResult {
    let db = TestDatabase::create()?;
    let out = server(free_port()?)
        .env("TASKFORCE_ENV", "test")
        .env("TASKFORCE__DATABASE__URL", db.url())
        .env("TASKFORCE__DATABASE__AUTO_MIGRATE", "false")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the shared schema lacks"), "{stderr}");
    assert!(stderr.contains("run `taskforce migrate`"), "{stderr}");
    // tenant-admin too, rather than PostgreSQL's "relation does not exist"
    let admin = on(env!("CARGO_BIN_EXE_tenant-admin"), &["tenant", "list"], db.url())
        .env("TASKFORCE__DATABASE__AUTO_MIGRATE", "false")
        .output()?;
    let stderr = String::from_utf8_lossy(&admin.stderr);
    assert_eq!(admin.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the shared schema lacks"), "{stderr}");
    // once migrated, the same server starts
    let migrated = on(env!("CARGO_BIN_EXE_taskforce"), &["migrate", "--shared"], db.url()).output()?;
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let port = free_port()?;
    let mut child = server(port)
        .env("TASKFORCE_ENV", "test")
        .env("TASKFORCE__DATABASE__URL", db.url())
        .env("TASKFORCE__DATABASE__AUTO_MIGRATE", "false")
        .spawn()?;
    wait_until_up(&mut child, port, Duration::from_secs(30))?;
    assert_eq!(terminate(&mut child, Duration::from_secs(15))?, Some(0));
    Ok(())
}

#[test]
fn serve_without_a_database_runs_on_the_embedded_cluster_and_stops_it() -> TestResult {
    if taskforce_pgcluster::PgBinaries::locate().is_err() {
        return Ok(taskforce_pgcluster::skip_unless_required("no PostgreSQL server binaries on this machine")?);
    }
    let dir = tempfile_dir()?;
    let data = dir.join("postgres");
    let port = free_port()?;
    let mut child = server(port)
        .env("TASKFORCE_ENV", "development")
        .env("TASKFORCE__DATABASE__EMBEDDED_DIR", &data)
        .env("TASKFORCE__DATABASE__EMBEDDED_PORT", free_port()?.to_string())
        .spawn()?;
    wait_until_up(&mut child, port, Duration::from_secs(60))?;
    // migrated, with the dev tenant on localhost and dev.localhost
    let (status, body) = get(port, "localhost", "/api/health/ready/")?;
    assert_eq!(status, 200, "{body}");
    for host in ["localhost", "dev.localhost"] {
        let (status, body) = get(port, host, "/api/auth/me/")?;
        assert_eq!(status, 401, "{host}: {body}");
        assert!(body.contains("not_authenticated"), "{host}: {body}");
    }
    assert!(data.join("PG_VERSION").is_file());
    assert!(data.join("postmaster.pid").is_file(), "the cluster runs while serving");
    assert_eq!(terminate(&mut child, Duration::from_secs(30))?, Some(0));
    assert!(!data.join("postmaster.pid").exists(), "the cluster is stopped on exit");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Kills a child that a failed assertion left running.
struct Reaped(Option<Child>);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Ctrl-C in the middle of a tenant-admin command that started the embedded
/// cluster stops that cluster (a process killed by a signal runs no drop)
/// and exits with 130, one line on stderr.
#[test]
fn an_interrupted_tenant_admin_stops_the_embedded_cluster_it_started() -> TestResult {
    if taskforce_pgcluster::PgBinaries::locate().is_err() {
        return Ok(taskforce_pgcluster::skip_unless_required("no PostgreSQL server binaries on this machine")?);
    }
    // a folder of this test's own: the tests of one process run side by side
    let folder = tempfile::tempdir()?;
    let data = folder.path().join("postgres");
    let port = free_port()?;
    let mut child = Reaped(Some(filling_spares(folder.path(), port)?));
    let pid = child.0.as_ref().ok_or("child")?.id();
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status()?.success());
    let out = child.0.take().ok_or("child")?.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    // the handler's line is the last word: logging is silenced before the
    // stop, so the connection it cut logs no warning of its rollback (the
    // one line before it says the cluster was made)
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].starts_with("warning: created a new, empty embedded PostgreSQL cluster in "), "{stderr}");
    assert_eq!(
        lines[1],
        "error: interrupted; the embedded PostgreSQL cluster was stopped (a unit of work under way, if any, was rolled back)",
        "{stderr}"
    );
    assert!(!data.join("postmaster.pid").exists(), "the cluster still runs");
    Ok(())
}

/// Commands started at the same moment on a folder with no cluster yet all
/// run: one creates the cluster (and says so), the others wait for it, and
/// none fails on the database another is creating.
#[test]
fn first_runs_at_the_same_moment_share_the_cluster_one_of_them_creates() -> TestResult {
    if taskforce_pgcluster::PgBinaries::locate().is_err() {
        return Ok(taskforce_pgcluster::skip_unless_required("no PostgreSQL server binaries on this machine")?);
    }
    let folder = tempfile::tempdir()?;
    let port = free_port()?;
    let commands: Vec<Reaped> = (0..3)
        .map(|_| tenant_admin(folder.path(), port).args(["tenant", "list", "--json"]).spawn().map(|c| Reaped(Some(c))))
        .collect::<Result<_, _>>()?;
    let mut created = 0;
    for mut command in commands {
        let out = command.0.take().ok_or("child")?.wait_with_output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        created += stderr.matches("warning: created a new, empty embedded PostgreSQL cluster in").count();
    }
    assert_eq!(created, 1, "one of them creates the cluster, and says so");
    assert!(!folder.path().join("postgres/postmaster.pid").exists(), "the last one left the cluster running");
    Ok(())
}

/// `tenant-admin` on the embedded cluster in `folder/postgres` on `port`.
fn tenant_admin(folder: &Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenant-admin"));
    command
        .env("TASKFORCE_ENV", "development")
        .env("TASKFORCE_CONFIG_DIR", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config"))
        .env_remove("DATABASE_URL")
        .env_remove("TASKFORCE__DATABASE__URL")
        .env("TASKFORCE__REDIS__URL", "")
        .env("TASKFORCE__STORAGE__ROOT", folder.join("files"))
        .env("TASKFORCE__DATABASE__EMBEDDED_DIR", folder.join("postgres"))
        .env("TASKFORCE__DATABASE__EMBEDDED_PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// `tenant-admin spares fill` started on the embedded cluster, once it has
/// begun filling (it started the cluster if none ran).
fn filling_spares(folder: &Path, port: u16) -> Result<Child, Box<dyn std::error::Error>> {
    use diesel::{Connection, RunQueryDsl};
    let mut child = Reaped(Some(tenant_admin(folder, port).args(["spares", "fill", "--count", "5000"]).spawn()?));
    // filling has begun once a spare is recorded (a deadline for the wait,
    // not a speed claim: initdb and the start come first)
    let url = format!("postgres://postgres@127.0.0.1:{port}/taskforce");
    let spares = || -> Option<i64> {
        let mut conn = diesel::PgConnection::establish(&url).ok()?;
        diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM public.spare_schemas")
            .get_result(&mut conn)
            .ok()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while spares().unwrap_or(0) == 0 {
        let running = child.0.as_mut().ok_or("child")?.try_wait()?.is_none();
        assert!(Instant::now() < deadline && running, "the command never began filling");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(child.0.take().ok_or("child")?)
}

/// The embedded cluster is stopped by the last process that uses it, not by
/// the one that started it: a `tenant-admin` interrupted while a later
/// `serve` runs on its cluster leaves it running, and a server killed
/// outright (no drop, no handler) leaves its cluster to the next process,
/// which stops it on its way out.
#[test]
fn the_embedded_cluster_is_stopped_by_the_last_process_using_it() -> TestResult {
    if taskforce_pgcluster::PgBinaries::locate().is_err() {
        return Ok(taskforce_pgcluster::skip_unless_required("no PostgreSQL server binaries on this machine")?);
    }
    let folder = tempfile::tempdir()?;
    let data = folder.path().join("postgres");
    let cluster_port = free_port()?;
    let mut admin = Reaped(Some(filling_spares(folder.path(), cluster_port)?));

    // a server on the cluster the tool started
    let port = free_port()?;
    let serving = server(port)
        .env("TASKFORCE_ENV", "development")
        .env("TASKFORCE__DATABASE__EMBEDDED_DIR", &data)
        .env("TASKFORCE__DATABASE__EMBEDDED_PORT", cluster_port.to_string())
        .spawn()?;
    let mut serving = Reaped(Some(serving));
    wait_until_up(serving.0.as_mut().ok_or("server")?, port, Duration::from_secs(60))?;

    // the tool interrupted: it lets go, and the cluster stays for the server
    let pid = admin.0.as_ref().ok_or("tool")?.id();
    assert!(Command::new("kill").args(["-INT", &pid.to_string()]).status()?.success());
    let out = admin.0.take().ok_or("tool")?.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("keeps running for the other processes using it"), "{stderr}");
    let (status, body) = get(port, "localhost", "/api/health/ready/")?;
    assert_eq!(status, 200, "the server lost its database: {body}");
    let (status, body) = get(port, "dev.localhost", "/api/auth/me/")?;
    assert_eq!(status, 401, "{body}");

    // the server killed outright: nothing of it stops the cluster
    let mut killed = serving.0.take().ok_or("server")?;
    killed.kill()?;
    killed.wait()?;
    assert!(data.join("postmaster.pid").is_file(), "the cluster runs on after a killed server");

    // the next process adopts it, and stops it as the last to let go
    let out = tenant_admin(folder.path(), cluster_port).args(["tenant", "list", "--json"]).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!data.join("postmaster.pid").exists(), "the last process left the cluster running: {stderr}");
    Ok(())
}

#[test]
fn production_refuses_the_default_or_a_short_jwt_secret() -> TestResult {
    for (secret, reason) in [(None, "development default"), (Some("too-short"), "at least 32")] {
        let mut command = server(free_port()?);
        // a database the refusal comes before
        command.env("TASKFORCE_ENV", "production").env("TASKFORCE__DATABASE__URL", "postgres://127.0.0.1:9/none");
        if let Some(secret) = secret {
            command.env("TASKFORCE__AUTH__JWT_SECRET", secret);
        } else {
            command.env_remove("TASKFORCE__AUTH__JWT_SECRET");
        }
        let out = command.output()?;
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{stderr}");
    }
    // tenant-admin signs nothing: the default secret does not stop it (it
    // goes on to its database, which is not there)
    let folder = tempfile::tempdir()?;
    let out = tenant_admin(folder.path(), free_port()?)
        .args(["tenant", "list"])
        .env("TASKFORCE_ENV", "production")
        .env("TASKFORCE__DATABASE__URL", "postgres://127.0.0.1:9/none")
        .env_remove("TASKFORCE__AUTH__JWT_SECRET")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("connecting to PostgreSQL") && !stderr.contains("JWT"), "{stderr}");
    Ok(())
}

/// A `.env` line that cannot be read stops the program at its place in the
/// file, without quoting it (it may hold a secret); before, it was passed
/// over without a word, and every line after it with it.
#[test]
fn a_dotenv_line_that_cannot_be_read_is_named_by_its_place_not_its_text() -> TestResult {
    let folder = tempfile::tempdir()?;
    std::fs::write(
        folder.path().join(".env"),
        "# settings\nTASKFORCE__SERVER__PORT=8123\nTASKFORCE__AUTH__JWT_SECRET=hunter2 xyzzy\nTASKFORCE_ENV=test\n",
    )?;
    let out = tenant_admin(folder.path(), free_port()?).current_dir(folder.path()).args(["tenant", "list"]).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/.env:3: not NAME=value"), "{stderr}");
    assert!(!stderr.contains("hunter2") && !stderr.contains("xyzzy"), "{stderr}");
    Ok(())
}

/// `serve` in production with a valid secret and `settings` on top:
/// it must stop with exit 1 and give `reason`.
fn refused_in_production(settings: &[(&str, &str)], reason: &str) -> TestResult {
    let mut command = server(free_port()?);
    command
        .env("TASKFORCE_ENV", "production")
        .env("TASKFORCE__AUTH__JWT_SECRET", "a-production-secret-of-more-than-32-bytes")
        .envs(settings.iter().copied());
    let out = command.output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(reason), "{stderr}");
    Ok(())
}

#[test]
fn production_refuses_to_run_on_the_embedded_cluster() -> TestResult {
    refused_in_production(&[("TASKFORCE__DATABASE__URL", "")], "production needs TASKFORCE__DATABASE__URL")
}

#[test]
fn production_serve_refuses_a_mailer_that_sends_nothing() -> TestResult {
    refused_in_production(
        &[("TASKFORCE__DATABASE__URL", "postgres://127.0.0.1:9/none"), ("TASKFORCE__MAIL__TRANSPORT", "log")],
        "TASKFORCE__MAIL__TRANSPORT=smtp",
    )
}

/// A file store that cannot be set up stops the start with one reason,
/// named by its setting once.
#[test]
fn a_file_store_that_cannot_be_set_up_is_named_by_its_setting_once() -> TestResult {
    let cases = [
        ("TASKFORCE__STORAGE__URL", "s3://bucket?bogus=1", "error: storage.url: unknown option \"bogus\""),
        ("TASKFORCE__STORAGE__ROOT", "/dev/null/files", "error: storage.root: creating /dev/null/files: "),
    ];
    let db = TestDatabase::create()?;
    for (name, value, reason) in cases {
        let out = server(free_port()?)
            .env("TASKFORCE_ENV", "test")
            .env("TASKFORCE__DATABASE__URL", db.url())
            .env(name, value)
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(reason), "{stderr}");
        let setting = if name.ends_with("URL") { "storage.url" } else { "storage.root" };
        assert_eq!(stderr.matches(setting).count(), 1, "{stderr}");
        assert!(!stderr.contains("file store:"), "{stderr}");
    }
    Ok(())
}

#[test]
fn a_variable_that_is_not_text_is_refused_if_it_is_a_setting_and_ignored_otherwise() -> TestResult {
    use std::os::unix::ffi::OsStrExt;
    let not_text = std::ffi::OsStr::from_bytes(b"caf\xe9");
    // a setting: refused with its name, not a panic
    let out = server(free_port()?).env("TASKFORCE__AUTH__ISSUER", not_text).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TASKFORCE__AUTH__ISSUER is not valid UTF-8"), "{stderr}");
    // the environment's name too: not taken for development unread
    let out = server(free_port()?).env("TASKFORCE_ENV", not_text).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("TASKFORCE_ENV is not valid UTF-8"), "{stderr}");
    // another program's variable: the settings load, and production's own
    // refusal (no secret) is what stops it
    let out = server(free_port()?)
        .env("TASKFORCE_ENV", "production")
        .env("TASKFORCE__DATABASE__URL", "postgres://127.0.0.1:9/none")
        .env_remove("TASKFORCE__AUTH__JWT_SECRET")
        .env("SOME_OTHER_PROGRAM", not_text)
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("development default"), "{stderr}");
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf, std::io::Error> {
    let dir = std::env::temp_dir().join(format!("taskforce-serve-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[test]
fn every_request_leaves_one_json_log_line_with_its_request_id() -> TestResult {
    let db = TestDatabase::create()?;
    let port = free_port()?;
    let mut child = server(port)
        .env("TASKFORCE_ENV", "test")
        .env("TASKFORCE__DATABASE__URL", db.url())
        .env("TASKFORCE__LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .spawn()?;
    wait_until_up(&mut child, port, Duration::from_secs(30))?;
    let mut ids = Vec::new();
    let requests = [
        ("localhost", "/api/health/ready/"),
        ("nowhere.example", "/api/projects/"),
        ("nowhere.example", "/api/notifications/stream/?ticket=s3cret-ticket&last_event_id=2"),
    ];
    for (host, path) in requests {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let id = response
            .lines()
            .find_map(|line| line.strip_prefix("x-request-id: "))
            .ok_or_else(|| format!("no x-request-id in {response}"))?;
        ids.push((path, id.trim().to_owned()));
    }
    assert_eq!(terminate(&mut child, Duration::from_secs(15))?, Some(0));
    let mut stderr = String::new();
    child.stderr.take().ok_or("no stderr")?.read_to_string(&mut stderr)?;
    let lines: Vec<serde_json::Value> = stderr.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    // a stream ticket opens the stream for a minute: it is never written out
    assert!(!stderr.contains("s3cret-ticket"), "{stderr}");
    let logged =
        ["/api/health/ready/", "/api/projects/", "/api/notifications/stream/?ticket=[redacted]&last_event_id=2"];
    for (((_, id), status), path) in ids.iter().zip([200, 404, 404]).zip(logged) {
        let of_request: Vec<&serde_json::Value> = lines
            .iter()
            .filter(|line| line["fields"]["message"] == "request" && line["span"]["request_id"] == id.as_str())
            .collect();
        assert_eq!(of_request.len(), 1, "{path}: one line per request, with its id {id}: {stderr}");
        let line = of_request[0];
        assert_eq!(line["fields"]["status"], status, "{line}");
        assert_eq!(line["target"], "taskforce::access", "{line}");
        assert!(line["fields"]["elapsed_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
        assert_eq!(line["span"]["http.target"], path, "{line}");
    }
    Ok(())
}

/// A configuration folder named in `TASKFORCE_CONFIG_DIR` must be there:
/// one that is missing or is no folder would leave every setting at its
/// compiled-in default without a word. A port that is taken fails before
/// anything is migrated or made.
#[test]
fn a_named_config_folder_that_cannot_be_read_and_a_taken_port_stop_serve_at_once() -> TestResult {
    let folder = tempfile::tempdir()?;
    let file = folder.path().join("plain-file");
    std::fs::write(&file, "not a folder")?;
    for dir in [folder.path().join("missing"), file] {
        let out = server(free_port()?).env("TASKFORCE_CONFIG_DIR", &dir).output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("TASKFORCE_CONFIG_DIR={} cannot be read as a folder", dir.display())),
            "{stderr}"
        );
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = taken.local_addr()?.port();
    // a database URL that answers nothing: were it opened first, the error would name it
    let out = server(port).env("TASKFORCE__DATABASE__URL", "postgres://nobody@127.0.0.1:1/none").output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{stderr}");
    Ok(())
}
