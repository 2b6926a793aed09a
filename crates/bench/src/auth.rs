//! Password hashing, logins beside health checks, and what authentication
//! adds to a request.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;
use secrecy::SecretString;
use taskforce_application::{AccountInput, Accounts, TenantAdmin};
use taskforce_auth::{Argon2Hasher, HashCost};
use taskforce_cli::{Application, Environment, Settings};
use taskforce_domain::{HostName, NewTenant, PasswordHasher, Plan, Role, Slug, Store, TenantName, Username};
use taskforce_persistence::{PgStore, PoolSettings, TenantMigrator, build_pool};
use taskforce_pgcluster::TestDatabase;

use crate::stats::Samples;

const PASSWORD: &str = "bench-passphrase-42";

pub async fn run(logins: usize, requests: usize) -> anyhow::Result<()> {
    hashing_rate()?;

    let db = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let config_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let mut settings = Settings::load_for(Environment::Test, &config_dir.display().to_string())?;
    settings.database.url = SecretString::from(db.url().to_owned());
    settings.server.port = 0;
    settings.tenancy.ensure_dev_tenant = false;
    // one account logs in many times at once: more than its limit lets be
    // judged together
    settings.auth.login_max_failures = u32::MAX;
    settings.auth.login_max_failures_per_client = u32::MAX;
    let app = Application::build(&settings).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let mut pool = PoolSettings::new(db.url());
    pool.max_size = 2;
    let store: Arc<dyn Store> = Arc::new(PgStore::new(build_pool(&pool)?, TenantMigrator::embedded()?));
    let admin = TenantAdmin::new(store.clone());
    let accounts = Accounts::new(store, Arc::new(Argon2Hasher::new(HashCost::OWASP_MINIMUM)?));
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        admin.create(&NewTenant {
            slug: Slug::parse("bench")?,
            name: TenantName::parse("Bench")?,
            plan: Plan::Enterprise,
            allow_signup: false,
            domains: vec![HostName::parse("bench.localhost")?],
        })?;
        accounts.create(&AccountInput {
            username: "bencher".into(),
            email: "bencher@example.com".into(),
            password: PASSWORD.into(),
            is_staff: false,
        })?;
        admin.add_member(&Slug::parse("bench")?, &Username::parse("bencher")?, Role::Member)?;
        Ok(())
    })
    .await??;

    let client = reqwest::Client::new();
    let login = serde_json::json!({"username": "bencher", "password": PASSWORD});
    let token: serde_json::Value = client
        .post(format!("{base}/api/auth/login/"))
        .header("host", "bench.localhost")
        .json(&login)
        .send()
        .await?
        .json()
        .await?;
    let access = token["access_token"].as_str().context("login failed")?.to_owned();

    let health = sequential(&client, &base, "/api/health/", None, requests).await?;
    println!("GET /api/health/ (sequential, keep-alive): {}", health.line());
    let me = sequential(&client, &base, "/api/auth/me/", Some(&access), requests).await?;
    println!("GET /api/auth/me/ (tenant, token, membership, session; then one account query): {}", me.line());
    let refused = sequential(&client, &base, "/api/auth/me/", Some("not-a-token"), requests).await?;
    println!("GET /api/auth/me/ with a bad token (tenant + signature check): {}", refused.line());
    println!(
        "tenant resolution + signature check add p50 {:.3} ms; /api/auth/me/ adds {:.3} ms over the health check",
        crate::stats::ms(refused.quantile(0.5).saturating_sub(health.quantile(0.5))),
        crate::stats::ms(me.quantile(0.5).saturating_sub(health.quantile(0.5)))
    );

    // logins run on the blocking pool: health must stay fast meanwhile
    let started = Instant::now();
    let login_tasks: Vec<_> = (0..logins)
        .map(|_| {
            let (client, base, login) = (client.clone(), base.clone(), login.clone());
            tokio::spawn(async move {
                client
                    .post(format!("{base}/api/auth/login/"))
                    .header("host", "bench.localhost")
                    .json(&login)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    let during = {
        let mut samples = Vec::new();
        while samples.len() < 200 || login_tasks.iter().any(|t| !t.is_finished()) {
            let one = Instant::now();
            client.get(format!("{base}/api/health/")).send().await?.error_for_status()?;
            samples.push(one.elapsed());
            if started.elapsed() > Duration::from_secs(120) {
                break;
            }
        }
        Samples::new(samples)
    };
    let mut ok = 0;
    for task in login_tasks {
        if task.await?? == 200 {
            ok += 1;
        }
    }
    println!(
        "{logins} concurrent logins: {ok} ok in {:.2} s ({:.1} logins/s)",
        started.elapsed().as_secs_f64(),
        ok as f64 / started.elapsed().as_secs_f64()
    );
    println!("GET /api/health/ while they ran: {}", during.line());
    Ok(())
}

fn hashing_rate() -> anyhow::Result<()> {
    let hasher = Arc::new(Argon2Hasher::new(HashCost::OWASP_MINIMUM)?);
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        hasher.hash(PASSWORD)?;
    }
    let single = rounds as f64 / started.elapsed().as_secs_f64();
    let threads = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let hasher = hasher.clone();
            scope.spawn(move || {
                for _ in 0..rounds {
                    let _ = hasher.hash(PASSWORD);
                }
            });
        }
    });
    let parallel = (rounds * threads) as f64 / started.elapsed().as_secs_f64();
    println!(
        "argon2id m=19456 KiB t=2 p=1: {single:.1} hashes/s on one thread, {parallel:.1} hashes/s on {threads} threads"
    );
    Ok(())
}

async fn sequential(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: Option<&str>,
    n: usize,
) -> anyhow::Result<Samples> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let mut request = client.get(format!("{base}{path}")).header("host", "bench.localhost");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let one = Instant::now();
        let response = request.send().await?;
        let _ = response.bytes().await?;
        samples.push(one.elapsed());
    }
    Ok(Samples::new(samples))
}
