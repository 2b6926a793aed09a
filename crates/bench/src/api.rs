//! The API under load: authenticated project list and filtered task list
//! on a tenant with 100,000 tasks, driven by wrk (peak) and by an
//! open-loop generator at half the peak rate (latency without coordinated
//! omission), with PostgreSQL round trips counted per request.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use anyhow::Context;
use taskforce_cli::Application;
use taskforce_domain::Role;
use taskforce_persistence::instrumentation;
use taskforce_pgcluster::TestDatabase;

use crate::{
    fixture,
    stats::{Samples, ms},
};

/// A running server with a seeded tenant, and a token for it.
pub struct Seeded {
    pub base: String,
    pub host: String,
    pub token: String,
    pub project_id: i64,
    _db: TestDatabase,
}

impl Seeded {
    /// A seeded server set up elsewhere.
    pub fn from_parts(base: String, host: String, token: String, project_id: i64, db: TestDatabase) -> Self {
        Self { base, host, token, project_id, _db: db }
    }
}

/// Starts the server in this process on a fresh database and seeds one
/// enterprise tenant: 20 projects and `tasks` tasks, 50 of them `todo` in
/// the first project.
pub async fn seed(tasks: u64) -> anyhow::Result<Seeded> {
    instrumentation::count_statements()?;
    let db = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let mut settings = fixture::settings(db.url())?;
    settings.database.pool_size = 16;
    let app = Application::build(&settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let operator = fixture::Operator::connect(db.url())?;
    let pg = operator.store.clone();
    let (user_id, schema) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(i64, taskforce_domain::SchemaName)> {
            let tenant = operator.tenant("load")?;
            let user = operator.member("load", "loader", Role::Owner)?;
            Ok((user.id.0, tenant.schema_name))
        })
        .await??;
    let started = Instant::now();
    let sql = format!(
        "INSERT INTO projects (name, description, owner_id)
           SELECT 'Project ' || g, 'Seeded project number ' || g, {user_id} FROM generate_series(1, 20) g;
         INSERT INTO tasks (project_id, title, description, status, priority, created_by, created_at, due_date)
           SELECT 1 + (g % 20),
                  'Task ' || g,
                  'Seeded task ' || g || ' with a few words of description',
                  CASE WHEN g % 20 = 0 AND g <= 1000 THEN 'todo' WHEN g % 3 = 0 THEN 'done' WHEN g % 3 = 1 THEN 'in_progress' ELSE 'in_review' END,
                  (ARRAY['low','medium','high','urgent'])[1 + g % 4],
                  {user_id},
                  now() - (g || ' seconds')::interval,
                  current_date + (g % 90 - 30)
           FROM generate_series(1, {tasks}) g;"
    );
    let pg2 = pg.clone();
    tokio::task::spawn_blocking(move || {
        pg2.in_tenant_scope(&schema, |conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute(&sql).map_err(taskforce_domain::StoreError::internal)
        })
    })
    .await??;
    // what autovacuum would soon do: statistics and the visibility map
    let url = db.url().to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use diesel::{Connection, connection::SimpleConnection};
        let mut conn = diesel::PgConnection::establish(&url)?;
        // one statement each: several in one message would share a transaction
        conn.batch_execute("VACUUM ANALYZE tenant_load.projects")?;
        conn.batch_execute("VACUUM ANALYZE tenant_load.tasks")?;
        Ok(())
    })
    .await??;
    println!("seeded 20 projects and {tasks} tasks in {:.1} s", started.elapsed().as_secs_f64());

    let token = fixture::login(&reqwest::Client::new(), &base, "load", "loader").await?;
    Ok(Seeded { base, host: "load.localhost".into(), token, project_id: 1, _db: db })
}

/// One scenario: a path, its wrk peak, its latency at half the peak, and
/// the round trips each request made.
pub async fn scenario(seeded: &Seeded, name: &str, path: &str, connections: usize, seconds: u64) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let check = client
        .get(format!("{}{path}", seeded.base))
        .header("host", &seeded.host)
        .bearer_auth(&seeded.token)
        .send()
        .await?;
    let status = check.status();
    let body: serde_json::Value = check.json().await?;
    anyhow::ensure!(status.is_success(), "{path} answered {status}: {body}");
    let items = body["results"].as_array().map_or(0, Vec::len);

    // round trips: warm the caches, then count over a batch
    for _ in 0..50 {
        client
            .get(format!("{}{path}", seeded.base))
            .header("host", &seeded.host)
            .bearer_auth(&seeded.token)
            .send()
            .await?
            .bytes()
            .await?;
    }
    let before = instrumentation::statements_sent();
    let batch = 500;
    for _ in 0..batch {
        client
            .get(format!("{}{path}", seeded.base))
            .header("host", &seeded.host)
            .bearer_auth(&seeded.token)
            .send()
            .await?
            .bytes()
            .await?;
    }
    let per_request = (instrumentation::statements_sent() - before) as f64 / batch as f64;

    let peak = wrk(seeded, path, connections, seconds)?;
    // the open-loop generator lives in this process; above ~3,000 req/s it
    // measures itself more than the server
    let half = open_loop(seeded, path, (peak.0 / 2.0).min(3000.0), Duration::from_secs(seconds)).await?;
    println!(
        "{name}: {items} items/page; peak {:.0} req/s (wrk -c{connections}, p50 {} p99 {}); at {:.0} req/s: {}; {per_request:.2} PostgreSQL round trips/request",
        peak.0,
        peak.1,
        peak.2,
        (peak.0 / 2.0).min(3000.0),
        half.line()
    );
    Ok(())
}

/// Runs wrk; returns (requests/s, p50, p99) as wrk prints them.
fn wrk(seeded: &Seeded, path: &str, connections: usize, seconds: u64) -> anyhow::Result<(f64, String, String)> {
    let script = tempfile::NamedTempFile::new()?;
    std::fs::write(
        script.path(),
        format!(
            "wrk.headers[\"Host\"] = \"{}\"\nwrk.headers[\"Authorization\"] = \"Bearer {}\"\n",
            seeded.host, seeded.token
        ),
    )?;
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(script.path())
        .arg(format!("{}{path}", seeded.base))
        .output()
        .context("running wrk (Debian: apt install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let rate = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:").map(|v| v.trim().parse::<f64>().unwrap_or(0.0)))
        .context(format!("wrk said: {text}"))?;
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| {
                let mut parts = l.split_whitespace();
                (parts.next() == Some(p)).then(|| parts.next().unwrap_or("?").to_owned())
            })
            .unwrap_or_else(|| "?".to_owned())
    };
    if text.contains("Non-2xx") {
        anyhow::bail!("wrk saw errors: {text}");
    }
    Ok((rate, percentile("50%"), percentile("99%")))
}

/// Sends requests at a fixed rate for a while, measuring each from when it
/// was due (so a stall counts against every request it delays).
pub async fn open_loop(seeded: &Seeded, path: &str, rate: f64, duration: Duration) -> anyhow::Result<Samples> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let started = Instant::now();
    let mut handles = Vec::new();
    let mut due = started;
    while due < started + duration {
        tokio::time::sleep_until(due.into()).await;
        let (client, url, host, token) =
            (client.clone(), format!("{}{path}", seeded.base), seeded.host.clone(), seeded.token.clone());
        let scheduled = due;
        handles.push(tokio::spawn(async move {
            let response = client.get(url).header("host", host).bearer_auth(token).send().await?;
            let ok = response.status().is_success();
            response.bytes().await?;
            anyhow::ensure!(ok, "request failed");
            Ok::<_, anyhow::Error>(scheduled.elapsed())
        }));
        due += interval;
    }
    let mut samples = Vec::with_capacity(handles.len());
    for handle in handles {
        samples.push(handle.await??);
    }
    Ok(Samples::new(samples))
}

pub async fn run(tasks: u64, connections: usize, seconds: u64) -> anyhow::Result<()> {
    let seeded = seed(tasks).await?;
    scenario(&seeded, "GET /api/projects/ (20 items)", "/api/projects/", connections, seconds).await?;
    let path = format!("/api/projects/{}/tasks/?status=todo&ordering=-created_at", seeded.project_id);
    scenario(&seeded, "GET tasks ?status=todo&ordering=-created_at (50 of 100k)", &path, connections, seconds).await?;
    scenario(&seeded, "GET /api/health/", "/api/health/", connections, seconds).await?;
    explain(&seeded).await?;
    Ok(())
}

/// The plans PostgreSQL chooses for the list queries on the seeded tenant.
async fn explain(seeded: &Seeded) -> anyhow::Result<()> {
    let url = seeded._db.url().to_owned();
    let plans = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<(String, Vec<String>)>> {
        use diesel::{Connection, QueryableByName, RunQueryDsl, connection::SimpleConnection, sql_types::Text};
        #[derive(QueryableByName)]
        struct Line {
            #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
            line: String,
        }
        let mut conn = diesel::PgConnection::establish(&url)?;
        conn.batch_execute("SET search_path TO tenant_load")?;
        let columns = "id, project_id, title, description, status, priority, assignee_id, due_date, created_by, created_at, updated_at, completed_at, version";
        // the statements the task repository sends: the page, with the total
        // as a scalar subquery over the same filter
        let task_page = |filter: &str, order: &str| {
            format!("SELECT {columns}, (SELECT count(*) FROM tasks WHERE {filter}) FROM tasks WHERE {filter} ORDER BY {order} LIMIT 20 OFFSET 0")
        };
        let queries = [
            ("project list", "SELECT id, name, description, status, owner_id, created_at, updated_at, version, count(*) OVER () FROM projects ORDER BY created_at DESC, id DESC LIMIT 20 OFFSET 0".to_owned()),
            ("tasks ?status=todo&ordering=-created_at", task_page("project_id = 1 AND status = 'todo'", "created_at DESC, id DESC")),
            ("tasks of a project, newest first", task_page("project_id = 2", "created_at DESC, id DESC")),
            ("tasks ?overdue=true&ordering=due_date", task_page("project_id = 3 AND due_date < current_date AND status <> 'done'", "due_date ASC NULLS LAST, id ASC")),
            // two terms, each in the title or the description (DRF's SearchFilter)
            ("tasks ?search=task 4242", task_page("project_id = 3 AND (title ILIKE '%task%' OR description ILIKE '%task%') AND (title ILIKE '%4242%' OR description ILIKE '%4242%')", "created_at DESC, id DESC")),
        ];
        let mut plans = Vec::new();
        for (name, sql) in queries {
            let lines: Vec<Line> = diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS) {sql}")).load(&mut conn)?;
            plans.push((name.to_owned(), lines.into_iter().map(|l| l.line).collect()));
        }
        Ok(plans)
    })
    .await??;
    for (name, lines) in plans {
        println!("\n-- {name}");
        for line in lines {
            println!("   {line}");
        }
    }
    let _ = ms(Duration::ZERO);
    Ok(())
}
