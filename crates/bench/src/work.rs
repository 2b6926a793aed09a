//! Attachments, notifications and reports: file throughput with the
//! server's peak memory, notification fan-out across two instances, and
//! report latency on a tenant with 100,000 tasks.

use std::{
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use futures_util::{StreamExt, stream};
use reqwest::multipart::{Form, Part};
use secrecy::SecretString;
use taskforce_cli::Application;
use taskforce_domain::Role;
use taskforce_pgcluster::TestDatabase;
use tokio::sync::mpsc;

use crate::{
    api,
    fixture::{self, PrivateRedis},
    stats::{Samples, ms},
};

const MIB: u64 = 1024 * 1024;

/// A server in a child process (this binary's hidden `serve`), so its
/// memory is its own; killed when dropped.
pub struct ChildServer {
    child: Child,
    pub base: String,
}

impl ChildServer {
    fn start(database_url: &str, files_root: &std::path::Path, max_upload: u64) -> anyhow::Result<Self> {
        Self::start_with(database_url, files_root, max_upload, &[])
    }

    /// [`ChildServer::start`] with more environment variables.
    pub fn start_with(
        database_url: &str,
        files_root: &std::path::Path,
        max_upload: u64,
        extra: &[(&str, String)],
    ) -> anyhow::Result<Self> {
        let port = taskforce_pgcluster::free_port()?;
        let child = Command::new(std::env::current_exe()?)
            .arg("serve")
            .env("TASKFORCE_ENV", "test")
            .env("TASKFORCE_CONFIG_DIR", fixture::config_dir())
            .env("TASKFORCE__DATABASE__URL", database_url)
            .env("TASKFORCE__SERVER__PORT", port.to_string())
            .env("TASKFORCE__STORAGE__ROOT", files_root)
            .env("TASKFORCE__STORAGE__MAX_UPLOAD_BYTES", max_upload.to_string())
            .env("TASKFORCE__TENANCY__ENSURE_DEV_TENANT", "false")
            .env("TASKFORCE__REDIS__URL", "")
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting the server process")?;
        Ok(Self { child, base: format!("http://127.0.0.1:{port}") })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A `/proc/<pid>/status` field in KiB (`VmRSS`, `VmHWM`).
    pub fn memory_kib(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with(field)).with_context(|| format!("no {field}"))?;
        Ok(line.split_whitespace().nth(1).context("value")?.parse()?)
    }

    /// The same in MiB.
    pub fn memory_mib(&self, field: &str) -> anyhow::Result<f64> {
        Ok(self.memory_kib(field)? as f64 / 1024.0)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A multipart body with a file of `size` bytes made 64 KiB at a time.
fn generated_file(size: u64) -> Form {
    let chunk = bytes::Bytes::from((0..64 * 1024).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let chunks = size.div_ceil(chunk.len() as u64);
    let body =
        reqwest::Body::wrap_stream(stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone()))));
    Form::new().part("file", Part::stream_with_length(body, chunks * 64 * 1024).file_name("bench.bin"))
}

/// Upload and download throughput of a `size_mib` file, `rounds` times
/// each, with the server's resident memory and its peak.
pub async fn files(size_mib: u64, rounds: usize) -> anyhow::Result<()> {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let root = tempfile::tempdir()?;
    let size = size_mib * MIB;
    let server = ChildServer::start(db.url(), root.path(), size + MIB)?;
    fixture::wait_healthy(&server.base).await?;
    let operator = fixture::Operator::connect(db.url())?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        operator.tenant("files")?;
        operator.member("files", "uploader", Role::Owner)?;
        Ok(())
    })
    .await??;
    let client = reqwest::Client::new();
    let token = fixture::login(&client, &server.base, "files", "uploader").await?;
    let call = |method: reqwest::Method, path: &str| {
        client.request(method, format!("{}{path}", server.base)).header("host", "files.localhost").bearer_auth(&token)
    };
    let project: serde_json::Value = call(reqwest::Method::POST, "/api/projects/")
        .json(&serde_json::json!({"name": "Files"}))
        .send()
        .await?
        .json()
        .await?;
    let task: serde_json::Value = call(reqwest::Method::POST, &format!("/api/projects/{}/tasks/", project["id"]))
        .json(&serde_json::json!({"title": "Carry files"}))
        .send()
        .await?
        .json()
        .await?;
    let (rss_idle, peak_idle) = (server.memory_mib("VmRSS")?, server.memory_mib("VmHWM")?);

    let mut ids = Vec::new();
    let mut up = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let answer = call(reqwest::Method::POST, &format!("/api/tasks/{}/attachments/", task["id"]))
            .multipart(generated_file(size))
            .send()
            .await?;
        anyhow::ensure!(answer.status().as_u16() == 201, "upload answered {}", answer.status());
        let created: serde_json::Value = answer.json().await?;
        up.push(started.elapsed());
        ids.push(created["id"].as_i64().context("id")?);
    }
    let peak_after_upload = server.memory_mib("VmHWM")?;
    let mut down = Vec::new();
    for id in &ids {
        let started = Instant::now();
        let mut response = call(reqwest::Method::GET, &format!("/api/attachments/{id}/download/")).send().await?;
        let mut received = 0_u64;
        while let Some(chunk) = response.chunk().await? {
            received += chunk.len() as u64;
        }
        anyhow::ensure!(received >= size, "downloaded {received} of {size} bytes");
        down.push(started.elapsed());
    }
    let peak_after_download = server.memory_mib("VmHWM")?;
    let rate = |samples: &Samples, q: f64| size_mib as f64 / samples.quantile(q).as_secs_f64();
    let (up, down) = (Samples::new(up), Samples::new(down));
    println!(
        "upload {size_mib} MiB x{rounds}: median {:.0} MiB/s (slowest {:.0} MiB/s, {:.0} ms median)",
        rate(&up, 0.5),
        rate(&up, 1.0),
        ms(up.quantile(0.5))
    );
    println!(
        "download {size_mib} MiB x{rounds}: median {:.0} MiB/s (slowest {:.0} MiB/s, {:.0} ms median)",
        rate(&down, 0.5),
        rate(&down, 1.0),
        ms(down.quantile(0.5))
    );
    println!(
        "server memory: {:.1} MiB resident when idle (peak so far {:.1} MiB); peak {:.1} MiB after the uploads, {:.1} MiB after the downloads",
        rss_idle, peak_idle, peak_after_upload, peak_after_download
    );
    Ok(())
}

/// Serves the test configuration from the environment (the child of `files`).
///
/// With `TASKFORCE_BENCH_STATEMENTS` set to a path, the statements sent to
/// PostgreSQL are counted and the count is written there ten times a second
/// (the `fleet` scenario's round trips per request).
pub async fn serve() -> anyhow::Result<()> {
    let settings = taskforce_cli::Settings::load()?;
    if let Some(path) = std::env::var_os("TASKFORCE_BENCH_STATEMENTS") {
        taskforce_persistence::instrumentation::count_statements()?;
        tokio::spawn(async move {
            let mut staged = std::path::PathBuf::from(&path);
            staged.set_extension("new");
            loop {
                let count = taskforce_persistence::instrumentation::statements_sent();
                // written aside and renamed, so a reader never sees half a number
                if tokio::fs::write(&staged, count.to_string()).await.is_ok() {
                    let _ = tokio::fs::rename(&staged, &path).await;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    Application::build(&settings).await?.run_until_stopped().await?;
    Ok(())
}

/// Opens one user's stream; sends the arrival time of each notification.
async fn listen(
    client: reqwest::Client,
    url: String,
    token: String,
    index: usize,
    arrivals: mpsc::UnboundedSender<(usize, Instant)>,
    opened: mpsc::UnboundedSender<usize>,
) -> anyhow::Result<()> {
    let response = client.get(url).header("host", "fan.localhost").bearer_auth(token).send().await?;
    anyhow::ensure!(response.status().is_success(), "stream answered {}", response.status());
    let mut body = response.bytes_stream();
    let mut pending = String::new();
    let mut announced = false;
    while let Some(chunk) = body.next().await {
        pending.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            if !announced {
                announced = true;
                let _ = opened.send(index);
            }
            if event.contains("event: notification") {
                let _ = arrivals.send((index, Instant::now()));
            }
        }
    }
    Ok(())
}

/// `streams` members each with an open stream, half on each of two
/// instances sharing Redis; each round one comment on instance one
/// mentions them all. Latency: from sending the comment to each arrival.
pub async fn notify(streams: usize, rounds: usize) -> anyhow::Result<()> {
    let redis = PrivateRedis::start()?;
    let db = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let mut settings = fixture::settings(db.url())?;
    settings.redis.url = SecretString::from(redis.url());
    let mut bases = Vec::new();
    for _ in 0..2 {
        let app = Application::build(&settings).await?;
        bases.push(format!("http://127.0.0.1:{}", app.port()));
        tokio::spawn(app.run_until_stopped());
    }
    let operator = Arc::new(fixture::Operator::connect(db.url())?);
    let started = Instant::now();
    let names: Vec<String> = (0..streams).map(|i| format!("u{i:04}")).collect();
    {
        let (operator, names) = (operator.clone(), names.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            operator.tenant("fan")?;
            operator.member("fan", "author", Role::Owner)?;
            for name in &names {
                operator.member("fan", name, Role::Member)?;
            }
            Ok(())
        })
        .await??;
    }
    let client = reqwest::Client::builder().pool_max_idle_per_host(streams + 8).build()?;
    let author = fixture::login(&client, &bases[0], "fan", "author").await?;
    let tokens: Vec<String> = stream::iter(names.iter())
        .map(|name| fixture::login(&client, &bases[0], "fan", name))
        .buffered(2)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    println!("{streams} members set up and signed in in {:.1} s", started.elapsed().as_secs_f64());

    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
    let (opened_tx, mut opened) = mpsc::unbounded_channel();
    for (index, token) in tokens.into_iter().enumerate() {
        let url = format!("{}/api/notifications/stream/", bases[index % 2]);
        tokio::spawn(listen(client.clone(), url, token, index, arrivals_tx.clone(), opened_tx.clone()));
    }
    for _ in 0..streams {
        tokio::time::timeout(Duration::from_secs(60), opened.recv()).await?.context("a stream closed")?;
    }
    let call = |method: reqwest::Method, path: &str| {
        client.request(method, format!("{}{path}", bases[0])).header("host", "fan.localhost").bearer_auth(&author)
    };
    let project: serde_json::Value = call(reqwest::Method::POST, "/api/projects/")
        .json(&serde_json::json!({"name": "Fan-out"}))
        .send()
        .await?
        .json()
        .await?;
    let task: serde_json::Value = call(reqwest::Method::POST, &format!("/api/projects/{}/tasks/", project["id"]))
        .json(&serde_json::json!({"title": "Read this"}))
        .send()
        .await?
        .json()
        .await?;
    let mentions: String = names.iter().map(|n| format!("@{n} ")).collect();

    let (mut same, mut other, mut commits) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let sent = Instant::now();
        let answer = call(reqwest::Method::POST, &format!("/api/tasks/{}/comments/", task["id"]))
            .json(&serde_json::json!({"body": format!("round {round}: {mentions}")}))
            .send()
            .await?;
        anyhow::ensure!(answer.status().as_u16() == 201, "comment answered {}", answer.status());
        commits.push(sent.elapsed());
        for _ in 0..streams {
            let (index, at) = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
                .await
                .context("a notification did not arrive within 10 s")?
                .context("streams closed")?;
            let latency = at.duration_since(sent);
            if index % 2 == 0 { same.push(latency) } else { other.push(latency) }
        }
    }
    let all = Samples::new(same.iter().chain(other.iter()).copied().collect());
    println!(
        "comment mentioning {streams} members (write + {streams} notifications, one transaction): {}",
        Samples::new(commits).line()
    );
    println!("arrival after sending, all streams:      {}", all.line());
    println!("  streams on the instance that wrote:    {}", Samples::new(same).line());
    println!("  streams on the other instance (Redis): {}", Samples::new(other).line());
    drop(redis);
    Ok(())
}

/// Each report on a tenant with `tasks` tasks, `requests` times.
pub async fn reports(tasks: u64, requests: usize) -> anyhow::Result<()> {
    let seeded = api::seed(tasks).await?;
    let client = reqwest::Client::new();
    for path in [
        "/api/reports/summary/",
        "/api/reports/summary/?project=1",
        "/api/reports/throughput/?weeks=12",
        "/api/reports/throughput/?weeks=12&format=svg",
        "/api/reports/workload/",
        "/api/reports/cycle-time/",
    ] {
        let get =
            || client.get(format!("{}{path}", seeded.base)).header("host", &seeded.host).bearer_auth(&seeded.token);
        let first = get().send().await?;
        anyhow::ensure!(first.status().is_success(), "{path} answered {}", first.status());
        first.bytes().await?;
        for _ in 0..10 {
            get().send().await?.bytes().await?;
        }
        let mut samples = Vec::with_capacity(requests);
        for _ in 0..requests {
            let started = Instant::now();
            get().send().await?.bytes().await?;
            samples.push(started.elapsed());
        }
        println!("GET {path}: {}", Samples::new(samples).line());
    }
    Ok(())
}
