//! A private S3-compatible server for one test: moto's `moto_server` (from
//! PyPI, `pip install 'moto[server]'`) on a free port with one bucket,
//! stopped when dropped.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The bucket every test server gets.
pub const BUCKET: &str = "taskforce-test";

/// A `moto_server` of this test's own.
#[derive(Debug)]
pub struct TestS3 {
    child: Child,
    port: u16,
}

/// Where `moto_server` is, if anywhere.
pub fn moto_server() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let paths = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    paths
        .into_iter()
        .chain(home.map(|h| h.join(".pyenv/shims")))
        .chain([PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("moto_server"))
        .find(|p| p.is_file())
}

impl TestS3 {
    /// Starts one with an empty bucket; `None` when `moto_server` is not
    /// installed, unless `TASKFORCE_TEST_S3=required` (CI), which makes
    /// that an error.
    pub async fn start() -> Result<Option<Self>, Box<dyn std::error::Error>> {
        let Some(binary) = moto_server() else {
            if std::env::var("TASKFORCE_TEST_S3").as_deref() == Ok("required") {
                return Err("TASKFORCE_TEST_S3=required but moto_server is not installed".into());
            }
            return Ok(None);
        };
        let port = taskforce_pgcluster::free_port()?;
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let s3 = Self { child, port };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let created = client.put(format!("{}/{BUCKET}", s3.endpoint())).send().await;
            if created.is_ok_and(|r| r.status().is_success()) {
                return Ok(Some(s3));
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("moto_server did not start".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `storage.url` of a server using the bucket under `prefix`.
    pub fn storage_url(&self, prefix: &str) -> String {
        format!(
            "s3://{BUCKET}/{prefix}?endpoint={}&region=us-east-1&access_key_id=test&secret_access_key=test",
            self.endpoint()
        )
    }

    /// The keys in the bucket under `prefix`, sorted.
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let listing =
            reqwest::get(format!("{}/{BUCKET}?list-type=2&prefix={prefix}", self.endpoint())).await?.text().await?;
        let document = roxmltree::Document::parse(&listing)?;
        let mut keys: Vec<String> = document
            .descendants()
            .filter(|n| n.has_tag_name("Key"))
            .filter_map(|n| n.text().map(str::to_owned))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Multipart uploads begun and neither completed nor aborted.
    pub async fn pending_uploads(&self) -> Result<usize, Box<dyn std::error::Error>> {
        let listing = reqwest::get(format!("{}/{BUCKET}?uploads", self.endpoint())).await?.text().await?;
        let document = roxmltree::Document::parse(&listing)?;
        Ok(document.descendants().filter(|n| n.has_tag_name("Upload")).count())
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
