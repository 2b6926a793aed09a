//! # TaskForce application
//!
//! The use cases, written against the domain's ports only: operator work on
//! tenants ([`TenantAdmin`]), request-time tenant resolution
//! ([`TenantDirectory`]) and accounts ([`Accounts`]). Adapters (PostgreSQL,
//! HTTP, the CLI) call these; none of them holds business rules.

mod health;
mod identity;
mod tenancy;
mod validation;

pub use health::HealthCheck;
pub use identity::*;
pub use tenancy::*;
pub use validation::FieldErrors;
