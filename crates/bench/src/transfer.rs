//! Tenant export and import at size: a tenant seeded with many rows is
//! exported, then imported under a new slug, each in a process of its own
//! that runs `tenant-admin`'s code with its settings (this binary's hidden
//! `tenant-admin`, so `cargo run -p taskforce-bench` builds all it needs).
//! Wall time, the file's size and each process's peak resident memory.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;
use diesel::{QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_types::BigInt};
use taskforce_domain::{Role, SchemaName, StoreError, TENANT_TABLES as TABLES};
use taskforce_pgcluster::TestDatabase;

use crate::fixture;

const MIB: f64 = 1024.0 * 1024.0;

/// Seeds a tenant with `tasks` tasks (and as many comments and activity
/// rows, half as many notifications), then exports and imports it.
pub fn run(tasks: u64) -> anyhow::Result<()> {
    let this = std::env::current_exe()?;
    let db = TestDatabase::create().context("creating the benchmark database")?;
    let files = tempfile::tempdir()?;
    let admin = |args: &[&str]| {
        let mut command = Command::new(&this);
        command
            .arg("tenant-admin")
            .args(args)
            .env("TASKFORCE_ENV", "test")
            .env("TASKFORCE_CONFIG_DIR", fixture::config_dir())
            .env("TASKFORCE__DATABASE__URL", db.url())
            .env("TASKFORCE__REDIS__URL", "")
            .env("TASKFORCE__STORAGE__ROOT", files.path())
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    };
    watched(admin(&["migrate"])).context("migrating the benchmark database")?;
    let operator = fixture::Operator::connect(db.url())?;
    operator.tenant("big")?;
    let owner = operator.member("big", "owner", Role::Owner)?;
    operator.member("big", "member", Role::Member)?;
    let source = SchemaName::parse("tenant_big")?;
    let started = Instant::now();
    operator.store.in_tenant_scope(&source, |conn| {
        conn.batch_execute(&seed_sql(tasks, owner.id.0)).map_err(StoreError::internal)
    })?;
    let before = counts(&operator, &source)?;
    println!(
        "seeded tenant 'big': {} row(s) in {:.1}s ({})",
        before.iter().sum::<i64>(),
        started.elapsed().as_secs_f64(),
        TABLES.iter().zip(&before).map(|(t, n)| format!("{t} {n}")).collect::<Vec<_>>().join(", ")
    );

    let file = files.path().join("big.json");
    let file_arg = file.to_str().context("a temporary path that is not UTF-8")?;
    let export = watched(admin(&["tenant", "export", "big", file_arg]))?;
    let size = std::fs::metadata(&file)?.len() as f64 / MIB;
    println!("export: {:.2}s, peak RSS {:.1} MiB, file {size:.1} MiB", export.seconds, export.peak_mib);
    let import = watched(admin(&["tenant", "import", file_arg, "--slug", "big-copy"]))?;
    println!("import: {:.2}s, peak RSS {:.1} MiB", import.seconds, import.peak_mib);

    let after = counts(&operator, &SchemaName::parse("tenant_big_copy")?)?;
    anyhow::ensure!(after == before, "the copy holds {after:?} rows where the original holds {before:?}");
    println!(
        "peak RSS per MiB of export: {:.2} (export), {:.2} (import)",
        export.peak_mib / size,
        import.peak_mib / size
    );
    Ok(())
}

/// The seeded rows: 20 projects, `tasks` tasks with a paragraph each, one
/// comment and one activity row per task, a notification for every other.
fn seed_sql(tasks: u64, owner: i64) -> String {
    format!(
        "INSERT INTO projects (name, description, owner_id)
           SELECT 'Project ' || g, 'Seeded project number ' || g, {owner} FROM generate_series(1, 20) g;
         INSERT INTO tasks (project_id, title, description, status, priority, created_by)
           SELECT 1 + (g % 20), 'Task ' || g, repeat('A paragraph of description for task ' || g || '. ', 5),
                  (ARRAY['todo','in_progress','in_review','done'])[1 + g % 4],
                  (ARRAY['low','medium','high','urgent'])[1 + g % 4], {owner}
             FROM generate_series(1, {tasks}) g;
         INSERT INTO comments (task_id, author_id, body)
           SELECT g, {owner}, 'A comment on task ' || g || ', with a few words more' FROM generate_series(1, {tasks}) g;
         INSERT INTO activity (actor_id, verb, target_type, target_id, project_id, changes)
           SELECT {owner}, 'updated', 'task', g, 1 + (g % 20),
                  json_build_object('status', json_build_array('todo', 'in_progress'))::jsonb
             FROM generate_series(1, {tasks}) g;
         INSERT INTO notifications (recipient_id, kind, actor_id, target_type, target_id, project_id, message)
           SELECT {owner}, 'task_assigned', {owner}, 'task', g, 1 + (g % 20), 'You were assigned task ' || g
             FROM generate_series(1, {tasks}, 2) g;"
    )
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows per table of a tenant's schema, in [`TABLES`]' order.
fn counts(operator: &fixture::Operator, schema: &SchemaName) -> anyhow::Result<Vec<i64>> {
    Ok(operator.store.in_tenant_scope(schema, |conn| {
        TABLES
            .iter()
            .map(|table| diesel::sql_query(format!("SELECT count(*) AS n FROM {table}")).get_result::<Count>(conn))
            .map(|found| found.map(|c| c.n).map_err(StoreError::internal))
            .collect::<Result<Vec<_>, StoreError>>()
    })?)
}

/// A finished run of `tenant-admin`.
struct Watched {
    seconds: f64,
    peak_mib: f64,
}

/// `tenant-admin` with `args`, as its binary runs it; its exit code.
pub fn tenant_admin(args: Vec<String>) -> i32 {
    use clap::Parser;
    let cli = taskforce_cli::admin::Cli::parse_from(std::iter::once("tenant-admin".to_owned()).chain(args));
    i32::from(taskforce_cli::admin::main(cli))
}

/// Runs `command` to its end, reading its peak resident memory (`VmHWM`,
/// which only grows) every 5 ms; what it adds in its last 5 ms is missed.
fn watched(mut command: Command) -> anyhow::Result<Watched> {
    let started = Instant::now();
    // standard error to a file: a pipe nobody reads could fill and stall it
    let mut stderr = tempfile::tempfile()?;
    let mut child = command.stderr(stderr.try_clone()?).spawn().context("starting tenant-admin")?;
    let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
    let mut peak_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        peak_kib = peak_kib.max(high_water_kib(&status_file).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        use std::io::{Read, Seek};
        let mut reason = String::new();
        stderr.rewind()?;
        stderr.read_to_string(&mut reason)?;
        anyhow::bail!("tenant-admin failed ({status}): {}", reason.trim());
    }
    Ok(Watched { seconds, peak_mib: peak_kib as f64 / 1024.0 })
}

/// `VmHWM` of a `/proc/<pid>/status` file, in KiB.
fn high_water_kib(status_file: &Path) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM"))?.split_whitespace().nth(1)?.parse().ok()
}
