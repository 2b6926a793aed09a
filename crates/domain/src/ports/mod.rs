//! Ports: the traits the core calls and adapters implement.
//!
//! Storage ports are synchronous (the core is runtime-agnostic; the HTTP
//! adapter runs use cases on a blocking pool) and take `&mut self` because
//! each is bound to one open transaction.

mod bus;
mod cache;
mod clock;
mod error;
mod files;
mod platform;
mod security;
mod store;
mod tenant;

pub use bus::{Bus, Handler};
pub use cache::{AccessChange, AccessChangeSink, Cache, CacheHealth, INVALIDATED};
pub use clock::{Clock, FixedClock};
pub use error::{StoreError, Unique};
pub use files::{FileError, FileStore, StoredFile};
pub use platform::{
    DomainRepository, InvitationRepository, MembershipRepository, PlatformTx, SessionRepository, SessionState, Spend,
    TenantRepository, UserRepository,
};
pub use security::{HashError, PasswordHasher};
pub use store::{PlatformWork, ProvisionWork, Store, StoreExt, TenantWork};
pub use tenant::{
    ActivityRepository, AttachmentRepository, CommentRepository, DumpEvent, JsonKind, NotificationRepository,
    ProjectRepository, ReportRepository, TENANT_TABLES, TableColumn, TaskRepository, TenantDataRepository, TenantTx,
    Usage, UsageRepository,
};
