//! The composition root of the server: adapters built, wired into the
//! application's services, and handed to the HTTP layer.

use std::{net::TcpListener, sync::Arc, time::Duration};

use anyhow::Context;
use taskforce_application::TenantAdmin;
use taskforce_domain::{HostName, Slug, Store, TenantName};
use taskforce_http::{AppState, HttpSettings, NotificationHub};
use taskforce_persistence::{ChangeFeed, ChangeFeedHandle, PgStore, TenantMigrator, migrate_shared};

use crate::{
    database::{Database, OnInterrupt},
    services::{Services, Shared},
    settings::Settings,
};

/// How long shutdown waits for the change feed's thread to notice.
const FEED_STOP: Duration = Duration::from_secs(2);

/// A built server, bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    database: Database,
    hub: Arc<NotificationHub>,
    /// Stops the change feed when the application goes.
    feed: Option<ChangeFeedHandle>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application").field("port", &self.port).finish_non_exhaustive()
    }
}

/// The server's listener on `server.host`:`server.port`.
fn bind(settings: &Settings) -> anyhow::Result<TcpListener> {
    TcpListener::bind((settings.server.host.as_str(), settings.server.port))
        .with_context(|| format!("cannot listen on {}:{}", settings.server.host, settings.server.port))
}

impl Application {
    /// Opens the database (the embedded cluster when none is configured),
    /// migrates when configured to, ensures the development tenant when
    /// configured to, and binds the listener (its port is tried first).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        settings.check_serving()?;
        // a port that is taken fails before anything is migrated or made;
        // the listener itself comes last, so that nothing waits on a port
        // that accepts connections while the database starts or migrates
        drop(bind(settings)?);
        let db_settings = settings.database.clone();
        let database =
            tokio::task::spawn_blocking(move || Database::open(&db_settings, OnInterrupt::LeaveToTheProcess)).await??;
        let pool = database.pool(&settings.database, "taskforce")?;
        let migrator = TenantMigrator::embedded()?;
        let pg = PgStore::new(pool.clone(), migrator.clone())
            .with_fresh_provisioning_connections(database.pool_settings(&settings.database, "taskforce"))
            .with_tenant_shards(database.tenant_shards(&settings.database, "taskforce")?)
            .with_shard_spill_after(Duration::from_millis(settings.database.shard_spill_ms));
        if settings.database.auto_migrate {
            let pg = pg.clone();
            tokio::task::spawn_blocking(move || migrate_at_start(&pg)).await??;
        } else {
            let pool = pg.pool().clone();
            tokio::task::spawn_blocking(move || crate::database::shared_schema_is_current(&pool)).await??;
        }
        // after migrating: the filler needs the shared schema's spare table
        let store: Arc<dyn Store> = Arc::new(pg.with_spare_schemas(settings.database.spare_schemas));
        let shared = Shared::from_settings(settings)?;
        if settings.tenancy.ensure_dev_tenant {
            let (store, tenancy) = (store.clone(), settings.tenancy.clone());
            let cache = shared.access_cache(settings);
            tokio::task::spawn_blocking(move || ensure_dev_tenant(store, cache, &tenancy)).await??;
        }
        // after migrating: the triggers that send the notices come with the shared schema
        let feed = if shared.listens(settings) {
            let connection = database.pool_settings(&settings.database, "taskforce-change-feed");
            Some(ChangeFeed::new(connection).start(Arc::new(shared.access_cache(settings)))?)
        } else {
            None
        };
        let listener = bind(settings)?;
        let port = listener.local_addr()?.port();
        let services = Services::build(settings, store, &shared, migrator.latest_version())?;
        let hub = NotificationHub::attach(shared.bus.as_ref());
        let state = AppState {
            settings: HttpSettings {
                trusted_proxies: settings.server.trusted_proxies.clone(),
                cors_allowed_origins: settings.server.cors_allowed_origins.clone(),
                workers: settings.server.workers,
                shutdown_timeout_secs: settings.server.shutdown_timeout_secs,
                signup_enabled: settings.tenancy.signup_enabled,
                sse_heartbeat_secs: settings.server.sse_heartbeat_secs,
                body_timeout_secs: settings.server.body_timeout_secs,
                upload_idle_secs: settings.server.upload_idle_secs,
            },
            directory: services.directory,
            health: services.health,
            auth: services.auth,
            registration: services.registration,
            members: services.members,
            projects: services.projects,
            tasks: services.tasks,
            comments: services.comments,
            attachments: services.attachments,
            activity: services.activity,
            reports: services.reports,
            notifications: services.notifications,
            hub: hub.clone(),
        };
        let server = taskforce_http::serve(listener, state)?;
        tracing::info!(address = %format!("{}:{port}", settings.server.host), "TaskForce API listening");
        Ok(Self { port, server, database, hub, feed })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database URL in use.
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT (or [`Self::handle`]'s stop), lets
    /// in-flight requests finish, then lets go of the embedded cluster,
    /// stopping it if no other process uses it.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let hub = self.hub.clone();
        // on SIGTERM/SIGINT: end the (endless) notification streams, then
        // stop accepting and let in-flight requests finish
        let signals = tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutdown requested; finishing in-flight requests");
            hub.close_all();
            handle.stop(true).await;
        });
        self.server.await?;
        signals.abort();
        if let Some(feed) = self.feed {
            // joins the feed's thread, which notices within one poll; one
            // stuck on a database that does not answer is left behind
            let stopped = tokio::time::timeout(FEED_STOP, tokio::task::spawn_blocking(move || drop(feed))).await;
            if stopped.is_err() {
                tracing::warn!("the change feed did not stop (the database does not answer); leaving it");
            }
        }
        if let Some(cluster) = self.database.cluster {
            // let go of the lease; the last process using the cluster stops it
            let released = tokio::task::spawn_blocking(move || cluster.stop()).await??;
            if released == taskforce_pgcluster::Released::Stopped {
                tracing::info!("stopped the embedded PostgreSQL cluster");
            }
        }
        Ok(())
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

fn migrate_at_start(pg: &PgStore) -> anyhow::Result<()> {
    let mut conn = taskforce_persistence::check_out(pg.pool()).context("connecting to PostgreSQL to migrate")?;
    let applied = migrate_shared(&mut conn)?;
    drop(conn);
    if !applied.is_empty() {
        tracing::info!(?applied, "migrated the shared schema");
    }
    let report = pg.migrate_tenants(2, &|_| {})?;
    if !report.migrated.is_empty() {
        tracing::info!(tenants = report.migrated.len(), "migrated tenant schemas");
    }
    if report.spares_dropped > 0 {
        tracing::info!(dropped = report.spares_dropped, "dropped spare tenant schemas made by older migrations");
    }
    for (slug, error) in &report.failed {
        tracing::error!(tenant = %slug, %error, "tenant migration failed; the tenant answers 503 until fixed");
    }
    Ok(())
}

fn ensure_dev_tenant(
    store: Arc<dyn Store>,
    cache: taskforce_application::AccessCache,
    tenancy: &crate::settings::TenancySettings,
) -> anyhow::Result<()> {
    let dev = &tenancy.dev_tenant;
    let slug = Slug::parse(&dev.slug).context("tenancy.dev_tenant.slug")?;
    let name = TenantName::parse(&dev.name).context("tenancy.dev_tenant.name")?;
    let platform = HostName::parse(&tenancy.platform_domain).context("tenancy.platform_domain")?;
    let mut domains = vec![platform.subdomain(slug.as_str())?];
    for domain in &dev.domains {
        let host = HostName::parse(domain).with_context(|| format!("tenancy.dev_tenant.domains: {domain}"))?;
        if let Some(other) = host.platform_slug(&platform).filter(|other| *other != slug.as_str()) {
            anyhow::bail!(
                "tenancy.dev_tenant.domains: '{host}' is the platform's address for the slug '{other}', not the dev tenant's"
            );
        }
        domains.push(host);
    }
    let details = TenantAdmin::new(store).with_cache(cache).ensure_dev_tenant(&slug, &name, &domains)?;
    let hosts: Vec<&str> = details.domains.iter().map(|d| d.domain.as_str()).collect();
    tracing::info!(tenant = %slug, ?hosts, "development tenant ready");
    Ok(())
}
