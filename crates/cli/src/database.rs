//! Reaching PostgreSQL: the configured URL, or the embedded cluster.

use std::time::Duration;

use anyhow::Context;
use taskforce_persistence::{PgPool, PoolSettings, build_pool};
use taskforce_pgcluster::{Cluster, Durability, PgBinaries, RunningCluster};

use crate::settings::DatabaseSettings;

/// The database to use, and the embedded cluster when this process started it.
#[derive(Debug)]
pub struct Database {
    /// Connection URL.
    pub url: String,
    /// The embedded cluster, stopped when dropped if this process started it.
    pub cluster: Option<RunningCluster>,
}

impl Database {
    /// The configured URL, or the embedded cluster (created, started and its
    /// `taskforce` database made on first use).
    pub fn open(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        if let Some(url) = settings.url() {
            return Ok(Self { url: url.to_owned(), cluster: None });
        }
        let bins = PgBinaries::locate()?;
        let dir = std::path::absolute(&settings.embedded_dir).unwrap_or_else(|_| settings.embedded_dir.clone());
        let cluster = Cluster::new(bins, &dir);
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        if cluster.init_if_needed(Durability::Durable)? {
            tracing::info!(dir = %dir.display(), "created the embedded PostgreSQL cluster");
        }
        let running = cluster.start(Some(settings.embedded_port))?;
        running.ensure_database("taskforce").context("creating the taskforce database in the embedded cluster")?;
        let url = running.url("taskforce");
        if running.owned() {
            tracing::info!(%url, "started the embedded PostgreSQL cluster; it stops when this process exits");
        }
        Ok(Self { url, cluster: Some(running) })
    }

    /// For a command that runs to its end (tenant-admin, `migrate`): an
    /// interrupt (Ctrl-C) or `SIGTERM` stops the embedded cluster this
    /// process started, which a drop would not, and exits with 130 (143).
    /// Every unit of work is a transaction, so the one cut short is rolled
    /// back. Not for `serve`, which shuts down gracefully by itself.
    pub fn stop_on_interrupt(&self) {
        let Some(running) = self.cluster.as_ref().filter(|running| running.owned()) else { return };
        let cluster = running.cluster().clone();
        let watch = move || -> std::io::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
            let code = runtime.block_on(async {
                let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    interrupted = tokio::signal::ctrl_c() => interrupted.map(|()| 130),
                    _ = terminate.recv() => Ok(143),
                }
            })?;
            let stopped = match cluster.stop_server() {
                Ok(()) => "the embedded PostgreSQL cluster was stopped".to_owned(),
                Err(error) => format!("the embedded PostgreSQL cluster could not be stopped: {error}"),
            };
            eprintln!("error: interrupted; the unit of work under way was rolled back, and {stopped}");
            std::process::exit(code)
        };
        let spawned = std::thread::Builder::new().name("interrupt".into()).spawn(move || {
            if let Err(error) = watch() {
                tracing::warn!(%error, "cannot watch for interrupts; the embedded cluster may outlive an interrupted run");
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot watch for interrupts; the embedded cluster may outlive an interrupted run");
        }
    }

    /// Connects once and lets go, so that a command run by hand fails at
    /// once, with PostgreSQL's reason, when the database cannot be reached
    /// (a wrong password, no such database): the pool would retry for its
    /// whole check-out timeout and report a time-out. Not for `serve`, which
    /// starts whether or not the database is up yet.
    pub fn reachable(&self, settings: &DatabaseSettings, application_name: &str) -> anyhow::Result<()> {
        taskforce_persistence::connect(&self.pool_settings(settings, application_name))
            .map(drop)
            .context("connecting to PostgreSQL")
    }

    /// The pool over this database.
    pub fn pool(&self, settings: &DatabaseSettings, application_name: &str) -> anyhow::Result<PgPool> {
        build_pool(&self.pool_settings(settings, application_name)).context("connecting to PostgreSQL")
    }

    /// The pools tenant scopes run on when there is more than one shard
    /// (none otherwise): [`DatabaseSettings::shard_count`] pools of
    /// `pool_size / shard_count` connections.
    pub fn tenant_shards(&self, settings: &DatabaseSettings, application_name: &str) -> anyhow::Result<Vec<PgPool>> {
        let count = settings.shard_count();
        if count <= 1 {
            return Ok(Vec::new());
        }
        let mut shard = self.pool_settings(settings, application_name);
        shard.max_size = (settings.pool_size / count).max(1);
        (0..count).map(|_| build_pool(&shard)).collect::<Result<_, _>>().context("connecting to PostgreSQL")
    }

    /// Pool settings for this database.
    pub fn pool_settings(&self, settings: &DatabaseSettings, application_name: &str) -> PoolSettings {
        PoolSettings {
            url: self.url.clone(),
            max_size: settings.pool_size,
            // on demand: see `PoolSettings::min_idle`
            min_idle: Some(0),
            checkout_timeout: Duration::from_millis(settings.checkout_timeout_ms),
            statement_timeout: Duration::from_millis(settings.statement_timeout_ms),
            application_name: application_name.to_owned(),
            statement_cache: settings.statement_cache,
        }
    }
}
