//! The work inside a tenant: projects, tasks, comments and the activity log.
//!
//! Every change runs in one tenant-scoped transaction that also writes its
//! activity row, so a failed change leaves no activity and a recorded
//! activity always has its change. Creates that a plan limits first lock
//! the tenant's row, so concurrent creates cannot pass the limit, and read
//! the plan there, so a plan change acts on the next request.

mod activity;
mod attachments;
mod comments;
mod notifications;
mod notify;
mod precondition;
mod projects;
mod reports;
mod tasks;

pub use activity::ActivityLog;
pub use attachments::{Attachments, NoFiles};
pub use comments::{CommentPatch, Comments};
pub use notifications::{Notifications, TICKET_TTL, Ticket};
pub(crate) use notify::{ACTOR, Tidings};
pub use notify::{Announcement, NOTIFICATIONS_TOPIC, NoBus, Notifier};
pub use precondition::{ETag, IfMatch, etag};
pub use projects::{ProjectPatch, Projects};
pub use reports::{MAX_WEEKS, Reports};
pub use tasks::{TaskPatch, Tasks};

use taskforce_domain::{FileError, LimitedResource, StoreError};

use crate::{Denied, FieldErrors};

/// Why a request about projects, tasks, comments or activity failed.
/// Nothing changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// The caller's role does not allow it.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// No such object in this tenant.
    #[error("Not found.")]
    NotFound,
    /// Field-level problems.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The tenant's plan allows no more of this resource.
    #[error("The plan allows at most {limit} of {}.", resource.as_str())]
    PlanLimit {
        /// What is limited.
        resource: LimitedResource,
        /// The limit.
        limit: u32,
    },
    /// `If-Match` named another version than the current one (or the object
    /// changed under a conditional request).
    #[error("The object has changed since it was read.")]
    PreconditionFailed,
    /// An upload was longer than the configured limit; nothing was kept.
    #[error("The file is larger than the limit of {limit} bytes.")]
    FileTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The client stopped sending an upload; nothing was kept.
    #[error("The upload was interrupted.")]
    UploadInterrupted,
    /// The tenant was deactivated while the request was on its way (an
    /// upload's bytes arriving).
    #[error("This tenant is inactive.")]
    TenantInactive,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An attachment's record is there but its bytes are not (a tenant
    /// restored from an export, which carries no files; a file removed by
    /// hand).
    #[error("This attachment's file is no longer stored.")]
    FileMissing,
    /// The file store failed.
    #[error("file store: {0}")]
    Files(String),
}

impl From<FileError> for WorkError {
    fn from(error: FileError) -> Self {
        match error {
            FileError::TooLarge { limit } => WorkError::FileTooLarge { limit },
            FileError::Interrupted(_) => WorkError::UploadInterrupted,
            FileError::NotFound => WorkError::FileMissing,
            FileError::Io(message) => WorkError::Files(message),
        }
    }
}

impl WorkError {
    /// A store error of an insert under a parent read before: a
    /// [`StoreError::MissingReference`] says another transaction deleted the
    /// parent since, so the object the request named is not found.
    pub(crate) fn parent_gone(error: StoreError) -> Self {
        match error {
            StoreError::MissingReference(_) => WorkError::NotFound,
            other => other.into(),
        }
    }

    /// A single field problem.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.add(field, message);
        WorkError::Invalid(fields)
    }
}

/// How often an unconditional update re-reads and retries when another
/// writer got there first.
const UPDATE_ATTEMPTS: usize = 3;
