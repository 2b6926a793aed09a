//! Tenants: operator use cases and request-time resolution.

mod admin;
mod directory;

pub use admin::{CreateTenantError, DomainListing, EnsureDevTenantError, TenantAdmin, TenantAdminError, TenantDetails};
pub use directory::{ResolveError, TenantDirectory};
