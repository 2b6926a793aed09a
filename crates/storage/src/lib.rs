//! # TaskForce file storage
//!
//! Adapters of the [`FileStore`](taskforce_domain::FileStore) port, where
//! attachments' bytes live:
//!
//! * [`LocalFileStore`]: a folder on disk, one subfolder per tenant (named
//!   by its schema), files named by generated keys.
//!
//! Keys are generated here (random UUIDs), never taken from clients, and
//! every path is built from a validated schema name and key, so no client
//! input reaches the file system.

mod local;

pub use local::LocalFileStore;

/// A fresh key: 32 lower-case hex digits.
pub(crate) fn new_key() -> taskforce_domain::StorageKey {
    let key = uuid::Uuid::new_v4().simple().to_string();
    // 32 hex digits always form a valid key
    taskforce_domain::StorageKey::parse(&key).unwrap_or_else(|| unreachable!("a UUID is a valid key"))
}
