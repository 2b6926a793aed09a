//! The fleet: the API under wrk load with 10, 1,000 and 10,000 tenants
//! (each request to a tenant picked at random), next to what PostgreSQL
//! alone does with the same statements (pgbench), with the server's memory,
//! PostgreSQL's connections and backend memory, round trips per request,
//! tenant creation times and `migrate` over the whole fleet.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt, stream};
use taskforce_application::AccountInput;
use taskforce_domain::{Role, Slug, Username};
use taskforce_pgcluster::TestDatabase;

use crate::{
    chart,
    fixture::{self, PrivateRedis},
    stats::{Samples, ms},
    tenants,
    work::ChildServer,
};

/// The wrk script, written to a temporary file for each run.
const WRK_SCRIPT: &str = include_str!("../wrk/fleet.lua");

/// Tenants seeded over one operator's connections before it is replaced.
const TENANTS_PER_OPERATOR: usize = 250;

/// Tasks seeded per tenant; a quarter of them `todo` in project 1. The wrk
/// runs update tasks from the first half, pgbench from the second.
const TASKS_PER_TENANT: i64 = 200;

/// Tasks per tenant that one wrk run updates; each run that updates gets a
/// window of its own, so every task it touches is still at version 1.
const UPDATE_WINDOW: i64 = 8;

/// The scenarios, in the order they run: (name, wrk mode, pgbench script).
pub const SCENARIOS: [(&str, &str, Option<&str>); 6] = [
    ("health", "health", None),
    ("project list (20 items)", "projects", Some(include_str!("../pgbench/projects.sql"))),
    ("filtered task list", "tasks", Some(include_str!("../pgbench/tasks.sql"))),
    ("task create", "create", Some(include_str!("../pgbench/create.sql"))),
    ("task update with If-Match", "update", Some(include_str!("../pgbench/update.sql"))),
    ("mixed 80/20", "mixed", None),
];

/// What the command line chose.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fleet sizes, growing.
    pub sizes: Vec<usize>,
    /// Seconds per measurement.
    pub seconds: u64,
    /// wrk (and pgbench) connections.
    pub connections: usize,
    /// Put a private Redis in front (otherwise the in-process cache).
    pub redis: bool,
    /// The server's `database.tenant_shards`: each size is measured once per
    /// value, each on a server started afresh (so its backends start cold).
    pub shards: Vec<u32>,
    /// Seconds of load before each server's measurements, not counted: every
    /// tenant in turn gets a project list, a task list and a new task, so
    /// that the measurements see the steady state of a server that has run
    /// a while rather than its first visit to each tenant. 0 measures cold.
    pub warm_up: u64,
    /// `migrate` jobs to try at the largest size; empty skips it.
    pub jobs: Vec<usize>,
    /// Where to write the SVG chart.
    pub svg: Option<PathBuf>,
}

/// One scenario at one fleet size.
#[derive(Debug, Clone)]
pub struct Measured {
    pub size: usize,
    /// The server's tenant shards (0: not recorded, in older outputs).
    pub shards: u32,
    pub scenario: &'static str,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub round_trips: f64,
    pub pgbench_tps: Option<f64>,
    /// CPU time per request in the server process, in microseconds.
    pub server_cpu_us: f64,
    /// CPU time per request in all PostgreSQL processes on this machine.
    pub postgres_cpu_us: f64,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    anyhow::ensure!(!options.sizes.is_empty(), "no fleet sizes");
    anyhow::ensure!(
        !options.shards.is_empty() && !options.shards.contains(&0) && options.shards.iter().all(|&n| n <= 16),
        "tenant shard counts must be 1 to 16, the bench server's pool (16 is the default's one per connection)"
    );
    let db = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let redis = if options.redis { Some(PrivateRedis::start()?) } else { None };
    let work = tempfile::tempdir()?;
    println!(
        "database {} on {}; {}; tenant shards {:?}; {} s of warm-up per server, {} s per measurement, {} connections",
        db.name(),
        db.server_url(),
        if options.redis { "private Redis" } else { "in-process cache" },
        options.shards,
        options.warm_up,
        options.seconds,
        options.connections
    );

    let operator = Arc::new(fixture::Operator::connect(db.url())?);
    // the shared schema, before any server starts
    taskforce_persistence::migrate_shared(&mut *operator.store.pool().get()?)?;
    let loader = {
        let operator = operator.clone();
        tokio::task::spawn_blocking(move || loader(&operator)).await??
    };

    let mut created = 0;
    let mut creations = Vec::new();
    let mut results = Vec::new();
    let mut windows = 0..TASKS_PER_TENANT / 2 / UPDATE_WINDOW;
    let client = reqwest::Client::builder().pool_max_idle_per_host(32).build()?;
    // where the chart of the share kept was drawn, once there are two sizes
    let mut kept_chart = None;
    for &size in &options.sizes {
        let grown = {
            let url = db.url().to_owned();
            tokio::task::spawn_blocking(move || grow(&url, loader, created, size)).await??
        };
        creations.extend(grown);
        created = created.max(size);
        let tenants_file = work.path().join(format!("tenants-{size}"));
        let mut pgbench_rates = std::collections::HashMap::new();
        for &shards in &options.shards {
            let statements = work.path().join(format!("statements-{size}-{shards}"));
            let server = start_server(&db, work.path(), &statements, shards, redis.as_ref())?;
            fixture::wait_healthy(&server.base).await?;
            if !tenants_file.exists() {
                let tokens = login_all(&client, &server.base, size).await?;
                let mut lines = String::new();
                for (i, token) in tokens.iter().enumerate() {
                    writeln!(lines, "{}.localhost {token} {}", slug(i), first_task(i))?;
                }
                std::fs::write(&tenants_file, lines)?;
                // the logins' own memory, told apart from the load's
                println!("  server peak after the logins {:.1} MiB", server.memory_mib("VmHWM")?);
            }
            println!(
                "\n== {size} tenants, {shards} tenant shards (server pid {}, {:.1} MiB resident before the load)",
                server.pid(),
                server.memory_mib("VmRSS")?
            );
            if options.warm_up > 0 {
                let before = modifications(db.url())?;
                let warm = wrk(&server.base, "warm", &tenants_file, 0, options.warm_up, options.connections)?;
                anyhow::ensure!(
                    warm.failures == 0 && warm.socket_errors == 0,
                    "warm-up at {size} tenants: {} non-2xx answers, {} socket errors; answers by status: {}",
                    warm.failures,
                    warm.socket_errors,
                    warm.statuses
                );
                println!(
                    "warm-up: {} requests in {:.0} s ({:.0} req/s), {:.1} visits per tenant, not measured",
                    warm.requests,
                    warm.seconds,
                    warm.rate(),
                    warm.requests as f64 / 3.0 / size as f64
                );
                let settled = settle_statistics(db.url(), &before)?;
                println!("statistics: {settled} tables the warm-up changed vacuumed and analysed");
            }
            for (name, mode, script) in SCENARIOS {
                let window = if matches!(mode, "update" | "mixed") {
                    windows.next().context("no untouched tasks left for another update run: seed more per tenant")?
                } else {
                    0
                };
                let before = read_count(&statements)?;
                let cpu_before = (process_cpu(server.pid())?, postgres_cpu_by_pid());
                let wrk = wrk(
                    &server.base,
                    mode,
                    &tenants_file,
                    window * UPDATE_WINDOW,
                    options.seconds,
                    options.connections,
                )?;
                let cpu = (process_cpu(server.pid())? - cpu_before.0, postgres_cpu_since(&cpu_before.1));
                tokio::time::sleep(Duration::from_millis(300)).await;
                let sent = read_count(&statements)?.checked_sub(before).context("the statement count went down")?;
                let round_trips = sent as f64 / wrk.requests.max(1) as f64;
                anyhow::ensure!(
                    wrk.failures == 0 && wrk.socket_errors == 0,
                    "{name} at {size} tenants: {} non-2xx answers, {} socket errors; answers by status: {}",
                    wrk.failures,
                    wrk.socket_errors,
                    wrk.statuses
                );
                // the database alone does not depend on the server's shards
                let pgbench_tps = match script {
                    Some(script) => match pgbench_rates.get(name) {
                        Some(&tps) => Some(tps),
                        None => {
                            let warm_up = options.warm_up.min(PGBENCH_WARM_UP);
                            let tps = pgbench(db.url(), script, size, options.connections, options.seconds, warm_up)?;
                            pgbench_rates.insert(name, tps);
                            Some(tps)
                        }
                    },
                    None => None,
                };
                let measured = Measured {
                    size,
                    shards,
                    scenario: name,
                    rate: wrk.rate(),
                    p50_ms: wrk.p50_us as f64 / 1000.0,
                    p99_ms: wrk.p99_us as f64 / 1000.0,
                    p999_ms: wrk.p999_us as f64 / 1000.0,
                    round_trips,
                    pgbench_tps,
                    server_cpu_us: cpu.0 * 1e6 / wrk.requests.max(1) as f64,
                    postgres_cpu_us: cpu.1 * 1e6 / wrk.requests.max(1) as f64,
                };
                println!("{}", line(&measured));
                results.push(measured);
            }
            let connections =
                scalar(db.url(), &format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{}'", db.name()))?;
            println!(
                "server: {:.1} MiB resident now, peak {:.1} MiB; PostgreSQL: {connections} connections to the database, {}",
                server.memory_mib("VmRSS")?,
                server.memory_mib("VmHWM")?,
                backend_memory(db.url(), db.name()).unwrap_or_else(|e| format!("backend memory unknown ({e})")),
            );
            // the chart so far, so that an interrupted run still leaves one
            if let Some(path) = &options.svg {
                kept_chart = chart::write_charts(path, &results)?;
            }
        }
    }

    println!("\n== tenant creation (row + domain + migrated schema), one at a time");
    println!("all {}: {}", creations.len(), Samples::new(creations.clone()).line());
    let tenth = creations.len().div_ceil(10).max(1);
    for (i, chunk) in creations.chunks(tenth).enumerate() {
        println!(
            "  tenants {:>5}..{:>5}: p50 {:.2} ms",
            i * tenth,
            i * tenth + chunk.len(),
            ms(Samples::new(chunk.to_vec()).quantile(0.5))
        );
    }

    if !options.jobs.is_empty() {
        println!("\n== migrate over {created} tenants");
        let store = operator.store.clone();
        let jobs = options.jobs.clone();
        let url = db.url().to_owned();
        tokio::task::spawn_blocking(move || tenants::migrate_rounds(&url, &store, created, &jobs)).await??;
    }

    summarise(&results);
    if let Some(path) = &options.svg {
        println!("\nchart written to {}", path.display());
        if let Some(kept) = &kept_chart {
            println!("share kept at the largest size drawn in {}", kept.display());
        }
    }
    Ok(())
}

/// A server for one tenant-shard count, counting its statements into
/// `statements`; the production default of 4 spare schemas, not the test
/// configuration's 1.
fn start_server(
    db: &TestDatabase,
    work: &Path,
    statements: &Path,
    shards: u32,
    redis: Option<&PrivateRedis>,
) -> anyhow::Result<ChildServer> {
    let mut extra = vec![
        ("TASKFORCE__DATABASE__POOL_SIZE", "16".to_owned()),
        ("TASKFORCE__DATABASE__TENANT_SHARDS", shards.to_string()),
        ("TASKFORCE__DATABASE__SPARE_SCHEMAS", "4".to_owned()),
        // the tokens of the first server's logins serve every later one
        ("TASKFORCE__AUTH__ACCESS_TTL_SECS", "86400".to_owned()),
        // one account logs in to every tenant, 16 at a time: more at once
        // than an account's login limit lets be judged together
        ("TASKFORCE__AUTH__LOGIN_MAX_FAILURES", "1000".to_owned()),
        ("TASKFORCE_BENCH_STATEMENTS", statements.display().to_string()),
    ];
    if let Some(redis) = redis {
        extra.push(("TASKFORCE__REDIS__URL", redis.url()));
    }
    ChildServer::start_with(db.url(), &work.join("files"), 1 << 20, &extra)
}

fn slug(i: usize) -> String {
    format!("fleet{i:05}")
}

/// Seeded task ids are distinct across tenants, so the wrk script can
/// track each task's ETag by its id alone.
fn first_task(i: usize) -> i64 {
    (i as i64 + 1) * 1000
}

/// The account every tenant is loaded by: an owner everywhere. Its hash is
/// swapped for a cheap argon2id one so that logging in to 10,000 tenants
/// takes seconds (the login cost itself is the `auth` scenario's business).
fn loader(operator: &fixture::Operator) -> anyhow::Result<i64> {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version, password_hash::SaltString};
    use diesel::RunQueryDsl;
    let user = operator.accounts.create(&AccountInput {
        username: "loader".into(),
        email: "loader@example.com".into(),
        password: fixture::PASSWORD.into(),
        is_staff: false,
    })?;
    let salt = SaltString::from_b64("YmVuY2htYXJrc2FsdA").map_err(|e| anyhow::anyhow!("{e}"))?;
    let cheap = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8, 1, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?,
    )
    .hash_password(fixture::PASSWORD.as_bytes(), &salt)
    .map_err(|e| anyhow::anyhow!("{e}"))?
    .to_string();
    let mut conn = operator.store.pool().get()?;
    diesel::sql_query(format!("UPDATE public.users SET password_hash = '{cheap}' WHERE id = {}", user.id.0))
        .execute(&mut conn)?;
    Ok(user.id.0)
}

/// Creates tenants `from..to`, timing each creation, and seeds each with
/// 20 projects and [`TASKS_PER_TENANT`] tasks. The seeding connections are
/// replaced every [`TENANTS_PER_OPERATOR`] tenants: a backend keeps the
/// catalog entries of every schema it has written to, and one carried
/// through thousands of them slows the seeding down as the fleet grows.
fn grow(url: &str, loader: i64, from: usize, to: usize) -> anyhow::Result<Vec<Duration>> {
    let mut timings = Vec::with_capacity(to.saturating_sub(from));
    let started = Instant::now();
    let mut current: Option<fixture::Operator> = None;
    for i in from..to {
        if (i - from).is_multiple_of(TENANTS_PER_OPERATOR) {
            current = Some(fixture::Operator::connect(url)?);
        }
        let operator = current.as_ref().context("an operator is connected above")?;
        let name = slug(i);
        let one = Instant::now();
        let tenant = operator.tenant(&name)?;
        timings.push(one.elapsed());
        operator.admin.add_member(&Slug::parse(&name)?, &Username::parse("loader")?, Role::Owner)?;
        let first = first_task(i);
        let sql = format!(
            "INSERT INTO projects (name, description, owner_id)
               SELECT 'Project ' || g, 'Seeded project number ' || g, {loader} FROM generate_series(1, 20) g;
             INSERT INTO tasks (id, project_id, title, description, status, priority, created_by, created_at, due_date)
               SELECT {first} + g,
                      CASE WHEN g % 4 = 0 THEN 1 ELSE 2 + g % 19 END,
                      'Task ' || g,
                      'Seeded task ' || g || ' with a few words of description',
                      CASE WHEN g % 4 = 0 THEN 'todo' WHEN g % 3 = 0 THEN 'in_review' ELSE 'in_progress' END,
                      (ARRAY['low','medium','high','urgent'])[1 + g % 4],
                      {loader},
                      now() - (g || ' minutes')::interval,
                      current_date + (g % 60 - 20)
               FROM generate_series(0, {last}) g;
             SELECT setval(pg_get_serial_sequence('tasks', 'id'), {first} + {TASKS_PER_TENANT});
             ANALYZE projects;
             ANALYZE tasks;",
            last = TASKS_PER_TENANT - 1,
        );
        operator.store.in_tenant_scope(&tenant.schema_name, |conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute(&sql).map_err(taskforce_domain::StoreError::internal)
        })?;
        if (i + 1) % 500 == 0 || i + 1 == to {
            eprintln!("  {} tenants ({:.0} s)", i + 1, started.elapsed().as_secs_f64());
        }
    }
    Ok(timings)
}

/// One access token per tenant, 16 logins at a time.
async fn login_all(client: &reqwest::Client, base: &str, size: usize) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let tokens: Vec<String> = stream::iter((0..size).map(|i| {
        let client = client.clone();
        async move { fixture::login(&client, base, &slug(i), "loader").await }
    }))
    .buffered(16)
    .try_collect()
    .await?;
    eprintln!("  {size} logins in {:.1} s", started.elapsed().as_secs_f64());
    Ok(tokens)
}

/// What wrk reported.
#[derive(Debug)]
struct WrkResult {
    requests: u64,
    seconds: f64,
    p50_us: u64,
    p99_us: u64,
    p999_us: u64,
    failures: u64,
    socket_errors: u64,
    /// `status:count` pairs, as the script counted them.
    statuses: String,
}

impl WrkResult {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(f64::EPSILON)
    }
}

fn wrk(
    base: &str,
    mode: &str,
    tenants: &Path,
    first: i64,
    seconds: u64,
    connections: usize,
) -> anyhow::Result<WrkResult> {
    let script = tempfile::Builder::new().suffix(".lua").tempfile()?;
    std::fs::write(script.path(), WRK_SCRIPT)?;
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "-s"])
        .arg(script.path())
        .arg(base)
        .args(["--", mode])
        .arg(tenants)
        .args([UPDATE_WINDOW.to_string(), "2".to_owned(), first.to_string()])
        .output()
        .context("running wrk (Debian: apt install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let fields: Vec<f64> = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .with_context(|| format!("wrk printed no result: {text}{}", String::from_utf8_lossy(&output.stderr)))?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [requests, seconds, p50, p99, p999, failures, socket_errors] = fields[..] else {
        anyhow::bail!("wrk's result line has {} fields: {text}", fields.len());
    };
    Ok(WrkResult {
        requests: requests as u64,
        seconds,
        p50_us: p50 as u64,
        p99_us: p99 as u64,
        p999_us: p999 as u64,
        failures: failures as u64,
        socket_errors: socket_errors as u64,
        statuses: text
            .lines()
            .filter_map(|l| l.strip_prefix("STATUS "))
            .map(|l| l.replacen(' ', ":", 1))
            .collect::<Vec<_>>()
            .join(" "),
    })
}

/// How the scripts pick their tenant: any, at random.
const ANY_TENANT: &str = "\\set n random(0, :tenants - 1)";

/// How pgbench picks it instead: client `c` keeps to the tenants `n` with
/// `n % clients == c % clients`, so each backend serves its own share of the
/// fleet, as the server's tenant shards make each of its backends do. With
/// fewer tenants than clients, each client keeps to one tenant.
const OWN_SHARE_OF_TENANTS: &str = "\\set base :client_id % :tenants\n\
                                    \\set n :base + :clients * random(0, (:tenants - 1 - :base) / :clients)";

/// Seconds pgbench runs before the part that is measured, at most.
const PGBENCH_WARM_UP: u64 = 10;

/// pgbench with a custom script over the same fleet: transactions per
/// second (one transaction = one request's statements). Each client keeps
/// to its own share of the tenants ([`OWN_SHARE_OF_TENANTS`]), and the rate
/// is that of the last `seconds` of a run that went on `warm_up` seconds
/// longer: the server is measured warm, and so is the database alone (a
/// backend's first statement in a schema builds its catalog entries, about
/// a millisecond; new connections would start cold again).
fn pgbench(url: &str, script: &str, tenants: usize, clients: usize, seconds: u64, warm_up: u64) -> anyhow::Result<f64> {
    anyhow::ensure!(script.contains(ANY_TENANT), "the pgbench script does not pick its tenant as expected");
    let file = tempfile::Builder::new().suffix(".sql").tempfile()?;
    std::fs::write(file.path(), script.replace(ANY_TENANT, OWN_SHARE_OF_TENANTS))?;
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j2", "-P1", &format!("-c{clients}"), &format!("-T{}", warm_up + seconds)])
        .args(["-D", &format!("tenants={tenants}"), "-D", &format!("clients={clients}")])
        .args(["-D", &format!("tasks={TASKS_PER_TENANT}"), "-f"])
        .arg(file.path())
        .arg(url)
        .output()
        .context("running pgbench (Debian: postgresql-client)")?;
    let progress = String::from_utf8_lossy(&output.stderr).into_owned();
    anyhow::ensure!(output.status.success(), "pgbench failed: {}{progress}", String::from_utf8_lossy(&output.stdout));
    let measured = per_second_rates(&progress).filter(|&(at, _)| at > warm_up as f64).map(|(_, tps)| tps);
    let (sum, count) = measured.fold((0.0, 0_u32), |(sum, count), tps| (sum + tps, count + 1));
    anyhow::ensure!(count > 0, "pgbench reported no progress after its warm-up: {progress}");
    Ok(sum / f64::from(count))
}

/// `(seconds since the start, tps)` of pgbench's `-P` progress lines
/// (`progress: 12.0 s, 5712.3 tps, lat 5.601 ms stddev 2.1, 0 failed`).
fn per_second_rates(progress: &str) -> impl Iterator<Item = (f64, f64)> + '_ {
    progress.lines().filter_map(|line| {
        let rest = line.strip_prefix("progress: ")?;
        let (at, rest) = rest.split_once(" s, ")?;
        let (tps, _) = rest.split_once(" tps")?;
        Some((at.parse().ok()?, tps.parse().ok()?))
    })
}

/// Seconds of CPU a process has used (user and system), from /proc.
fn process_cpu(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // the fields after the command name, which is in parentheses
    let fields: Vec<&str> = stat.rsplit_once(')').context("stat")?.1.split_whitespace().collect();
    let ticks: f64 =
        fields.get(11).context("utime")?.parse::<f64>()? + fields.get(12).context("stime")?.parse::<f64>()?;
    Ok(ticks / clock_ticks())
}

/// Seconds of CPU used so far by each process named `postgres` on this
/// machine (none when PostgreSQL runs elsewhere).
fn postgres_cpu_by_pid() -> std::collections::HashMap<u32, f64> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return std::collections::HashMap::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .filter_map(|pid| process_cpu(pid).ok().map(|cpu| (pid, cpu)))
        .collect()
}

/// CPU seconds PostgreSQL's processes used since `before`: per process, so
/// that backends which ended meanwhile (pgbench's) do not subtract theirs.
fn postgres_cpu_since(before: &std::collections::HashMap<u32, f64>) -> f64 {
    postgres_cpu_by_pid().into_iter().map(|(pid, cpu)| cpu - before.get(&pid).copied().unwrap_or(0.0)).sum()
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux), asked once:
/// every snapshot reads dozens of processes.
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn read_count(path: &Path) -> anyhow::Result<u64> {
    Ok(std::fs::read_to_string(path).unwrap_or_default().trim().parse().unwrap_or(0))
}

/// Rows modified since each table's last analysis, and its live rows, by
/// `schema.table`.
type TableCounts = std::collections::HashMap<String, (f64, f64)>;

/// [`TableCounts`] of every table now.
fn modifications(url: &str) -> anyhow::Result<TableCounts> {
    // the backends report their counts within a second of going idle
    std::thread::sleep(Duration::from_millis(1500));
    let rows = scalar(
        url,
        "SELECT string_agg(format('%I.%I %s %s', schemaname, relname, n_mod_since_analyze, n_live_tup), E'\\n') \
         FROM pg_stat_user_tables",
    )?;
    Ok(rows
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let table = fields.next()?.to_owned();
            Some((table, (fields.next()?.parse().ok()?, fields.next()?.parse().ok()?)))
        })
        .collect())
}

/// Vacuums and analyses the tables the warm-up changed enough for
/// autovacuum's default rule (more than 50 + 10% of their rows modified),
/// as autovacuum would have on a server that had run a while; `before` is
/// [`modifications`] from before the warm-up. The warm-up adds a task per
/// visit: at 10 tenants that grows each tenant's tasks 30-fold in a minute,
/// and a backend keeps the generic plan it made for the small table (a
/// sequential scan and a sort) until the table's statistics change;
/// measured before autovacuum gets there, the task list scanned 6,000 rows
/// per request. Only what the warm-up changed: vacuuming every table of a
/// large fleet would flush every backend's catalog caches (one
/// invalidation per table) and measure a cold server. Returns how many.
fn settle_statistics(url: &str, before: &TableCounts) -> anyhow::Result<usize> {
    let script: Vec<String> = changed_past_autovacuum_threshold(before, modifications(url)?)
        .into_iter()
        .map(|table| format!("VACUUM (ANALYZE) {table};"))
        .collect();
    if script.is_empty() {
        return Ok(0);
    }
    // on psql's input, not `scalar`'s -c: VACUUM may not run in the one
    // transaction that several statements given to -c share
    let mut psql = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .context("running psql")?;
    std::io::Write::write_all(&mut psql.stdin.take().context("psql's input")?, script.join("\n").as_bytes())?;
    anyhow::ensure!(psql.wait()?.success(), "psql failed to vacuum the tables the warm-up changed");
    Ok(script.len())
}

/// The tables whose modifications between `before` and `after` (both from
/// [`modifications`]) exceed autovacuum's default analyse threshold: 50 rows
/// plus 10% of the live rows.
fn changed_past_autovacuum_threshold(before: &TableCounts, after: TableCounts) -> Vec<String> {
    after
        .into_iter()
        .filter(|(table, (modified, live))| {
            let earlier = before.get(table).map_or(0.0, |(modified, _)| *modified);
            modified - earlier > 50.0 + 0.1 * live
        })
        .map(|(table, _)| table)
        .collect()
}

fn scalar(url: &str, sql: &str) -> anyhow::Result<String> {
    let output = Command::new("psql").args([url, "-tAc", sql]).output().context("running psql")?;
    anyhow::ensure!(output.status.success(), "psql: {}", String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Private memory of the server's PostgreSQL backends (their catalog and
/// plan caches grow with the schemas each one has touched), read from
/// /proc when PostgreSQL runs on this machine.
fn backend_memory(url: &str, database: &str) -> anyhow::Result<String> {
    let pids = scalar(
        url,
        &format!(
            "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        ),
    )?;
    let mut sizes = Vec::new();
    for pid in pids.split_whitespace() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let anon = status
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .context("RssAnon")?;
        sizes.push(anon);
    }
    sizes.sort_unstable();
    let total: u64 = sizes.iter().sum();
    Ok(format!(
        "backends' private memory {:.1} MiB in all, largest {:.1} MiB",
        total as f64 / 1024.0,
        sizes.last().copied().unwrap_or(0) as f64 / 1024.0
    ))
}

fn line(m: &Measured) -> String {
    let mut text = format!(
        "{:<27} {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  p99.9 {:>6.2} ms  {:.2} round trips  CPU/request: server {:.0} us, PostgreSQL {:.0} us",
        m.scenario, m.rate, m.p50_ms, m.p99_ms, m.p999_ms, m.round_trips, m.server_cpu_us, m.postgres_cpu_us
    );
    if let Some(tps) = m.pgbench_tps {
        let _ = write!(text, "  pgbench {tps:.0} tps ({:.0}%)", 100.0 * m.rate / tps);
    }
    text
}

fn summarise(results: &[Measured]) {
    let (Some(smallest), Some(largest)) = (results.first().map(|m| m.size), results.last().map(|m| m.size)) else {
        return;
    };
    if smallest == largest {
        return;
    }
    let mut configs: Vec<u32> = results.iter().map(|m| m.shards).collect();
    configs.sort_unstable();
    configs.dedup();
    for shards in configs {
        println!("\n== throughput at {largest} tenants as a share of {smallest}, {shards} tenant shards");
        for (name, _, _) in SCENARIOS {
            let at = |size| {
                results.iter().find(|m| m.size == size && m.shards == shards && m.scenario == name).map(|m| m.rate)
            };
            if let (Some(small), Some(large)) = (at(smallest), at(largest)) {
                println!("{name:<27} {:.0}%", 100.0 * large / small);
            }
        }
    }
}

/// The measurements in a `fleet` run's printed output, to draw its chart
/// again (`taskforce-bench fleet-chart`).
pub fn parse_output(text: &str) -> Vec<Measured> {
    let mut size = None;
    let mut shards = 0;
    let mut results = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("== ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if let Some(n) = words.first().and_then(|n| n.parse::<usize>().ok()) {
                size = Some(n);
                // "== 10 tenants, 16 tenant shards (…"; older outputs name none
                shards = words
                    .windows(3)
                    .find(|w| w[1] == "tenant" && w[2].starts_with("shards"))
                    .map_or(0, |w| w[0].parse().unwrap_or(0));
            }
            continue;
        }
        let (Some(size), Some((name, _, _))) = (size, SCENARIOS.iter().find(|(name, _, _)| line.starts_with(name)))
        else {
            continue;
        };
        let words: Vec<&str> = line[name.len()..].split_whitespace().collect();
        let after = |label: &str| {
            words.iter().position(|w| *w == label).and_then(|i| words.get(i + 1)).and_then(|v| v.parse::<f64>().ok())
        };
        let Some(rate) = words.first().and_then(|v| v.parse::<f64>().ok()) else { continue };
        results.push(Measured {
            size,
            shards,
            scenario: name,
            rate,
            p50_ms: after("p50").unwrap_or(0.0),
            p99_ms: after("p99").unwrap_or(0.0),
            p999_ms: after("p99.9").unwrap_or(0.0),
            round_trips: words
                .iter()
                .position(|w| *w == "round")
                .and_then(|i| words.get(i.wrapping_sub(1)))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0),
            pgbench_tps: after("pgbench"),
            server_cpu_us: after("server").unwrap_or(0.0),
            postgres_cpu_us: after("PostgreSQL").unwrap_or(0.0),
        });
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_lines_are_read_back() {
        let text = "== 10 tenants, 16 tenant shards (server pid 7, 25.6 MiB resident before the load)\n\
            project list (20 items)         2276 req/s  p50  13.18 ms  p99  39.20 ms  p99.9  94.91 ms  3.01 round trips  CPU/request: server 417 us, PostgreSQL 378 us  pgbench 3879 tps (59%)\n\
            == 1000 tenants (server 32.2 MiB resident before the load)\n\
            mixed 80/20                     1326 req/s  p50  22.61 ms  p99 105.27 ms  p99.9 190.69 ms  3.65 round trips  CPU/request: server 494 us, PostgreSQL 872 us\n";
        let results = parse_output(text);
        assert_eq!(results.len(), 2);
        let (list, mixed) = (&results[0], &results[1]);
        assert_eq!((list.size, list.shards, list.scenario, list.rate), (10, 16, SCENARIOS[1].0, 2276.0));
        assert_eq!(mixed.shards, 0, "an older header names no shards");
        assert_eq!((list.p50_ms, list.p99_ms, list.p999_ms, list.round_trips), (13.18, 39.20, 94.91, 3.01));
        assert_eq!((list.server_cpu_us, list.postgres_cpu_us, list.pgbench_tps), (417.0, 378.0, Some(3879.0)));
        assert_eq!((mixed.size, mixed.scenario, mixed.rate, mixed.pgbench_tps), (1000, SCENARIOS[5].0, 1326.0, None));
    }

    #[test]
    fn pgbench_progress_lines_are_read_and_other_lines_skipped() {
        let progress = "pgbench (15.19 (Debian 15.19-0+deb12u1))\n\
            progress: 1.0 s, 4105.9 tps, lat 7.601 ms stddev 3.512, 0 failed\n\
            progress: 2.0 s, 5712.3 tps, lat 5.601 ms stddev 2.100, 0 failed\n";
        let rates: Vec<(f64, f64)> = per_second_rates(progress).collect();
        assert_eq!(rates, vec![(1.0, 4105.9), (2.0, 5712.3)]);
    }

    #[test]
    fn every_script_picks_its_tenant_the_way_the_harness_replaces() {
        for (name, _, script) in SCENARIOS {
            if let Some(script) = script {
                assert_eq!(script.matches(ANY_TENANT).count(), 1, "{name}");
            }
        }
    }

    #[test]
    fn only_tables_the_warm_up_changed_past_autovacuum_s_threshold_are_settled() {
        let table = |name: &str, modified: f64, live: f64| (name.to_owned(), (modified, live));
        // seeded tables already count 200 modifications before the warm-up
        let before = [table("t1.tasks", 200.0, 200.0), table("t2.tasks", 200.0, 200.0)].into_iter().collect();
        let after = [
            table("t1.tasks", 6_200.0, 6_200.0), // grown by the warm-up
            table("t2.tasks", 203.0, 203.0),     // three visits: under 50 + 10%
            table("t3.activity", 71.0, 200.0),   // new since, just past 50 + 20
            table("t4.activity", 70.0, 200.0),   // new since, at the threshold
        ]
        .into_iter()
        .collect();
        let mut settled = changed_past_autovacuum_threshold(&before, after);
        settled.sort();
        assert_eq!(settled, ["t1.tasks", "t3.activity"]);
    }
}
