//! [`HealthCheck`]: whether the dependencies answer.

use std::sync::Arc;

use taskforce_domain::{Store, StoreError};

/// Readiness probes of the adapters the service needs.
#[derive(Clone)]
pub struct HealthCheck {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for HealthCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthCheck").finish_non_exhaustive()
    }
}

impl HealthCheck {
    /// Probes over a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Whether the database answers.
    pub fn database(&self) -> Result<(), StoreError> {
        self.store.ping()
    }
}
