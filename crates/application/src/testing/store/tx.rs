//! The fake's transactions: [`FakeTx`] over the shared tables and
//! [`FakeTenantTx`] inside one tenant schema. The repositories are
//! implemented on them, one file per repository.

use chrono::{DateTime, Utc};
use taskforce_domain::{
    ActivityRepository, AttachmentRepository, CommentRepository, DomainRepository, InvitationRepository,
    MembershipRepository, NotificationRepository, PlatformTx, ProjectRepository, ReportRepository, SchemaName,
    SessionRepository, StoreError, TaskRepository, TenantDataRepository, TenantId, TenantRepository, TenantTx,
    UsageRepository, UserId, UserRepository,
};

use super::state::{SchemaData, State};

/// One unit of work over the shared tables; `now` stamps the rows it
/// writes, as `DEFAULT now()` does.
pub(super) struct FakeTx<'s> {
    pub(super) state: &'s mut State,
    pub(super) now: DateTime<Utc>,
}

/// One unit of work inside a tenant schema, with the shared tables in reach.
pub(super) struct FakeTenantTx<'s> {
    pub(super) inner: FakeTx<'s>,
    pub(super) schema: SchemaName,
}

impl FakeTx<'_> {
    /// A foreign key to `tenants` holds.
    pub(super) fn tenant_exists(&self, tenant: TenantId) -> Result<(), StoreError> {
        if self.state.tenants.iter().any(|t| t.id == tenant) {
            Ok(())
        } else {
            Err(StoreError::internal(format!("foreign key violation: no tenant {tenant}")))
        }
    }

    /// A foreign key to `users` holds.
    pub(super) fn user_exists(&self, user: UserId) -> Result<(), StoreError> {
        if self.state.users.iter().any(|u| u.user.id == user) {
            Ok(())
        } else {
            Err(StoreError::internal(format!("foreign key violation: no user {user}")))
        }
    }
}

impl FakeTenantTx<'_> {
    /// The tables of this transaction's schema.
    pub(super) fn schema_data(&mut self) -> Result<&mut SchemaData, StoreError> {
        let schema = &self.schema;
        self.inner
            .state
            .schemas
            .get_mut(schema)
            .ok_or_else(|| StoreError::internal(format!("the schema {schema} does not exist")))
    }
}

/// One page of rows already filtered and sorted, and how many there are in
/// all pages (also past the last page).
pub(super) fn page_of<T: Clone>(rows: &[&T], offset: u64, limit: u64) -> (Vec<T>, u64) {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let page = rows.iter().skip(offset).take(limit).map(|row| (*row).clone()).collect();
    (page, rows.len() as u64)
}

impl PlatformTx for FakeTx<'_> {
    fn tenants(&mut self) -> &mut dyn TenantRepository {
        self
    }

    fn domains(&mut self) -> &mut dyn DomainRepository {
        self
    }

    fn users(&mut self) -> &mut dyn UserRepository {
        self
    }

    fn memberships(&mut self) -> &mut dyn MembershipRepository {
        self
    }

    fn sessions(&mut self) -> &mut dyn SessionRepository {
        self
    }

    fn invitations(&mut self) -> &mut dyn InvitationRepository {
        self
    }
}

impl PlatformTx for FakeTenantTx<'_> {
    fn tenants(&mut self) -> &mut dyn TenantRepository {
        &mut self.inner
    }

    fn domains(&mut self) -> &mut dyn DomainRepository {
        &mut self.inner
    }

    fn users(&mut self) -> &mut dyn UserRepository {
        &mut self.inner
    }

    fn memberships(&mut self) -> &mut dyn MembershipRepository {
        &mut self.inner
    }

    fn sessions(&mut self) -> &mut dyn SessionRepository {
        &mut self.inner
    }

    fn invitations(&mut self) -> &mut dyn InvitationRepository {
        &mut self.inner
    }
}

impl TenantTx for FakeTenantTx<'_> {
    fn usage(&mut self) -> &mut dyn UsageRepository {
        self
    }

    fn activity(&mut self) -> &mut dyn ActivityRepository {
        self
    }

    fn projects(&mut self) -> &mut dyn ProjectRepository {
        self
    }

    fn tasks(&mut self) -> &mut dyn TaskRepository {
        self
    }

    fn comments(&mut self) -> &mut dyn CommentRepository {
        self
    }

    fn attachments(&mut self) -> &mut dyn AttachmentRepository {
        self
    }

    fn data(&mut self) -> &mut dyn TenantDataRepository {
        self
    }

    fn reports(&mut self) -> &mut dyn ReportRepository {
        self
    }

    fn notifications(&mut self) -> &mut dyn NotificationRepository {
        self
    }
}
