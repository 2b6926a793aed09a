//! What the scenarios start from: test settings on a fresh database, an
//! operator's use cases over it, private Redis servers, logins.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::SecretString;
use taskforce_application::{AccountInput, Accounts, TenantAdmin};
use taskforce_auth::{Argon2Hasher, HashCost};
use taskforce_cli::{Environment, Settings};
use taskforce_domain::{HostName, NewTenant, Plan, Role, Slug, Store, Tenant, TenantName, User, Username};
use taskforce_persistence::{PgStore, PoolSettings, TenantMigrator, build_pool};

/// Every account's password.
pub const PASSWORD: &str = "bench-passphrase-42";

/// The repository's configuration folder.
pub fn config_dir() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config").display().to_string()
}

/// The test environment's settings on `database_url`: any free port, no
/// development tenant, no Redis.
pub fn settings(database_url: &str) -> anyhow::Result<Settings> {
    let mut settings = Settings::load_for(Environment::Test, &config_dir())?;
    settings.database.url = SecretString::from(database_url.to_owned());
    settings.redis.url = SecretString::from(String::new());
    settings.server.port = 0;
    settings.tenancy.ensure_dev_tenant = false;
    Ok(settings)
}

/// The operators' use cases over a database, to set up tenants and people.
pub struct Operator {
    /// Tenants and members.
    pub admin: TenantAdmin,
    /// Accounts.
    pub accounts: Accounts,
    /// The store itself, for seeding with SQL.
    pub store: Arc<PgStore>,
}

impl Operator {
    /// Over the database at `url` (migrated by a server's start).
    pub fn connect(url: &str) -> anyhow::Result<Self> {
        let mut pool = PoolSettings::new(url);
        pool.max_size = 4;
        let store = Arc::new(
            PgStore::new(build_pool(&pool)?, TenantMigrator::embedded()?).with_fresh_provisioning_connections(pool),
        );
        let dyn_store: Arc<dyn Store> = store.clone();
        Ok(Self {
            admin: TenantAdmin::new(dyn_store.clone()),
            accounts: Accounts::new(dyn_store, Arc::new(Argon2Hasher::new(HashCost::OWASP_MINIMUM)?)),
            store,
        })
    }

    /// An enterprise tenant answering on `<slug>.localhost`.
    pub fn tenant(&self, slug: &str) -> anyhow::Result<Tenant> {
        Ok(self.admin.create(&NewTenant {
            slug: Slug::parse(slug)?,
            name: TenantName::parse(slug)?,
            plan: Plan::Enterprise,
            allow_signup: false,
            domains: vec![HostName::parse(&format!("{slug}.localhost"))?],
        })?)
    }

    /// A new account with [`PASSWORD`], made a member of the tenant.
    pub fn member(&self, slug: &str, username: &str, role: Role) -> anyhow::Result<User> {
        let user = self.accounts.create(&AccountInput {
            username: username.into(),
            email: format!("{username}@example.com"),
            password: PASSWORD.into(),
            is_staff: false,
        })?;
        self.admin.add_member(&Slug::parse(slug)?, &Username::parse(username)?, role)?;
        Ok(user)
    }
}

/// Logs `username` in on `<slug>.localhost`; the access token.
pub async fn login(client: &reqwest::Client, base: &str, slug: &str, username: &str) -> anyhow::Result<String> {
    let answer: serde_json::Value = client
        .post(format!("{base}/api/auth/login/"))
        .header("host", format!("{slug}.localhost"))
        .json(&serde_json::json!({"username": username, "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    Ok(answer["access_token"].as_str().with_context(|| format!("login of {username} failed: {answer}"))?.to_owned())
}

/// Waits until `base` answers its health check.
pub async fn wait_healthy(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client.get(format!("{base}/api/health/")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{base} did not become healthy within a minute")
}

/// A private redis-server.
pub struct PrivateRedis(std::process::Child, u16);

impl PrivateRedis {
    /// Starts one on a free port.
    pub fn start() -> anyhow::Result<Self> {
        let port = taskforce_pgcluster::free_port()?;
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("starting redis-server")?;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Self(child, port))
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.1)
    }

    /// Sends a signal (`-STOP`, `-CONT`).
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        std::process::Command::new("kill").args([signal, &self.0.id().to_string()]).status()?;
        Ok(())
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.signal("-CONT");
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
