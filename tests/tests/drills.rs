//! Fault drills that set up, break, measure and clean up by themselves on
//! loopback, printing their figures (which are reported, not asserted):
//! PostgreSQL stopped and started again under load, and its backends
//! terminated under load. What is asserted: no `500` at any time, only
//! `503` while the database is away, every acknowledged write still in the
//! database afterwards, and full service again.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use diesel::{Connection, PgConnection, RunQueryDsl, sql_types::BigInt};
use reqwest::Method;
use taskforce_domain::{Plan, Role};
use taskforce_pgcluster::{Cluster, Durability, PgBinaries, RunningCluster, free_port};
use taskforce_tests::{TestResult, json, spawn_app_with};

/// What one request saw.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    at: Instant,
    status: u16,
    latency: Duration,
    created: Option<i64>,
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

fn start(cluster: Cluster, port: u16) -> Result<RunningCluster, String> {
    let running = cluster.start(Some(port)).map_err(|e| e.to_string())?;
    if running.port() != port {
        return Err(format!("the cluster came back on port {} instead of {port}", running.port()));
    }
    Ok(running)
}

fn summary(outcomes: &[Outcome], from: Instant, to: Instant) -> String {
    let window: Vec<&Outcome> = outcomes.iter().filter(|o| o.at >= from && o.at < to).collect();
    let count = |f: &dyn Fn(&Outcome) -> bool| window.iter().filter(|o| f(o)).count();
    let slowest = window.iter().map(|o| o.latency).max().unwrap_or_default();
    format!(
        "{} requests: {} 2xx, {} 503, {} other; slowest {:.0} ms",
        window.len(),
        count(&|o| (200..300).contains(&o.status)),
        count(&|o| o.status == 503),
        count(&|o| !(200..300).contains(&o.status) && o.status != 503),
        slowest.as_secs_f64() * 1e3
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_or_cut_off_under_load_loses_nothing_and_recovers() -> TestResult {
    let Ok(bins) = PgBinaries::locate() else {
        return taskforce_tests::skip_unless_required("no PostgreSQL server binaries");
    };
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("pg");
    let cluster = Cluster::new(bins, &data);
    cluster.make_dir(dir.path())?;
    cluster.init_if_needed(Durability::Durable)?;
    let port = free_port()?;
    let running = start(cluster.clone(), port)?;
    running.ensure_database("drill")?;
    let url = running.url("drill");
    let app = Arc::new(
        spawn_app_with(|s| {
            s.database.url = url.clone().into();
            s.database.checkout_timeout_ms = 500;
        })
        .await?,
    );
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let olga = app.login("acme", "olga").await?;
    let (_, project) = json(
        app.call_as(Method::POST, "acme", &olga.access, "/api/projects/")
            .json(&serde_json::json!({"name": "Drill"}))
            .send()
            .await?,
    )
    .await?;
    let tasks = format!("/api/projects/{}/tasks/", project["id"]);

    // 8 clients: each creates a task, then reads the list, until told to stop
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (app, token, tasks, outcomes, stop) =
            (app.clone(), olga.access.clone(), tasks.clone(), outcomes.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let write = n % 2 == 0;
                let request = if write {
                    app.call_as(Method::POST, "acme", &token, &tasks)
                        .json(&serde_json::json!({"title": format!("c{c} n{n}")}))
                } else {
                    app.get_as("acme", &token, &tasks)
                };
                let started = Instant::now();
                // no answer at all (reset, 10 s without one) counts as status 0: a failure
                let (status, body) = match request.timeout(Duration::from_secs(10)).send().await {
                    Ok(response) => (response.status().as_u16(), response.json().await.unwrap_or_default()),
                    Err(_) => (0, serde_json::Value::Null),
                };
                let created = (write && status == 201).then(|| body["id"].as_i64()).flatten();
                let outcome = Outcome { at: started, status, latency: started.elapsed(), created };
                outcomes.lock().map(|mut o| o.push(outcome)).ok();
                if status == 503 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }

    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // 1. stopped (fast shutdown ends every session) for two seconds, started again
    let down = Instant::now();
    tokio::task::spawn_blocking(move || match running.stop() {
        Ok(taskforce_pgcluster::Released::Stopped) => Ok(()),
        Ok(other) => Err(format!("the cluster was not stopped: {other:?}")),
        Err(error) => Err(error.to_string()),
    })
    .await??;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cluster_again = cluster.clone();
    let running = tokio::task::spawn_blocking(move || start(cluster_again, port)).await??;
    let up = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // 2. every backend of the database terminated while the load goes on
    let cut = Instant::now();
    let admin_url = running.url("postgres");
    let terminated = tokio::task::spawn_blocking(move || -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
        let mut conn = PgConnection::establish(&admin_url).map_err(|e| format!("connecting to end backends: {e}"))?;
        // the pids first: in one query the planner may call the function on any row
        let pids = diesel::sql_query("SELECT pid::bigint AS id FROM pg_stat_activity WHERE datname = 'drill'")
            .load::<Id>(&mut conn)
            .map_err(|e| format!("listing backends: {e}"))?;
        let mut ended = Vec::new();
        for Id { id } in pids {
            diesel::sql_query(format!("SELECT pg_terminate_backend({id})"))
                .execute(&mut conn)
                .map_err(|e| format!("ending backend {id}: {e}"))?;
            ended.push(id);
        }
        Ok(ended.len())
    })
    .await?
    .map_err(|e| e.to_string())?;
    // recovered once the requests started after the cut end in a run of
    // RECOVERED successes; the deadline is for the wait, not a speed claim
    // (the times are printed below)
    let deadline = Instant::now() + Duration::from_secs(30);
    while successes_at_the_end(&outcomes.lock().map_err(|_| "poisoned")?, cut) < RECOVERED && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end = Instant::now();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for client in clients {
        client.await?;
    }

    let outcomes = outcomes.lock().map(|o| o.clone()).map_err(|_| "poisoned")?;
    let first_ok_after = |from: Instant| {
        outcomes.iter().filter(|o| o.at >= from && (200..300).contains(&o.status)).map(|o| o.at + o.latency).min()
    };
    // recovered: from the restart, the time until every later request succeeded
    let last_failure_after = |from: Instant, to: Instant| {
        outcomes
            .iter()
            .filter(|o| o.at >= from && o.at < to && !(200..300).contains(&o.status))
            .map(|o| o.at + o.latency)
            .max()
    };
    eprintln!("drill: PostgreSQL stopped for 2 s and started again under 8 clients (half writes)");
    eprintln!("  before:        {}", summary(&outcomes, t0, down));
    eprintln!("  while down:    {}", summary(&outcomes, down, up));
    eprintln!("  after restart: {}", summary(&outcomes, up, cut));
    eprintln!(
        "  back up: first success {:.0} ms after the server accepted connections, last failure {:.0} ms after",
        first_ok_after(up).map_or(f64::NAN, |t| t.duration_since(up).as_secs_f64() * 1e3),
        last_failure_after(up, cut).map_or(0.0, |t| t.saturating_duration_since(up).as_secs_f64() * 1e3),
    );
    eprintln!("drill: {terminated} backends terminated under load");
    eprintln!("  after cut:     {}", summary(&outcomes, cut, end));
    eprintln!(
        "  last failure {:.0} ms after the cut",
        last_failure_after(cut, end).map_or(0.0, |t| t.saturating_duration_since(cut).as_secs_f64() * 1e3)
    );

    let acknowledged: Vec<i64> = outcomes.iter().filter_map(|o| o.created).collect();
    let stored_url = running.url("drill");
    let stored: Vec<i64> = tokio::task::spawn_blocking(move || -> Result<Vec<i64>, String> {
        let mut conn = PgConnection::establish(&stored_url).map_err(|e| format!("connecting to count: {e}"))?;
        let rows = diesel::sql_query("SELECT id FROM tenant_acme.tasks")
            .load::<Id>(&mut conn)
            .map_err(|e| format!("counting: {e}"))?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    })
    .await??;
    let lost: Vec<&i64> = acknowledged.iter().filter(|id| !stored.contains(id)).collect();
    eprintln!("  acknowledged writes: {}, lost: {}", acknowledged.len(), lost.len());

    assert!(
        outcomes.iter().all(|o| o.status == 503 || (200..300).contains(&o.status)),
        "answers other than 2xx/503 (0: none): {:?}",
        outcomes.iter().map(|o| o.status).filter(|s| *s != 503 && !(200..300).contains(s)).collect::<Vec<_>>()
    );
    assert!(lost.is_empty(), "acknowledged tasks missing: {lost:?}");
    assert!(!acknowledged.is_empty());
    // full service again: every request started after the cut's last
    // failure succeeded, and there were many of them
    let streak = successes_at_the_end(&outcomes, cut);
    assert!(streak >= RECOVERED, "not recovered: the last {streak} requests succeeded, after a failure");
    drop(running);
    Ok(())
}

/// Successes in a row that end the requests started since `from`.
const RECOVERED: usize = 40;

/// How many of the requests started since `from`, taken in the order they
/// started, succeeded after the last one that failed.
fn successes_at_the_end(outcomes: &[Outcome], from: Instant) -> usize {
    let mut since: Vec<(Instant, u16)> = outcomes.iter().filter(|o| o.at >= from).map(|o| (o.at, o.status)).collect();
    since.sort_by_key(|(at, _)| *at);
    since.iter().rev().take_while(|(_, status)| (200..300).contains(status)).count()
}

/// A tenant whose schema is behind the build (its migration failed half
/// way) answers `503 unavailable` on every endpoint, never data from a
/// schema it does not understand, while the other tenants work; once it is
/// migrated it serves again.
#[tokio::test]
async fn a_tenant_behind_on_migrations_answers_503_until_migrated() -> TestResult {
    let app = spawn_app_with(|s| s.cache.tenant_ttl_secs = 1).await?;
    app.create_tenant("alpha", Plan::Basic, false).await?;
    app.create_tenant("beta", Plan::Basic, false).await?;
    app.member("alpha", "ann", Role::Owner).await?;
    app.member("beta", "bob", Role::Owner).await?;
    let set_version = |version: String| {
        let store = app.store.clone();
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            let mut conn = store.pool().get().map_err(|e| e.to_string())?;
            diesel::sql_query(format!("UPDATE public.tenants SET schema_version = '{version}' WHERE slug = 'beta'"))
                .execute(&mut conn)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    };
    let current: String = {
        let store = app.store.clone();
        tokio::task::spawn_blocking(move || store.migrator().latest_version().to_owned()).await?
    };
    set_version("20000101000000".to_owned()).await??;

    let login = serde_json::json!({"username": "bob", "password": taskforce_tests::PASSWORD});
    let response = app.post("beta.localhost", "/api/auth/login/").json(&login).send().await?;
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (status, body) = json(response).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("unavailable")), "{body}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    let ann = app.login("alpha", "ann").await?;
    let (status, _) = json(app.get_as("alpha", &ann.access, "/api/projects/").send().await?).await?;
    assert_eq!(status, 200, "the other tenant is not held up");

    // migrated: served again once the cached host entry expires (1 s here)
    set_version(current).await??;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let bob = app.login("beta", "bob").await?;
    let (status, _) = json(app.get_as("beta", &bob.access, "/api/projects/").send().await?).await?;
    assert_eq!(status, 200);
    Ok(())
}
