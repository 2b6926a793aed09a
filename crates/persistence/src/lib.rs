//! # TaskForce persistence
//!
//! The PostgreSQL adapter: diesel over one r2d2 pool for every tenant.
//!
//! * [`pool`]: the pool and its fail-closed connection customizer — a fresh
//!   connection has an empty `search_path`, so a query that forgot its
//!   tenant fails with "relation does not exist" instead of reading someone's rows;
//! * [`scope`]: transactions and the tenant scope (transaction-local
//!   `search_path`), the only way tenant tables are reached;
//! * [`migrations`]: shared and per-tenant migrations, run in parallel;
//! * [`PgStore`]: the domain's [`taskforce_domain::Store`] port, including
//!   provisioning a tenant (row, domains and migrated schema in one
//!   transaction) and removing one.

mod change_feed;
mod django;
mod error;
pub mod instrumentation;
pub mod migrations;
pub mod pool;
mod repos;
mod rows;
pub mod schema;
pub mod scope;
mod spares;
mod store;
mod tenant_rows;

pub use change_feed::{ChangeFeed, ChangeFeedHandle, HEARTBEAT as CHANGE_FEED_HEARTBEAT};
pub use django::read_django_platform;
pub use migrations::{
    MigrateError, MigrationEvent, MigrationReport, PUBLIC_MIGRATIONS, TENANT_MIGRATIONS, TenantMigrator, TenantTarget,
    migrate_shared, shared_pending,
};
pub use pool::{FailClosed, PgPool, PoolSettings, PooledConn, build_pool, check_out, connect, is_uri, with_params};
pub use spares::{SPARE_PREFIX, SpareFilter, SpareStock};
pub use store::PgStore;
