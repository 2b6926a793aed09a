//! [`Cache`]: a key-value cache with expiry, in process or shared (Redis).

use std::time::Duration;

use crate::{FamilyId, HostName, TenantId, UserId};

/// How the cache is doing, for readiness checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheHealth {
    /// A shared cache that answers.
    Ok,
    /// No shared cache is configured; entries live in this process.
    Disabled,
    /// The shared cache does not answer; lookups go to the database.
    Degraded,
}

impl CacheHealth {
    /// As the readiness endpoint shows it.
    pub const fn as_str(self) -> &'static str {
        match self {
            CacheHealth::Ok => "ok",
            CacheHealth::Disabled => "disabled",
            CacheHealth::Degraded => "degraded",
        }
    }
}

/// The value an [invalidated](Cache::invalidate) key holds while it blocks
/// refills; no reader parses it as an entry.
pub const INVALIDATED: &str = "-invalidated-";

/// A cache of text values with expiry.
///
/// A cache never fails a request: when it cannot answer (down, slow) `get`
/// answers nothing and writes are dropped, and the caller falls back to the
/// database. Keys follow `tf:<tenant id>:<kind>:<key>` (or `tf:global:…`
/// for the few entries found before the tenant is known); values carry
/// their tenant id so that readers can check it.
pub trait Cache: Send + Sync + 'static {
    /// The values of several keys at once (one round trip for a shared
    /// cache), in order; `None` for misses.
    fn get_many(&self, keys: &[String]) -> Vec<Option<String>>;
    /// [`get_many`](Cache::get_many) when it can answer without waiting on
    /// I/O (a cache in this process's memory), `None` when it would have to
    /// ask a server. Lets a caller on an async thread skip the hand-off to a
    /// blocking thread.
    fn get_many_in_memory(&self, keys: &[String]) -> Option<Vec<Option<String>>> {
        let _ = keys;
        None
    }
    /// Stores a value until `ttl` passes.
    fn set(&self, key: &str, value: &str, ttl: Duration);
    /// Stores a value until `ttl` passes unless the key holds one already,
    /// a live entry or an [invalidation](Cache::invalidate) marker. Readers
    /// filling the cache from the database use this, so that a value read
    /// before a change cannot land after the change invalidated the key.
    fn add(&self, key: &str, value: &str, ttl: Duration);
    /// Removes keys.
    fn delete(&self, keys: &[String]);
    /// Replaces entries by a marker, [`INVALIDATED`], that readers see as a
    /// miss and that makes [`add`](Cache::add) refuse them for `hold`. A
    /// shared cache that cannot be reached deletes the keys once it can.
    fn invalidate(&self, keys: &[String], hold: Duration);
    /// Reads and removes one key at once: of several callers, one gets the
    /// value (single-use tickets).
    fn take(&self, key: &str) -> Option<String>;
    /// How the cache is doing.
    fn health(&self) -> CacheHealth;
    /// Drops every entry this process holds (its change feed was lost, so
    /// it can no longer tell which are stale). A cache shared between
    /// processes holds nothing of this process's own and keeps its entries.
    fn clear_local(&self) {}
}

/// A change to what the request path caches, as the database announces it
/// when the change commits, whoever made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessChange {
    /// The host now leads to another tenant, or its tenant changed.
    Host(HostName),
    /// A membership changed (role, removal, the account's active flag).
    Member(TenantId, UserId),
    /// A session ended.
    Session(TenantId, FamilyId),
    /// Anything may have changed (a table was truncated).
    Everything,
}

/// Where a feed of [`AccessChange`]s delivers: the cache of one process.
pub trait AccessChangeSink: Send + Sync + 'static {
    /// The feed heard its own notice, sent from another session: every
    /// change committed from now on arrives. Said again at every heartbeat;
    /// a feed that stops saying it may be cut off without knowing yet.
    fn feed_live(&self);
    /// The feed lost its connection: changes may go unannounced until it
    /// is live again.
    fn feed_lost(&self);
    /// Changes committed.
    fn changed(&self, changes: &[AccessChange]);
}
