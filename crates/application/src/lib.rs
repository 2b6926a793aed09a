//! # TaskForce application
//!
//! The use cases, written against the domain's ports only. Operators' work on
//! tenants: [`TenantAdmin`] (with imports from Django); a request's tenant
//! and caller: [`TenantDirectory`], [`Authenticator`], [`AccessCache`];
//! accounts and joining: [`Accounts`], [`Registration`], [`TenantMembers`];
//! the work itself: [`Projects`], [`Tasks`], [`Comments`], [`Attachments`],
//! [`ActivityLog`], [`Notifications`], [`Reports`]; readiness:
//! [`HealthCheck`]. Adapters (PostgreSQL, HTTP, the CLI) call these; none of
//! them holds business rules.

mod access;
mod health;
mod identity;
mod pagination;
mod tenancy;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
mod validation;
mod work;

pub use access::{
    AccessCache, Action, Actor, CacheTtl, ChangeFeedState, Denied, Found, NoCache, Relation, host_key, member_key,
    policy, revoked_key, session_key,
};
pub use health::HealthCheck;
pub use identity::*;
pub use pagination::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest};
pub use tenancy::*;
pub use validation::{FieldErrors, slug_field, tenant_name_field};
pub use work::*;
