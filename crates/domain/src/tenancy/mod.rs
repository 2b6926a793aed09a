//! Tenants, their schemas, domains and plans.

mod host_name;
mod legacy;
mod plan;
mod schema_name;
mod slug;
mod tenant;

pub use host_name::{HOST_MAX_LEN, HostName, HostNameError};
pub use legacy::{LegacyAccount, LegacyPlatform, LegacyTenant};
pub use plan::{LimitedResource, Plan, PlanLimits, UnknownPlan};
pub use schema_name::{PG_IDENTIFIER_MAX_BYTES, SCHEMA_PREFIX, SchemaName, SchemaNameError};
pub use slug::{RESERVED_SLUGS, SLUG_MAX_LEN, Slug, SlugError};
pub use tenant::{
    NewTenant, TENANT_NAME_MAX_LEN, Tenant, TenantChanges, TenantDomain, TenantId, TenantName, TenantNameError,
};
