//! [`Store`]: the unit-of-work port through which the core reaches storage.

use super::{PlatformTx, StoreError};
use crate::{NewTenant, Tenant, TenantId};

/// Runs units of work against storage, each in one transaction.
///
/// The closure receives the transaction's repositories; returning `Err` rolls
/// everything back, returning `Ok` commits. The error type is the caller's
/// own, so a use case can abort with a business error (a plan limit, a denied
/// permission) and the adapter still rolls back.
pub trait Store: Send + Sync + 'static {
    /// Runs `work` in one transaction over the shared data.
    fn platform<T, E>(&self, work: impl FnOnce(&mut dyn PlatformTx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>;

    /// Creates a tenant as one unit: its row, its domains (the first one
    /// primary) and its fully migrated schema, then runs `then` in the same
    /// transaction (to add an owner, say). Any failure, or a crash, leaves
    /// nothing behind. A taken slug is [`StoreError::Duplicate`]
    /// (`tenants_slug_key` or `tenants_schema_name_key`), a taken domain
    /// `domains_pkey`.
    fn provision<T, E>(
        &self,
        tenant: &NewTenant,
        then: impl FnOnce(&mut dyn PlatformTx, &Tenant) -> Result<T, E>,
    ) -> Result<(Tenant, T), E>
    where
        E: From<StoreError>;

    /// Removes a tenant as one unit: its schema, memberships, domains and row.
    fn deprovision(&self, tenant: TenantId) -> Result<(), StoreError>;
}
