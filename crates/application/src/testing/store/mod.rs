//! [`FakeStore`]: the [`Store`] port over an in-memory [`State`].
//!
//! It keeps the rules the PostgreSQL schema enforces, under the same
//! constraint names, and really rolls back: every transactional unit starts
//! from a copy of the state and puts that copy back when the work fails.
//! `read_unit`, like the adapter's, has no transaction and keeps whatever
//! it wrote.

mod attachments;
mod comments;
mod domains;
mod invitations;
mod memberships;
mod notifications;
mod projects;
mod reports;
mod sessions;
mod state;
mod tasks;
mod tenant_data;
mod tenants;
mod tx;
mod users;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use chrono::{DateTime, Duration, Utc};
use taskforce_domain::{
    Clock, DomainRepository, FixedClock, NewTenant, PlatformWork, ProvisionWork, Store, StoreError, Tenant,
    TenantDomain, TenantId, TenantWork, Unique,
};

pub use state::State;
use tx::{FakeTenantTx, FakeTx};

/// The schema version provisioned tenants get (the fake has no migrations).
pub const FAKE_SCHEMA_VERSION: &str = "fake";

/// The storage port in memory. Clones share their state.
///
/// Units of work do not nest (a use case that opened a second unit inside
/// a first would need two connections): a nested unit fails with
/// [`StoreError::Unavailable`] instead of dead-locking. One store serves one
/// test thread.
#[derive(Debug, Clone)]
pub struct FakeStore {
    state: Arc<Mutex<State>>,
    /// The time rows are stamped with, as `now()` gives it: one instant per
    /// unit of work. It stands still unless a test moves it on.
    time: Arc<Mutex<DateTime<Utc>>>,
}

impl FakeStore {
    /// An empty store whose rows are stamped with the clock's time.
    pub fn new(clock: FixedClock) -> Self {
        Self { state: Arc::default(), time: Arc::new(Mutex::new(clock.now())) }
    }

    /// The time the next unit of work stamps its rows with.
    pub fn now(&self) -> DateTime<Utc> {
        *self.time.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the store's time on, so that later units of work stamp their
    /// rows (`created_at`, `updated_at`) later. Use cases' own clocks stay.
    pub fn advance(&self, by: Duration) {
        *self.time.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }

    /// A copy of everything stored, for assertions.
    pub fn snapshot(&self) -> State {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Changes the stored data directly, for what no port does (deactivating
    /// an account, say).
    pub fn edit(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn enter(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        match self.state.try_lock() {
            Ok(state) => Ok(state),
            Err(TryLockError::Poisoned(poisoned)) => Ok(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => {
                Err(StoreError::Unavailable("a unit of work of the fake store is already running".into()))
            }
        }
    }

    /// Runs `work` as one transaction: when it fails, nothing it did stays.
    fn transaction<T>(&self, work: impl FnOnce(&mut FakeTx<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut state = self.enter()?;
        let before = state.clone();
        let outcome = work(&mut FakeTx { state: &mut state, now: self.now() });
        if outcome.is_err() {
            *state = before;
        }
        outcome
    }
}

impl Store for FakeStore {
    fn platform_unit(&self, work: &mut PlatformWork<'_>) -> Result<(), StoreError> {
        self.transaction(|tx| work(tx))
    }

    fn tenant_unit(&self, tenant: &Tenant, work: &mut TenantWork<'_>) -> Result<(), StoreError> {
        let schema = &tenant.schema_name;
        self.transaction(|tx| {
            // as the real store checks: the tenant is still the one its schema belongs to
            if !tx.state.tenants.iter().any(|t| t.id == tenant.id && t.schema_name == *schema) {
                return Err(StoreError::TenantGone(format!("no tenant {} with the schema {schema}", tenant.id)));
            }
            if !tx.state.schemas.contains_key(schema) {
                return Err(StoreError::internal(format!("the schema {schema} does not exist")));
            }
            work(&mut FakeTenantTx { inner: FakeTx { state: &mut *tx.state, now: tx.now }, schema: schema.clone() })
        })
    }

    /// The fake's units run one at a time, so every one sees a single
    /// state; writes are not refused.
    fn snapshot_unit(&self, tenant: &Tenant, work: &mut TenantWork<'_>) -> Result<(), StoreError> {
        self.tenant_unit(tenant, work)
    }

    fn read_unit(&self, work: &mut PlatformWork<'_>) -> Result<(), StoreError> {
        let mut state = self.enter()?;
        work(&mut FakeTx { state: &mut state, now: self.now() })
    }

    fn provision_unit(&self, new: &NewTenant, then: &mut ProvisionWork<'_>) -> Result<Tenant, StoreError> {
        let schema = new.slug.schema_name();
        self.transaction(|tx| {
            if tx.state.tenants.iter().any(|t| t.slug == new.slug) {
                return Err(StoreError::Duplicate(Unique::Slug));
            }
            if tx.state.tenants.iter().any(|t| t.schema_name == schema) {
                return Err(StoreError::Duplicate(Unique::SchemaName));
            }
            let tenant = Tenant {
                id: TenantId(tx.state.next_id()),
                slug: new.slug.clone(),
                schema_name: schema.clone(),
                name: new.name.clone(),
                plan: new.plan,
                is_active: true,
                allow_signup: new.allow_signup,
                schema_version: Some(FAKE_SCHEMA_VERSION.to_owned()),
                created_at: tx.now,
            };
            tx.state.tenants.push(tenant.clone());
            for (index, domain) in new.domains.iter().enumerate() {
                DomainRepository::add(
                    tx,
                    &TenantDomain { domain: domain.clone(), tenant_id: tenant.id, is_primary: index == 0 },
                )?;
            }
            if tx.state.schemas.contains_key(&schema) {
                return Err(StoreError::Duplicate(Unique::Schema));
            }
            tx.state.schemas.insert(schema.clone(), state::SchemaData::default());
            then(
                &mut FakeTenantTx { inner: FakeTx { state: &mut *tx.state, now: tx.now }, schema: schema.clone() },
                &tenant,
            )?;
            Ok(tenant)
        })
    }

    fn deprovision(&self, tenant: TenantId) -> Result<bool, StoreError> {
        self.transaction(|tx| {
            let state = &mut *tx.state;
            let index = state.tenants.iter().position(|t| t.id == tenant).ok_or(StoreError::NotFound)?;
            let removed = state.tenants.remove(index);
            let there = state.schemas.remove(&removed.schema_name).is_some();
            // what ON DELETE CASCADE takes with the row
            state.domains.retain(|d| d.tenant_id != tenant);
            state.memberships.retain(|m| m.tenant_id != tenant);
            state.invitations.retain(|i| i.invitation.tenant_id != tenant);
            let families: Vec<_> = state.sessions.iter().filter(|s| s.tenant == tenant).map(|s| s.family).collect();
            state.sessions.retain(|s| s.tenant != tenant);
            state.refresh_tokens.retain(|t| !families.contains(&t.family));
            Ok(there)
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.enter().map(drop)
    }
}
