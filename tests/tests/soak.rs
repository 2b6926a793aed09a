//! The cross-tenant soak: two tenants with the same ids and different
//! contents, 64 concurrent clients reading and writing through both hosts,
//! and not one response may carry the other tenant's rows. Run once with
//! the in-process cache and once with a private Redis.
//!
//! `SOAK_REQUESTS` sets the requests per run (CI: 10,000; the drill in
//! docs/reliability.md: 100,000). Figures are printed, not asserted.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use reqwest::Method;
use taskforce_domain::{Plan, Role};
use taskforce_tests::{Session, TestApp, TestRedis, TestResult, json, spawn_app_with};

const CLIENTS: usize = 64;
/// Projects and tasks per project that both tenants have: the ids the
/// clients use.
const PROJECTS: usize = 4;
const TASKS_PER_PROJECT: usize = 5;

/// What one tenant holds beyond the shared ids, so that the two tenants'
/// reports differ: more projects, and some tasks done.
struct Shape {
    mark: &'static str,
    projects: usize,
    /// The first this many tasks of each project are `done`.
    done_per_project: usize,
}

const ALPHA: Shape = Shape { mark: "ALPHA", projects: PROJECTS, done_per_project: 0 };
const BETA: Shape = Shape { mark: "BETA", projects: PROJECTS + 2, done_per_project: 2 };

impl Shape {
    /// `GET /api/reports/summary/` of a tenant so filled, with one member;
    /// the soak's writes (descriptions and comments) change none of it.
    fn summary(&self) -> serde_json::Value {
        let total = self.projects * TASKS_PER_PROJECT;
        let done = self.projects * self.done_per_project;
        serde_json::json!({
            "projects": self.projects,
            "members": 1,
            "tasks": {
                "total": total,
                "by_status": {"todo": total - done, "in_progress": 0, "in_review": 0, "done": done},
                "by_priority": {"low": 0, "medium": total, "high": 0, "urgent": 0},
                "overdue": 0,
                "due_next_7_days": 0,
                "unassigned": total - done,
            },
        })
    }
}

/// Projects, tasks and comments whose every text names the tenant.
async fn fill(app: &TestApp, slug: &str, owner: &Session, shape: &Shape) -> Result<(), Box<dyn std::error::Error>> {
    let mark = shape.mark;
    for p in 0..shape.projects {
        let (status, project) = json(
            app.call_as(Method::POST, slug, &owner.access, "/api/projects/")
                .json(&serde_json::json!({"name": format!("{mark} project {p}"), "description": mark}))
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, 201, "{project}");
        for t in 0..TASKS_PER_PROJECT {
            let status = if t < shape.done_per_project { "done" } else { "todo" };
            let (code, task) = json(
                app.call_as(Method::POST, slug, &owner.access, &format!("/api/projects/{}/tasks/", project["id"]))
                    .json(&serde_json::json!({
                        "title": format!("{mark} task {p}.{t}"), "description": mark, "status": status}))
                    .send()
                    .await?,
            )
            .await?;
            assert_eq!((code, task["status"].as_str()), (201, Some(status)), "{task}");
            app.call_as(Method::POST, slug, &owner.access, &format!("/api/tasks/{}/comments/", task["id"]))
                .json(&serde_json::json!({"body": format!("{mark} comment")}))
                .send()
                .await?;
        }
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    foreign: AtomicU64,
    failures: AtomicU64,
    /// Summaries whose numbers are not the tenant's own.
    wrong_summaries: AtomicU64,
}

/// One client of one tenant.
struct Client {
    app: Arc<TestApp>,
    slug: &'static str,
    token: String,
    mine: &'static str,
    theirs: &'static str,
    /// The tenant's own `GET /api/reports/summary/`.
    summary: Arc<serde_json::Value>,
    seed: usize,
    count: u64,
    tally: Arc<Tally>,
}

/// One client: `count` requests on its tenant, 10% of them writes, each
/// answer checked for the other tenant's mark, and each summary (which
/// holds numbers, not marks) against the tenant's own numbers.
async fn client(client: Client) -> Result<Vec<Duration>, String> {
    let Client { app, slug, token, mine, theirs, summary, seed, count, tally } = client;
    let tasks = PROJECTS * TASKS_PER_PROJECT;
    let mut latencies = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for n in 0..count {
        let k = seed.wrapping_mul(7919).wrapping_add(usize::try_from(n).unwrap_or(0));
        let task = 1 + k % tasks;
        let project = 1 + k % PROJECTS;
        let is_summary = k % 10 == 9;
        let request = match k % 10 {
            0 => app
                .call_as(Method::PATCH, slug, &token, &format!("/api/tasks/{task}/"))
                .json(&serde_json::json!({"description": format!("{mine} edited {n}")})),
            1 => app
                .call_as(Method::POST, slug, &token, &format!("/api/tasks/{task}/comments/"))
                .json(&serde_json::json!({"body": format!("{mine} says {n}")})),
            2 => app.get_as(slug, &token, "/api/projects/"),
            3 => app.get_as(slug, &token, &format!("/api/projects/{project}/")),
            4 | 5 => app.get_as(slug, &token, &format!("/api/tasks/{task}/")),
            6 => app.get_as(slug, &token, &format!("/api/projects/{project}/tasks/?ordering=-updated_at")),
            7 => app.get_as(slug, &token, &format!("/api/tasks/{task}/comments/")),
            8 => app.get_as(slug, &token, "/api/activity/?page_size=50"),
            _ => app.get_as(slug, &token, "/api/reports/summary/"),
        };
        let started = Instant::now();
        let response = request.send().await.map_err(|e| error_chain(&e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| error_chain(&e))?;
        latencies.push(started.elapsed());
        tally.requests.fetch_add(1, Ordering::Relaxed);
        if body.contains(theirs) {
            tally.foreign.fetch_add(1, Ordering::Relaxed);
            eprintln!("{slug} received {theirs}'s data: {body}");
        }
        if is_summary
            && status.is_success()
            && serde_json::from_str::<serde_json::Value>(&body).ok().as_ref() != Some(&*summary)
        {
            tally.wrong_summaries.fetch_add(1, Ordering::Relaxed);
            eprintln!("{slug}'s summary is not its own: {body}, expected {summary}");
        }
        if !status.is_success() {
            tally.failures.fetch_add(1, Ordering::Relaxed);
            eprintln!("{slug}: {status} {body}");
        }
    }
    Ok(latencies)
}

/// The error and every cause under it: reqwest's own message alone does not
/// say whether the connection was refused, reset or timed out.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn soak(app: TestApp, label: &str) -> TestResult {
    app.create_tenant("alpha", Plan::Enterprise, false).await?;
    app.create_tenant("beta", Plan::Enterprise, false).await?;
    app.member("alpha", "ann", Role::Owner).await?;
    app.member("beta", "bob", Role::Owner).await?;
    let (ann, bob) = (app.login("alpha", "ann").await?, app.login("beta", "bob").await?);
    fill(&app, "alpha", &ann, &ALPHA).await?;
    fill(&app, "beta", &bob, &BETA).await?;
    let (alpha_summary, beta_summary) = (Arc::new(ALPHA.summary()), Arc::new(BETA.summary()));
    assert_ne!(alpha_summary, beta_summary, "a leak between the summaries must show");
    for (slug, token, expected) in [("alpha", &ann.access, &alpha_summary), ("beta", &bob.access, &beta_summary)] {
        let (status, summary) = json(app.get_as(slug, token, "/api/reports/summary/").send().await?).await?;
        assert_eq!((status, &summary), (200, &**expected), "{slug}");
    }

    let total: u64 = std::env::var("SOAK_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let per_client = total.div_ceil(CLIENTS as u64);
    let app = Arc::new(app);
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let (slug, token, mine, theirs, summary) = if i % 2 == 0 {
            ("alpha", ann.access.clone(), "ALPHA", "BETA", alpha_summary.clone())
        } else {
            ("beta", bob.access.clone(), "BETA", "ALPHA", beta_summary.clone())
        };
        let state = Client {
            app: app.clone(),
            slug,
            token,
            mine,
            theirs,
            summary,
            seed: i,
            count: per_client,
            tally: tally.clone(),
        };
        clients.push(tokio::spawn(client(state)));
    }
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| latencies[((q * latencies.len() as f64) as usize).min(latencies.len() - 1)];
    let (requests, foreign, failures, wrong_summaries) = (
        tally.requests.load(Ordering::Relaxed),
        tally.foreign.load(Ordering::Relaxed),
        tally.failures.load(Ordering::Relaxed),
        tally.wrong_summaries.load(Ordering::Relaxed),
    );
    eprintln!(
        "soak [{label}]: {requests} requests by {CLIENTS} clients in {:.1} s ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms; \
         responses with the other tenant's rows: {foreign}; summaries not the tenant's own: {wrong_summaries}; \
         non-2xx: {failures}",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
    assert_eq!(requests, per_client * CLIENTS as u64);
    assert_eq!(foreign, 0, "responses carried the other tenant's rows");
    assert_eq!(wrong_summaries, 0, "summaries carried numbers other than the tenant's own");
    assert_eq!(failures, 0, "requests failed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_response_carries_the_other_tenant_s_rows() -> TestResult {
    soak(spawn_app_with(|_| {}).await?, "in-process cache").await?;
    if let Some(redis) = TestRedis::start()? {
        let url = redis.url();
        let mut app = spawn_app_with(|s| s.redis.url = url.into()).await?;
        app.redis = Some(redis);
        soak(app, "Redis").await?;
    }
    Ok(())
}
