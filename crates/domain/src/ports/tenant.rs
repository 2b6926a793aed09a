//! Ports over one tenant's schema.

use super::{PlatformTx, StoreError};
use crate::NewActivity;

/// How much of its plan a tenant uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Projects.
    pub projects: u64,
    /// Tasks in all projects.
    pub tasks: u64,
}

/// Counts what plans limit.
pub trait UsageRepository {
    /// Projects and tasks in the tenant.
    fn usage(&mut self) -> Result<Usage, StoreError>;
}

/// Writes the activity log.
pub trait ActivityRepository {
    /// Records one activity.
    fn record(&mut self, activity: &NewActivity) -> Result<(), StoreError>;
}

/// One transaction inside a tenant's schema; the shared data stays
/// reachable through [`PlatformTx`].
pub trait TenantTx: PlatformTx {
    /// Plan usage.
    fn usage(&mut self) -> &mut dyn UsageRepository;
    /// The activity log.
    fn activity(&mut self) -> &mut dyn ActivityRepository;
}
