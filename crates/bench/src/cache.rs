//! What the request-path cache buys: admission (tenant resolution, token,
//! membership, session) timed in process, and an authenticated list under
//! load, with Redis, the in-process cache, no cache, and Redis frozen.

use std::{sync::Arc, time::Instant};

use anyhow::Context;
use secrecy::SecretString;
use taskforce_cli::{
    Application,
    services::{Services, Shared},
};
use taskforce_domain::{HostName, Role, Store};
use taskforce_persistence::TenantMigrator;
use taskforce_pgcluster::TestDatabase;

use crate::{
    api,
    fixture::{self, PrivateRedis},
    stats::Samples,
};

pub async fn run(requests: usize, connections: usize, seconds: u64) -> anyhow::Result<()> {
    taskforce_persistence::instrumentation::count_statements()?;
    for mode in ["redis", "in-process", "none", "redis-frozen"] {
        let redis = if mode.starts_with("redis") { Some(PrivateRedis::start()?) } else { None };
        let db = tokio::task::spawn_blocking(TestDatabase::create).await??;
        let mut settings = fixture::settings(db.url())?;
        settings.cache.enabled = mode != "none";
        settings.redis.url = SecretString::from(redis.as_ref().map(PrivateRedis::url).unwrap_or_default());
        let app = Application::build(&settings).await?;
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());

        let operator = fixture::Operator::connect(db.url())?;
        let store: Arc<dyn Store> = operator.store.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            operator.tenant("load")?;
            operator.member("load", "loader", Role::Owner)?;
            Ok(())
        })
        .await??;
        let token = fixture::login(&reqwest::Client::new(), &base, "load", "loader").await?;

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
