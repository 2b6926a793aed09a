//! Repository implementations over one open transaction.

mod domains;
mod memberships;
mod tenants;
mod users;

use diesel::PgConnection;
use taskforce_domain::{DomainRepository, MembershipRepository, PlatformTx, TenantRepository, UserRepository};

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
}

/// `Ok(None)` for diesel's `NotFound`.
pub(crate) fn optional<T>(result: diesel::QueryResult<T>) -> diesel::QueryResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(diesel::result::Error::NotFound) => Ok(None),
        Err(error) => Err(error),
    }
}
