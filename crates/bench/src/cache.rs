//! What the request-path cache buys: admission (tenant resolution, token,
//! membership, session) timed in process, and an authenticated list under
//! load, with Redis, the in-process cache, no cache, and Redis frozen.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use secrecy::SecretString;
use taskforce_application::{AccountInput, Accounts, TenantAdmin};
use taskforce_auth::{Argon2Hasher, HashCost};
use taskforce_cli::{
    Application, Environment, Settings,
    services::{Services, Shared},
};
use taskforce_domain::{HostName, NewTenant, Plan, Role, Slug, Store, TenantName, Username};
use taskforce_persistence::{PgStore, PoolSettings, TenantMigrator, build_pool};
use taskforce_pgcluster::TestDatabase;

use crate::{api, stats::Samples};

const PASSWORD: &str = "bench-passphrase-42";

/// A private redis-server for the Redis modes.
struct PrivateRedis(std::process::Child, u16);

impl PrivateRedis {
    fn start() -> anyhow::Result<Self> {
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

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
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

pub async fn run(requests: usize, connections: usize, seconds: u64) -> anyhow::Result<()> {
    taskforce_persistence::instrumentation::count_statements()?;
    for mode in ["redis", "in-process", "none", "redis-frozen"] {
        let redis = if mode.starts_with("redis") { Some(PrivateRedis::start()?) } else { None };
        let db = tokio::task::spawn_blocking(TestDatabase::create).await??;
        let config_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut settings = Settings::load_for(Environment::Test, &config_dir.display().to_string())?;
        settings.database.url = SecretString::from(db.url().to_owned());
        settings.server.port = 0;
        settings.tenancy.ensure_dev_tenant = false;
        settings.cache.enabled = mode != "none";
        settings.redis.url =
            SecretString::from(redis.as_ref().map(|r| format!("redis://127.0.0.1:{}", r.1)).unwrap_or_default());
        let app = Application::build(&settings).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());

        let mut pool = PoolSettings::new(db.url());
        pool.max_size = 4;
        let store: Arc<dyn Store> = Arc::new(PgStore::new(build_pool(&pool)?, TenantMigrator::embedded()?));
        let admin = TenantAdmin::new(store.clone());
        let accounts = Accounts::new(store.clone(), Arc::new(Argon2Hasher::new(HashCost::OWASP_MINIMUM)?));
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            admin.create(&NewTenant {
                slug: Slug::parse("load")?,
                name: TenantName::parse("Load")?,
                plan: Plan::Enterprise,
                allow_signup: false,
                domains: vec![HostName::parse("load.localhost")?],
            })?;
            accounts.create(&AccountInput {
                username: "loader".into(),
                email: "loader@example.com".into(),
                password: PASSWORD.into(),
                is_staff: false,
            })?;
            admin.add_member(&Slug::parse("load")?, &Username::parse("loader")?, Role::Owner)?;
            Ok(())
        })
        .await??;
        let login: serde_json::Value = reqwest::Client::new()
            .post(format!("{base}/api/auth/login/"))
            .header("host", "load.localhost")
            .json(&serde_json::json!({"username": "loader", "password": PASSWORD}))
            .send()
            .await?
            .json()
            .await?;
        let token = login["access_token"].as_str().context("login failed")?.to_owned();

        // admission alone, in process, through the same services the server wires
        let shared = Shared::from_settings(&settings)?;
        let services = Services::build(&settings, store, &shared, TenantMigrator::embedded()?.latest_version())?;
        if mode == "redis-frozen" {
            redis.as_ref().context("redis")?.signal("-STOP")?;
        }
        let host = HostName::parse("load.localhost")?;
        let admit = tokio::task::spawn_blocking({
            let (token, host) = (token.clone(), host.clone());
            move || -> anyhow::Result<Samples> {
                for _ in 0..100 {
                    services.auth.admit(&services.directory, &host, Some(&token))?;
                }
                let mut samples = Vec::with_capacity(requests);
                for _ in 0..requests {
                    let started = Instant::now();
                    services.auth.admit(&services.directory, &host, Some(&token))?;
                    samples.push(started.elapsed());
                }
                Ok(Samples::new(samples))
            }
        })
        .await??;
        println!("[{mode}] admission (tenant + token + membership + session): {}", admit.line());

        let seeded = api::Seeded::from_parts(base, "load.localhost".into(), token, 0, db);
        api::scenario(&seeded, &format!("[{mode}] GET /api/projects/"), "/api/projects/", connections, seconds).await?;
        drop(redis);
    }
    Ok(())
}
