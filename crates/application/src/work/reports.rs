//! Reports: summary, weekly throughput, workload and cycle time, computed by
//! the database within the tenant's schema. Dates are UTC.

use std::sync::Arc;

use taskforce_domain::{
    Clock, CycleTime, ProjectId, ReportScope, Store, StoreExt, Summary, TenantTx, WeekThroughput, Workload,
};

use super::WorkError;
use crate::{Action, Actor, Relation};

/// Most weeks a throughput report covers.
pub const MAX_WEEKS: u32 = 104;

/// The report use cases; any member may read them.
#[derive(Clone)]
pub struct Reports {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Reports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reports").finish_non_exhaustive()
    }
}

/// A project given as scope must exist in this tenant.
fn check_scope(tx: &mut dyn TenantTx, scope: ReportScope) -> Result<(), WorkError> {
    if let Some(project) = scope {
        tx.projects().get(project)?.ok_or(WorkError::NotFound)?;
    }
    Ok(())
}

impl Reports {
    /// The use cases over a store and a clock.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Counts of projects, tasks and members, for the tenant or one project.
    pub fn summary(&self, actor: &Actor, scope: Option<ProjectId>) -> Result<Summary, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        let today = self.clock.now().date_naive();
        self.store.tenant(&actor.tenant, |tx| {
            check_scope(tx, scope)?;
            Ok(tx.reports().summary(actor.tenant.id, scope, today)?)
        })
    }

    /// Tasks created and completed per week, oldest first, for `weeks` weeks
    /// (1–104) ending with the current one.
    pub fn throughput(
        &self,
        actor: &Actor,
        weeks: u32,
        scope: Option<ProjectId>,
    ) -> Result<Vec<WeekThroughput>, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        if !(1..=MAX_WEEKS).contains(&weeks) {
            return Err(WorkError::field("weeks", format!("Ensure this value is between 1 and {MAX_WEEKS}.")));
        }
        let today = self.clock.now().date_naive();
        self.store.tenant(&actor.tenant, |tx| {
            check_scope(tx, scope)?;
            Ok(tx.reports().throughput(scope, weeks, today)?)
        })
    }

    /// Each member's open, overdue and recently completed tasks.
    pub fn workload(&self, actor: &Actor) -> Result<Vec<Workload>, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        let today = self.clock.now().date_naive();
        self.store.tenant(&actor.tenant, |tx| Ok(tx.reports().workload(actor.tenant.id, today)?))
    }

    /// Median and 85th-percentile hours from creation to done.
    pub fn cycle_time(&self, actor: &Actor, scope: Option<ProjectId>) -> Result<CycleTime, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        self.store.tenant(&actor.tenant, |tx| {
            check_scope(tx, scope)?;
            Ok(tx.reports().cycle_time(scope)?)
        })
    }
}
