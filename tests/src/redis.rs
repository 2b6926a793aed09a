//! A private Redis server for one test: started on a free port, stopped,
//! frozen and thawed at will, removed when dropped.

use std::{
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A `redis-server` of this test's own.
#[derive(Debug)]
pub struct TestRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

/// Where `redis-server` is, if anywhere.
pub fn redis_server() -> Option<PathBuf> {
    let paths = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    paths
        .into_iter()
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

impl TestRedis {
    /// Starts one; `None` when this machine has no `redis-server`, unless
    /// `TASKFORCE_TEST_TOOLS=required` (CI, see [`crate::skip_unless_required`]), which makes
    /// that an error.
    pub fn start() -> Result<Option<Self>, Box<dyn std::error::Error>> {
        if redis_server().is_none() {
            crate::skip_unless_required("redis-server is not installed")?;
            return Ok(None);
        }
        let port = taskforce_pgcluster::free_port()?;
        let mut redis = Self { child: None, port, dir: tempfile::tempdir()? };
        redis.launch()?;
        Ok(Some(redis))
    }

    fn launch(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let binary = redis_server().ok_or("no redis-server")?;
        let child = Command::new(binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("redis-server did not start".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) -> Result<(), Box<dyn std::error::Error>> {
        let child = self.child.as_ref().ok_or("not running")?;
        let status = Command::new("kill").args([signal, &child.id().to_string()]).status()?;
        if status.success() { Ok(()) } else { Err(format!("kill {signal} failed").into()) }
    }

    /// Stops it (connections are refused from now on).
    pub fn stop(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        self.signal("-KILL")?;
        if let Some(mut child) = self.child.take() {
            child.wait()?;
        }
        Ok(())
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        self.launch()
    }

    /// Freezes it (SIGSTOP): connections hang without an answer.
    pub fn freeze(&self) -> Result<(), Box<dyn std::error::Error>> {
        self.signal("-STOP")
    }

    /// Thaws it (SIGCONT).
    pub fn thaw(&self) -> Result<(), Box<dyn std::error::Error>> {
        self.signal("-CONT")
    }

    /// Every key, as `redis-cli --scan` lists them.
    pub fn keys(&self) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let out = Command::new("redis-cli").args(["-p", &self.port.to_string(), "--scan"]).output()?;
        Ok(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect())
    }

    /// One command through `redis-cli`, its output trimmed.
    pub fn cli(&self, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
        let out = Command::new("redis-cli").args(["-p", &self.port.to_string()]).args(args).output()?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-CONT", &child.id().to_string()]).status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
