//! # TaskForce file storage
//!
//! Adapters of the [`FileStore`](taskforce_domain::FileStore) port, where
//! attachments' bytes live:
//!
//! * [`LocalFileStore`]: a folder on disk, one subfolder per tenant (named
//!   by its schema), files named by generated keys.
//! * [`ObjectFileStore`]: an S3-compatible bucket (AWS S3, MinIO, Ceph,
//!   …), one prefix per tenant, configured by URL.
//!
//! Keys are generated here (random UUIDs), never taken from clients, and
//! every path is built from a validated schema name and key, so no client
//! input reaches the file system.

mod local;
mod object;

pub use local::LocalFileStore;
pub use object::ObjectFileStore;

/// A fresh key: 32 lower-case hex digits.
pub(crate) fn new_key() -> taskforce_domain::StorageKey {
    let key = uuid::Uuid::new_v4().simple().to_string();
    // 32 hex digits always form a valid key
    taskforce_domain::StorageKey::parse(&key).unwrap_or_else(|| unreachable!("a UUID is a valid key"))
}
