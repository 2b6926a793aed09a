//! Tenants: operator use cases and request-time resolution.

mod admin;
mod arrivals;
mod directory;
mod django;
mod members;
mod reading;
mod transfer;

pub use admin::{
    CreateTenantError, DeletedTenant, DomainListing, EnsureDevTenantError, TenantAdmin, TenantAdminError, TenantDetails,
};
pub use arrivals::AccountClash;
pub use directory::{ResolveError, TenantDirectory};
pub use django::{LegacyItem, LegacyOutcome, LegacyTarget};
pub use members::{IssuedInvitation, MembersError, TenantMembers, TenantOverview};
pub use transfer::{
    EXPORT_FORMAT, Exported, ExportedAccount, ExportedDomain, ExportedMember, ExportedTenant, ImportError, Imported,
    OLDEST_READ_FORMAT, OpenExport, TableDump, TenantExport,
};
