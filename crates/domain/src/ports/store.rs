//! [`Store`]: the unit-of-work port through which the core reaches storage,
//! and [`StoreExt`], its convenient generic face.

use super::{PlatformTx, StoreError, TenantTx};
use crate::{NewTenant, Tenant, TenantId};

/// A unit of work over the shared data, as the object-safe [`Store`] takes it.
pub type PlatformWork<'w> = dyn FnMut(&mut dyn PlatformTx) -> Result<(), StoreError> + 'w;

/// A unit of work inside one tenant's schema.
pub type TenantWork<'w> = dyn FnMut(&mut dyn TenantTx) -> Result<(), StoreError> + 'w;

/// The work run after a new tenant's schema is made, in the same transaction.
pub type ProvisionWork<'w> = dyn FnMut(&mut dyn TenantTx, &Tenant) -> Result<(), StoreError> + 'w;

/// Runs units of work against storage, each in one transaction.
///
/// This trait is object-safe, so the core holds an `Arc<dyn Store>`; use
/// cases call the generic methods of [`StoreExt`], which let a unit of work
/// return its own error type and a value. The work is an `FnMut` only to
/// be object-safe: an adapter calls it exactly once per unit (one that
/// retries, on a serialisation failure say, must not call it again; the
/// second call answers [`StoreError::Aborted`]). When work fails, adapters roll
/// back everything it did.
pub trait Store: Send + Sync + 'static {
    /// Runs `work` in one transaction over the shared data.
    fn platform_unit(&self, work: &mut PlatformWork<'_>) -> Result<(), StoreError>;

    /// Runs `work` in one transaction inside the tenant scope of `tenant`:
    /// unqualified tables resolve in its schema alone. The transaction
    /// first makes sure the tenant is still the one its schema belongs to
    /// (a tenant held in a cache may have been deleted since, and its
    /// schema name given to a new tenant of the same slug): if not, nothing
    /// runs and the answer is [`StoreError::TenantGone`].
    fn tenant_unit(&self, tenant: &Tenant, work: &mut TenantWork<'_>) -> Result<(), StoreError>;

    /// Runs `work` inside the tenant scope of `tenant` (checked as by
    /// [`Store::tenant_unit`]) in one read-only transaction that sees the
    /// whole database as of its first read: the tenant's tables and the
    /// shared ones agree with each other, whatever commits meanwhile
    /// (exports of a tenant in use). Writes fail.
    fn snapshot_unit(&self, tenant: &Tenant, work: &mut TenantWork<'_>) -> Result<(), StoreError>;

    /// Runs `work` over the shared data without an explicit transaction:
    /// each statement commits on its own. For single reads on hot paths,
    /// where `BEGIN`/`COMMIT` would only add round trips.
    fn read_unit(&self, work: &mut PlatformWork<'_>) -> Result<(), StoreError>;

    /// Creates a tenant as one unit: its row, its domains (the first one
    /// primary) and its fully migrated schema, then runs `then` in the same
    /// transaction, inside the new tenant's scope (to add an owner, say). Any failure, or a crash, leaves
    /// nothing behind. A taken slug is [`StoreError::Duplicate`]
    /// ([`Unique::Slug`](crate::Unique::Slug), or
    /// [`Unique::SchemaName`](crate::Unique::SchemaName) when another slug
    /// maps to the same schema), a taken domain
    /// [`Unique::Domain`](crate::Unique::Domain), a schema that exists
    /// without a tenant [`Unique::Schema`](crate::Unique::Schema).
    fn provision_unit(&self, tenant: &NewTenant, then: &mut ProvisionWork<'_>) -> Result<Tenant, StoreError>;

    /// Removes a tenant as one unit: its schema, memberships, domains and
    /// row. `true` when its schema was there to drop (`false`: someone
    /// dropped it by hand before).
    fn deprovision(&self, tenant: TenantId) -> Result<bool, StoreError>;

    /// Whether the store answers right now (readiness checks).
    fn ping(&self) -> Result<(), StoreError>;
}

/// The generic face of [`Store`]: units of work that return a value and
/// fail with the caller's own error type (which rolls back as well).
pub trait StoreExt: Store {
    /// Runs `work` in one transaction over the shared data.
    fn platform<T, E>(&self, work: impl FnOnce(&mut dyn PlatformTx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut run = Carrier::new(work);
        let outcome = self.platform_unit(&mut |tx| run.call(|work| work(tx)));
        run.finish(outcome)
    }

    /// Runs `work` in one transaction inside a tenant's schema; see
    /// [`Store::tenant_unit`].
    fn tenant<T, E>(&self, tenant: &Tenant, work: impl FnOnce(&mut dyn TenantTx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut run = Carrier::new(work);
        let outcome = self.tenant_unit(tenant, &mut |tx| run.call(|work| work(tx)));
        run.finish(outcome)
    }

    /// Runs `work` on one snapshot inside a tenant's schema; see
    /// [`Store::snapshot_unit`].
    fn snapshot<T, E>(&self, tenant: &Tenant, work: impl FnOnce(&mut dyn TenantTx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut run = Carrier::new(work);
        let outcome = self.snapshot_unit(tenant, &mut |tx| run.call(|work| work(tx)));
        run.finish(outcome)
    }

    /// Runs `work` without an explicit transaction; see [`Store::read_unit`].
    fn read<T, E>(&self, work: impl FnOnce(&mut dyn PlatformTx) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut run = Carrier::new(work);
        let outcome = self.read_unit(&mut |tx| run.call(|work| work(tx)));
        run.finish(outcome)
    }

    /// Creates a tenant as one unit; see [`Store::provision_unit`].
    fn provision<T, E>(
        &self,
        tenant: &NewTenant,
        then: impl FnOnce(&mut dyn TenantTx, &Tenant) -> Result<T, E>,
    ) -> Result<(Tenant, T), E>
    where
        E: From<StoreError>,
    {
        let mut run = Carrier::new(then);
        let outcome = self.provision_unit(tenant, &mut |tx, tenant| run.call(|then| then(tx, tenant)));
        let tenant = match outcome {
            Ok(tenant) => tenant,
            Err(error) => return Err(run.finish(Err(error)).err().unwrap_or_else(|| E::from(StoreError::Aborted))),
        };
        run.finish(Ok(())).map(|value| (tenant, value))
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

/// Carries a `FnOnce` through an object-safe `FnMut` boundary, and its typed
/// result or error back out.
struct Carrier<F, T, E> {
    work: Option<F>,
    value: Option<T>,
    error: Option<E>,
}

impl<F, T, E: From<StoreError>> Carrier<F, T, E> {
    fn new(work: F) -> Self {
        Self { work: Some(work), value: None, error: None }
    }

    /// Runs the work once; its own error is kept and reported to the adapter
    /// as [`StoreError::Aborted`] so that it rolls back.
    fn call(&mut self, run: impl FnOnce(F) -> Result<T, E>) -> Result<(), StoreError> {
        let work = self.work.take().ok_or(StoreError::Aborted)?;
        match run(work) {
            Ok(value) => {
                self.value = Some(value);
                Ok(())
            }
            Err(error) => {
                self.error = Some(error);
                Err(StoreError::Aborted)
            }
        }
    }

    fn finish(self, outcome: Result<(), StoreError>) -> Result<T, E> {
        match (outcome, self.value, self.error) {
            (_, _, Some(error)) => Err(error),
            (Ok(()), Some(value), None) => Ok(value),
            (Err(error), _, None) => Err(E::from(error)),
            (Ok(()), None, None) => Err(E::from(StoreError::Aborted)),
        }
    }
}
