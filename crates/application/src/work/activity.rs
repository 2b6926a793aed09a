//! Reading the activity log.

use std::sync::Arc;

use taskforce_domain::{Activity, ActivityFilter, ProjectId, Store, StoreExt};

use super::WorkError;
use crate::{Action, Actor, Page, PageRequest, Relation};

/// The activity-log use cases.
#[derive(Clone)]
pub struct ActivityLog {
    store: Arc<dyn Store>,
}

impl std::fmt::Debug for ActivityLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityLog").finish_non_exhaustive()
    }
}

impl ActivityLog {
    /// The use cases over a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// A project's activity, newest first: any member.
    pub fn of_project(
        &self,
        actor: &Actor,
        project: ProjectId,
        page: PageRequest,
    ) -> Result<Page<Activity>, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        let filter = ActivityFilter { project: Some(project.0), ..Default::default() };
        let (items, total) = self.store.tenant(&actor.tenant, |tx| {
            tx.projects().get(project)?.ok_or(WorkError::NotFound)?;
            Ok::<_, WorkError>(tx.activity().page(&filter, page.offset(), page.size)?)
        })?;
        Ok(Page { items, total, request: page })
    }

    /// The tenant-wide log, newest first: admins and owners.
    pub fn tenant_wide(
        &self,
        actor: &Actor,
        filter: &ActivityFilter,
        page: PageRequest,
    ) -> Result<Page<Activity>, WorkError> {
        actor.may(Action::ReadAuditLog, Relation::default())?;
        let (items, total) =
            self.store.tenant(&actor.tenant, |tx| tx.activity().page(filter, page.offset(), page.size))?;
        Ok(Page { items, total, request: page })
    }
}
