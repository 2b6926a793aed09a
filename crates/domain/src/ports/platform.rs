//! Ports over the shared (platform-wide) data: tenants, domains, users and
//! memberships. Each is implemented over one open transaction; [`Store`]
//! hands them out.
//!
//! [`Store`]: super::Store

use super::StoreError;
use crate::{
    HostName, Member, Membership, NewUser, Role, Slug, Tenant, TenantChanges, TenantDomain, TenantId, User, UserId,
    Username,
};

/// Reads and changes tenant rows.
pub trait TenantRepository {
    /// The tenant with this id.
    fn get(&mut self, id: TenantId) -> Result<Option<Tenant>, StoreError>;
    /// The tenant with this slug.
    fn by_slug(&mut self, slug: &Slug) -> Result<Option<Tenant>, StoreError>;
    /// The tenant a canonical host name is mapped to.
    fn by_host(&mut self, host: &HostName) -> Result<Option<Tenant>, StoreError>;
    /// Every tenant, by slug.
    fn list(&mut self) -> Result<Vec<Tenant>, StoreError>;
    /// Applies the changes and returns the new state; [`StoreError::NotFound`]
    /// when the tenant is gone.
    fn update(&mut self, id: TenantId, changes: &TenantChanges) -> Result<Tenant, StoreError>;
    /// Locks the tenant's row until the transaction ends and returns it; used
    /// to serialise plan-limit checks.
    fn lock(&mut self, id: TenantId) -> Result<Tenant, StoreError>;
}

/// Reads and changes the host names mapped to tenants.
pub trait DomainRepository {
    /// Maps a host name to a tenant; [`StoreError::Duplicate`]
    /// (`domains_pkey`) when it is taken.
    fn add(&mut self, domain: &TenantDomain) -> Result<(), StoreError>;
    /// Removes a mapping and returns it; [`StoreError::NotFound`] when absent.
    fn remove(&mut self, host: &HostName) -> Result<TenantDomain, StoreError>;
    /// The mapping of one host name.
    fn get(&mut self, host: &HostName) -> Result<Option<TenantDomain>, StoreError>;
    /// The domains of one tenant (primary first), or of all tenants.
    fn list(&mut self, tenant: Option<TenantId>) -> Result<Vec<TenantDomain>, StoreError>;
    /// Clears the primary flag on all of a tenant's domains.
    fn clear_primary(&mut self, tenant: TenantId) -> Result<(), StoreError>;
}

/// Reads and creates accounts.
pub trait UserRepository {
    /// Creates an account; [`StoreError::Duplicate`] (`users_username_key` or
    /// `users_email_key`) when the name or address is taken.
    fn create(&mut self, user: &NewUser) -> Result<User, StoreError>;
    /// The account with this id.
    fn get(&mut self, id: UserId) -> Result<Option<User>, StoreError>;
    /// The account with this user name (case-insensitive).
    fn by_username(&mut self, username: &Username) -> Result<Option<User>, StoreError>;
}

/// Reads and changes who belongs to which tenant, with which role.
pub trait MembershipRepository {
    /// Adds a member; [`StoreError::Duplicate`] (`memberships_tenant_user_key`)
    /// when the user already belongs to the tenant.
    fn add(&mut self, tenant: TenantId, user: UserId, role: Role) -> Result<Membership, StoreError>;
    /// The user's membership of the tenant.
    fn find(&mut self, tenant: TenantId, user: UserId) -> Result<Option<Membership>, StoreError>;
    /// The tenant's members with their accounts, by join date.
    fn list(&mut self, tenant: TenantId) -> Result<Vec<Member>, StoreError>;
}

/// One transaction over the shared data.
pub trait PlatformTx {
    /// Tenant rows.
    fn tenants(&mut self) -> &mut dyn TenantRepository;
    /// Domain mappings.
    fn domains(&mut self) -> &mut dyn DomainRepository;
    /// Accounts.
    fn users(&mut self) -> &mut dyn UserRepository;
    /// Memberships.
    fn memberships(&mut self) -> &mut dyn MembershipRepository;
}
