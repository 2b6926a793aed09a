//! [`HealthCheck`]: whether the dependencies answer.

use std::sync::Arc;

use taskforce_domain::{CacheHealth, Store, StoreError};

use crate::AccessCache;

/// Readiness probes of the adapters the service needs.
#[derive(Clone)]
pub struct HealthCheck {
    store: Arc<dyn Store>,
    cache: AccessCache,
}

impl std::fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCheck").finish_non_exhaustive()
    }
}

impl HealthCheck {
    /// Probes over a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, cache: AccessCache::default() }
    }

    /// The same probes, reporting on `cache` as well.
    pub fn with_cache(mut self, cache: AccessCache) -> Self {
        self.cache = cache;
        self
    }

    /// How the cache is doing.
    pub fn cache(&self) -> CacheHealth {
        self.cache.health()
    }

    /// Whether the database answers.
    pub fn database(&self) -> Result<(), StoreError> {
        self.store.ping()
    }
}
