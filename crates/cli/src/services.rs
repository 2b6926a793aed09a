//! Building the application's services from settings: the one place that
//! picks an adapter for each port.

use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use taskforce_application::{
    AccessCache, ActivityLog, Attachments, AuthConfig, AuthPorts, Authenticator, CacheTtl, ChangeFeedState, Comments,
    HealthCheck, Notifications, Notifier, Projects, Registration, Reports, Tasks, TenantDirectory, TenantMembers,
};
use taskforce_auth::{Argon2Hasher, HashCost, JwtCodec, OsSecrets};
use taskforce_cache::{MemoryAttemptCounter, MemoryBus, MemoryCache, Redis, RedisAttemptCounter, RedisBus, RedisCache};
use taskforce_domain::{AttemptCounter, Bus, Cache, Clock, FileError, FileStore, HostName, Mailer, Store};
use taskforce_mail::{FileMailer, LogMailer, SmtpMailer};

use crate::settings::{MailSettings, Settings, StorageSettings};

/// The system's clock: the core only asks for the time ([`Clock`]), and
/// this is where it is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

/// Every service the HTTP layer uses.
#[derive(Debug, Clone)]
pub struct Services {
    /// Host → tenant.
    pub directory: TenantDirectory,
    /// Readiness.
    pub health: HealthCheck,
    /// Authentication.
    pub auth: Authenticator,
    /// Joining.
    pub registration: Registration,
    /// Tenant settings and members.
    pub members: TenantMembers,
    /// Projects.
    pub projects: Projects,
    /// Tasks.
    pub tasks: Tasks,
    /// Comments.
    pub comments: Comments,
    /// Attachments.
    pub attachments: Attachments,
    /// The activity log.
    pub activity: ActivityLog,
    /// Reports.
    pub reports: Reports,
    /// Notifications.
    pub notifications: Notifications,
}

/// The configured mailer.
pub fn mailer(settings: &MailSettings) -> anyhow::Result<Arc<dyn Mailer>> {
    // the mailer's error is a delivery's ("mail delivery failed: …"); at
    // start nothing was being delivered: the settings are named instead
    let setting = |error: taskforce_domain::MailError, keys: &str| {
        anyhow::anyhow!("mail.transport = {:?} cannot be set up ({keys}): {}", settings.transport, error.0)
    };
    Ok(match settings.transport.as_str() {
        "file" => Arc::new(
            FileMailer::new(&settings.from, &settings.file_dir).map_err(|e| setting(e, "mail.from, mail.file_dir"))?,
        ),
        "smtp" => {
            if settings.smtp_url.expose_secret().trim().is_empty() {
                anyhow::bail!(
                    "mail.transport = \"smtp\" needs mail.smtp_url (TASKFORCE__MAIL__SMTP_URL), which is empty"
                );
            }
            Arc::new(
                SmtpMailer::new(&settings.from, settings.smtp_url.expose_secret())
                    .map_err(|e| setting(e, "mail.from, mail.smtp_url"))?,
            )
        }
        _ => Arc::new(LogMailer),
    })
}

/// The configured file store: the S3-compatible bucket of `storage.url`,
/// or the local folder `storage.root`.
pub fn file_store(settings: &StorageSettings) -> anyhow::Result<Arc<dyn FileStore>> {
    // a store that cannot be set up says why in a sentence of its own
    // (`storage.url: unknown option "x"`, `creating /srv/files: …`), not
    // behind `file store:`
    let why = |error: FileError| match error {
        FileError::Io(why) => anyhow::anyhow!(why),
        other => anyhow::anyhow!(other),
    };
    match settings.url() {
        Some(url) => Ok(Arc::new(taskforce_storage::ObjectFileStore::from_url(url).map_err(why)?)),
        None => {
            Ok(Arc::new(taskforce_storage::LocalFileStore::new(&settings.root).map_err(why).context("storage.root")?))
        }
    }
}

/// The state instances share: in Redis when configured, in this process
/// otherwise (the embedded default).
#[derive(Clone)]
pub struct Shared {
    /// Cache of the request path.
    pub cache: Arc<dyn Cache>,
    /// Failed-login counters.
    pub attempts: Arc<dyn AttemptCounter>,
    /// Messages to every instance.
    pub bus: Arc<dyn Bus>,
    redis: Option<Arc<Redis>>,
    /// A server's in-process cache that listens for the database's change
    /// notices (`cache.listen`): whether it hears them now.
    feed: Option<Arc<ChangeFeedState>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// Redis adapters for `redis.url`, or the in-process ones; for a
    /// server, whose requests may wait only `redis.timeout_ms` for Redis.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let mut shared = Self::with_timeout(settings, std::time::Duration::from_millis(settings.redis.timeout_ms))?;
        if shared.redis.is_none() && settings.cache.enabled && settings.cache.listen {
            let ttl = std::time::Duration::from_secs(settings.cache.listening_ttl_secs);
            let listening = CacheTtl { tenant: ttl, access: ttl };
            shared.feed = Some(Arc::new(ChangeFeedState::new(listening, taskforce_persistence::CHANGE_FEED_HEARTBEAT)));
        }
        Ok(shared)
    }

    /// The same for an operator's command, which may wait up to a second.
    pub fn for_operator(settings: &Settings) -> anyhow::Result<Self> {
        Self::with_timeout(settings, std::time::Duration::from_millis(settings.redis.timeout_ms.max(1000)))
    }

    fn with_timeout(settings: &Settings, timeout: std::time::Duration) -> anyhow::Result<Self> {
        match settings.redis.url() {
            Some(url) => {
                let redis = Arc::new(Redis::new(url, timeout, settings.redis.pool_size)?);
                Ok(Self {
                    cache: Arc::new(RedisCache::new(redis.clone())),
                    attempts: Arc::new(RedisAttemptCounter::new(redis.clone())),
                    bus: Arc::new(RedisBus::new(redis.clone())),
                    redis: Some(redis),
                    feed: None,
                })
            }
            None => Ok(Self {
                cache: Arc::new(MemoryCache::default()),
                attempts: Arc::new(MemoryAttemptCounter::default()),
                bus: Arc::new(MemoryBus::default()),
                redis: None,
                feed: None,
            }),
        }
    }

    /// Before a short-lived process exits: sends cache invalidations Redis
    /// could not take yet (waiting up to a second) and says so if some
    /// remain (they expire with their entries' time to live).
    pub fn settle(&self) {
        if let Some(redis) = &self.redis {
            match redis.settle() {
                0 => {}
                usize::MAX => crate::stderr_line!("warning: Redis was unreachable; cached entries expire on their own"),
                1 => crate::stderr_line!("warning: Redis was unreachable; 1 cached entry expires on its own"),
                n => crate::stderr_line!("warning: Redis was unreachable; {n} cached entries expire on their own"),
            }
        }
    }

    /// The typed request-path cache over it (one that keeps nothing when
    /// `cache.enabled` is false).
    pub fn access_cache(&self, settings: &Settings) -> AccessCache {
        if !settings.cache.enabled {
            return AccessCache::default();
        }
        let ttl = CacheTtl {
            tenant: std::time::Duration::from_secs(settings.cache.tenant_ttl_secs),
            access: std::time::Duration::from_secs(settings.cache.access_ttl_secs),
        };
        let cache = AccessCache::new(self.cache.clone(), ttl);
        match &self.feed {
            Some(feed) => cache.with_change_feed(feed.clone()),
            None => cache,
        }
    }

    /// Whether this server should listen for the database's change
    /// notices: the in-process cache to drop its copies (and then keep
    /// entries longer), a Redis one to delete the shared entries a change
    /// made by hand in SQL leaves stale (their times to live stay short;
    /// every server deletes them, which costs a `DEL` each).
    pub fn listens(&self, settings: &Settings) -> bool {
        self.feed.is_some() || (self.redis.is_some() && settings.cache.enabled && settings.cache.listen)
    }
}

impl Services {
    /// Wires the adapters into the use cases.
    pub fn build(
        settings: &Settings,
        store: Arc<dyn Store>,
        shared: &Shared,
        required_schema_version: &str,
    ) -> anyhow::Result<Self> {
        let auth_settings = &settings.auth;
        let config = AuthConfig {
            access_ttl: chrono::Duration::seconds(i64::try_from(auth_settings.access_ttl_secs)?),
            refresh_ttl: chrono::Duration::seconds(i64::try_from(auth_settings.refresh_ttl_secs)?),
            invitation_ttl: chrono::Duration::seconds(i64::try_from(auth_settings.invitation_ttl_secs)?),
            max_failures_per_login: auth_settings.login_max_failures,
            max_failures_per_client: auth_settings.login_max_failures_per_client,
            failure_window_secs: auth_settings.login_failure_window_secs,
            max_signups_per_client_per_hour: auth_settings.signups_per_client_per_hour,
        };
        let ports = AuthPorts {
            store: store.clone(),
            hasher: Arc::new(Argon2Hasher::new(HashCost::OWASP_MINIMUM)?),
            codec: Arc::new(JwtCodec::new(auth_settings.jwt_secret.expose_secret().as_bytes(), &auth_settings.issuer)),
            secrets: Arc::new(OsSecrets),
            clock: Arc::new(SystemClock),
            attempts: shared.attempts.clone(),
        };
        let cache = shared.access_cache(settings);
        let notifier = Notifier::new(shared.bus.clone());
        let auth = Authenticator::new(ports.clone(), config.clone())?.with_cache(cache.clone());
        let platform_domain = HostName::parse(&settings.tenancy.platform_domain).context("tenancy.platform_domain")?;
        let files = file_store(&settings.storage)?;
        Ok(Self {
            directory: TenantDirectory::new(store.clone(), required_schema_version).with_cache(cache.clone()),
            health: HealthCheck::new(store.clone()).with_cache(cache.clone()).with_files(files.clone()),
            registration: Registration::new(auth.clone(), store.clone(), platform_domain)
                .with_notifier(notifier.clone()),
            members: TenantMembers::new(
                store.clone(),
                ports.secrets.clone(),
                ports.clock.clone(),
                mailer(&settings.mail)?,
                config.invitation_ttl,
            )
            .with_cache(cache.clone()),
            projects: Projects::new(store.clone()).with_files(files.clone()),
            tasks: Tasks::new(store.clone(), ports.clock.clone())
                .with_notifier(notifier.clone())
                .with_files(files.clone()),
            attachments: Attachments::new(store.clone(), files, settings.storage.max_upload_bytes),
            notifications: Notifications::new(store.clone(), ports.clock.clone(), ports.secrets.clone()),
            reports: Reports::new(store.clone(), ports.clock),
            comments: Comments::new(store.clone()).with_notifier(notifier),
            activity: ActivityLog::new(store),
            auth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::mailer;
    use crate::settings::MailSettings;

    /// A mailer that cannot be set up is named by its settings, not reported
    /// as a failed delivery (nothing was being delivered).
    #[test]
    fn a_mailer_that_cannot_be_set_up_names_its_settings() {
        let smtp = |url: &str, from: &str| MailSettings {
            transport: "smtp".into(),
            from: from.into(),
            file_dir: std::env::temp_dir(),
            smtp_url: url.to_owned().into(),
        };
        let empty = mailer(&smtp("", "TaskForce <noreply@example.com>")).err().map(|e| e.to_string());
        assert_eq!(
            empty.as_deref(),
            Some("mail.transport = \"smtp\" needs mail.smtp_url (TASKFORCE__MAIL__SMTP_URL), which is empty")
        );
        let bad = mailer(&smtp("not a url", "TaskForce <noreply@example.com>")).err().map(|e| e.to_string());
        let bad = bad.unwrap_or_default();
        assert!(bad.starts_with("mail.transport = \"smtp\" cannot be set up (mail.from, mail.smtp_url): "), "{bad}");
        assert!(!bad.contains("delivery"), "{bad}");
    }
}
