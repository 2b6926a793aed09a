//! Repository implementations over one open transaction.

mod activity;
mod domains;
mod invitations;
mod memberships;
mod sessions;
mod tenants;
mod usage;
mod users;

use diesel::PgConnection;
use taskforce_domain::{
    ActivityRepository, DomainRepository, InvitationRepository, MembershipRepository, PlatformTx, SessionRepository,
    TenantRepository, TenantTx, UsageRepository, UserRepository,
};

/// The repositories of one transaction: a borrowed connection that is inside
/// a transaction for as long as this value lives.
pub(crate) struct PgTx<'c> {
    pub(crate) conn: &'c mut PgConnection,
}

impl PlatformTx for PgTx<'_> {
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

/// The same connection inside a tenant scope: the tenant's tables resolve.
pub(crate) struct PgTenantTx<'c> {
    pub(crate) inner: PgTx<'c>,
}

impl PlatformTx for PgTenantTx<'_> {
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

impl TenantTx for PgTenantTx<'_> {
    fn usage(&mut self) -> &mut dyn UsageRepository {
        self
    }

    fn activity(&mut self) -> &mut dyn ActivityRepository {
        self
    }
}

/// `Ok(None)` for diesel's `NotFound`.
pub(crate) fn optional<T>(result: diesel::QueryResult<T>) -> diesel::QueryResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(diesel::result::Error::NotFound) => Ok(None),
        Err(error) => Err(error),
    }
}
