//! [`Actor`]: who makes a request, in which tenant, with which role.

use taskforce_domain::{FamilyId, Role, Tenant, UserId};

use super::policy::{Action, Relation, allows};

/// The authenticated caller of a tenant endpoint. The role was read from the
/// membership for this request, never from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The tenant the request is addressed to.
    pub tenant: Tenant,
    /// The caller.
    pub user: UserId,
    /// Their role in the tenant now.
    pub role: Role,
    /// The login session of their token.
    pub session: FamilyId,
}

/// The caller may not do that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("You do not have permission to perform this action.")]
pub struct Denied;

impl Actor {
    /// `Ok` when the policy allows the action on an object in `relation`.
    pub fn may(&self, action: Action, relation: Relation) -> Result<(), Denied> {
        if allows(self.role, action, relation) { Ok(()) } else { Err(Denied) }
    }
}
