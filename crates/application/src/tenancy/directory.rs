//! Finding the tenant of a request from its host name.

use std::sync::Arc;

use taskforce_domain::{HostName, Store, StoreError, StoreExt, Tenant};

use crate::AccessCache;

/// Why a host leads to no servable tenant.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No tenant has this domain.
    #[error("No tenant for hostname '{0}'")]
    UnknownHost(HostName),
    /// The tenant is deactivated.
    #[error("This tenant is inactive.")]
    Inactive,
    /// The tenant's schema is behind this build's migrations (a migration
    /// failed or has not run): serving it could give wrong answers.
    #[error("This tenant is being upgraded; try again shortly.")]
    SchemaNotReady,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolves canonical host names to tenants.
#[derive(Clone)]
pub struct TenantDirectory {
    store: Arc<dyn Store>,
    cache: AccessCache,
    required_version: String,
}

impl std::fmt::Debug for TenantDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantDirectory").field("required_version", &self.required_version).finish_non_exhaustive()
    }
}

impl TenantDirectory {
    /// A directory over a store; tenants whose schema is older than
    /// `required_version` (the newest tenant migration of this build) are
    /// not served.
    pub fn new(store: Arc<dyn Store>, required_version: impl Into<String>) -> Self {
        Self { store, cache: AccessCache::default(), required_version: required_version.into() }
    }

    /// The same directory, remembering hosts in `cache`.
    pub fn with_cache(mut self, cache: AccessCache) -> Self {
        self.cache = cache;
        self
    }

    /// The cache it uses.
    pub fn cache(&self) -> &AccessCache {
        &self.cache
    }

    /// The tenant that serves this host, if it may serve now.
    pub fn resolve(&self, host: &HostName) -> Result<Tenant, ResolveError> {
        let found = self.cache.find(host, None);
        self.servable(host, found.tenant)
    }

    /// The tenant of a host — the cached one if given, else from the store
    /// (then cached) — if it may serve now.
    pub fn servable(&self, host: &HostName, cached: Option<Tenant>) -> Result<Tenant, ResolveError> {
        let tenant = match cached {
            Some(tenant) => tenant,
            None => {
                let tenant = self
                    .store
                    .read(|tx| tx.tenants().by_host(host))?
                    .ok_or_else(|| ResolveError::UnknownHost(host.clone()))?;
                self.cache.put_tenant(host, &tenant);
                tenant
            }
        };
        if !tenant.is_active {
            return Err(ResolveError::Inactive);
        }
        if !tenant.schema_is_current(&self.required_version) {
            return Err(ResolveError::SchemaNotReady);
        }
        Ok(tenant)
    }
}
