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
