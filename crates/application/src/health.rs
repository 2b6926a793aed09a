//! [`HealthCheck`]: whether the dependencies answer.

use std::sync::Arc;

use taskforce_domain::{CacheHealth, FileError, FileStore, Store, StoreError};

use crate::{AccessCache, NoFiles};

/// Readiness probes of the adapters the service needs.
#[derive(Clone)]
pub struct HealthCheck {
    store: Arc<dyn Store>,
    cache: AccessCache,
    files: Arc<dyn FileStore>,
}

impl std::fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCheck").finish_non_exhaustive()
    }
}

impl HealthCheck {
    /// Probes over a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, cache: AccessCache::default(), files: Arc::new(NoFiles) }
    }

    /// The same probes, reporting on `cache` as well.
    pub fn with_cache(mut self, cache: AccessCache) -> Self {
        self.cache = cache;
        self
    }

    /// The same probes, checking that `files` takes writes as well.
    pub fn with_files(mut self, files: Arc<dyn FileStore>) -> Self {
        self.files = files;
        self
    }

    /// Whether the file store takes a write (and its removal).
    pub fn files(&self) -> Result<(), FileError> {
        self.files.check()
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
