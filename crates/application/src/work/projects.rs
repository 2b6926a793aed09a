//! Projects: list, create, read, update, delete.

use std::sync::Arc;

use taskforce_domain::{
    Changes, Description, FileStore, LimitedResource, NewActivity, Project, ProjectFields, ProjectFilter, ProjectId,
    ProjectName, ProjectStatus, Store, StoreExt, TargetType, TenantTx, Verb, record_change,
};

use super::{IfMatch, NoFiles, UPDATE_ATTEMPTS, WorkError, attachments::discard, etag};
use crate::{Action, Actor, Page, PageRequest, Relation};

/// Changes to a project; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectPatch {
    /// New name.
    pub name: Option<ProjectName>,
    /// New description.
    pub description: Option<Description>,
    /// New status.
    pub status: Option<ProjectStatus>,
}

impl ProjectPatch {
    fn apply(&self, mut fields: ProjectFields) -> ProjectFields {
        if let Some(name) = &self.name {
            fields.name = name.clone();
        }
        if let Some(description) = &self.description {
            fields.description = description.clone();
        }
        if let Some(status) = self.status {
            fields.status = status;
        }
        fields
    }
}

/// What changed between two versions of a project.
fn diff(old: &ProjectFields, new: &ProjectFields) -> Changes {
    let mut changes = Changes::new();
    record_change(&mut changes, "name", &old.name, &new.name);
    record_change(&mut changes, "description", &old.description, &new.description);
    record_change(&mut changes, "status", &old.status, &new.status);
    changes
}

/// Every field of a project, from nothing or to nothing.
fn whole(fields: &ProjectFields, created: bool) -> Changes {
    let mut changes = Changes::new();
    let values = [
        ("name", serde_json::json!(fields.name)),
        ("description", serde_json::json!(fields.description)),
        ("status", serde_json::json!(fields.status)),
    ];
    for (field, value) in values {
        let pair = if created { serde_json::json!([null, value]) } else { serde_json::json!([value, null]) };
        changes.insert(field.to_owned(), pair);
    }
    changes
}

/// The actor's relation to a project: its owner or not.
fn owned(actor: &Actor, project: &Project) -> Relation {
    Relation { project_owner: project.owner_id == actor.user, ..Default::default() }
}

fn log(
    tx: &mut dyn TenantTx,
    actor: &Actor,
    verb: Verb,
    project: ProjectId,
    changes: Changes,
) -> Result<(), WorkError> {
    tx.activity().record(&NewActivity {
        actor: actor.user,
        verb,
        target_type: TargetType::Project,
        target_id: project.0,
        project_id: Some(project.0),
        changes,
    })?;
    Ok(())
}

/// The project use cases.
#[derive(Clone)]
pub struct Projects {
    store: Arc<dyn Store>,
    files: Arc<dyn FileStore>,
}

impl std::fmt::Debug for Projects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projects").finish_non_exhaustive()
    }
}

impl Projects {
    /// The use cases over a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, files: Arc::new(NoFiles) }
    }

    /// The same use cases, removing deleted projects' files from `files`.
    pub fn with_files(mut self, files: Arc<dyn FileStore>) -> Self {
        self.files = files;
        self
    }

    /// The `ETag` of a project version.
    pub fn etag(project: &Project) -> String {
        etag("project", project.id.0, project.version)
    }

    /// One page of projects, newest first.
    pub fn list(&self, actor: &Actor, filter: &ProjectFilter, page: PageRequest) -> Result<Page<Project>, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        let (items, total) =
            self.store.tenant(&actor.tenant, |tx| tx.projects().page(filter, page.offset(), page.size))?;
        Ok(Page { items, total, request: page })
    }

    /// Creates a project owned by the caller, within the plan's limit.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user))]
    pub fn create(&self, actor: &Actor, fields: &ProjectFields) -> Result<Project, WorkError> {
        actor.may(Action::CreateContent, Relation::default())?;
        self.store.tenant(&actor.tenant, |tx| {
            let tenant = tx.tenants().lock(actor.tenant.id)?;
            if let Some(limit) = tenant.plan.limits().of(LimitedResource::Projects)
                && tx.usage().usage()?.projects >= u64::from(limit)
            {
                return Err(WorkError::PlanLimit { resource: LimitedResource::Projects, limit });
            }
            let project = tx.projects().insert(actor.user, fields)?;
            log(tx, actor, Verb::Created, project.id, whole(fields, true))?;
            Ok(project)
        })
    }

    /// One project.
    pub fn get(&self, actor: &Actor, id: ProjectId) -> Result<Project, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        self.store.tenant(&actor.tenant, |tx| tx.projects().get(id)?.ok_or(WorkError::NotFound))
    }

    /// Whether the project exists and the actor may change it, as
    /// [`Projects::update`] and [`Projects::delete`] would judge: asked when
    /// a request's fields cannot be judged, so that a missing or forbidden
    /// project is reported before the request's own problems.
    pub fn may_change(&self, actor: &Actor, id: ProjectId) -> Result<(), WorkError> {
        self.store.tenant(&actor.tenant, |tx| {
            let current = tx.projects().get(id)?.ok_or(WorkError::NotFound)?;
            Ok(actor.may(Action::ChangeProject, owned(actor, &current))?)
        })
    }

    /// Applies a patch (a `PUT` is a patch with every writable field).
    /// With `if_match`, the project must still be at that version.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, project = %id))]
    pub fn update(
        &self,
        actor: &Actor,
        id: ProjectId,
        patch: &ProjectPatch,
        if_match: Option<&IfMatch>,
    ) -> Result<Project, WorkError> {
        self.store.tenant(&actor.tenant, |tx| {
            for _ in 0..UPDATE_ATTEMPTS {
                let current = tx.projects().lock(id)?.ok_or(WorkError::NotFound)?;
                actor.may(Action::ChangeProject, owned(actor, &current))?;
                if !IfMatch::holds(if_match, &Self::etag(&current)) {
                    return Err(WorkError::PreconditionFailed);
                }
                let old = current.fields();
                let new = patch.apply(old.clone());
                if new == old {
                    return Ok(current);
                }
                match tx.projects().update(id, current.version, &new)? {
                    Some(updated) => {
                        log(tx, actor, Verb::Updated, id, diff(&old, &new))?;
                        return Ok(updated);
                    }
                    // another writer got there first
                    None if if_match.is_some() => return Err(WorkError::PreconditionFailed),
                    None => continue,
                }
            }
            Err(WorkError::PreconditionFailed)
        })
    }

    /// Deletes a project with its tasks, comments and attachments (their
    /// files once the deletion is committed); the activity log keeps the
    /// record.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, project = %id))]
    pub fn delete(&self, actor: &Actor, id: ProjectId, if_match: Option<&IfMatch>) -> Result<Project, WorkError> {
        let area = &actor.tenant.schema_name;
        let (project, files) = self.store.tenant(&actor.tenant, |tx| {
            // locked: a write that commits between this read and the
            // delete would otherwise be deleted unseen, past `If-Match`
            let current = tx.projects().lock(id)?.ok_or(WorkError::NotFound)?;
            actor.may(Action::ChangeProject, owned(actor, &current))?;
            if !IfMatch::holds(if_match, &Self::etag(&current)) {
                return Err(WorkError::PreconditionFailed);
            }
            // its tasks too: a comment or file added to one meanwhile is in
            // the list below or, waiting, finds its task gone (404)
            tx.tasks().lock_of_project(id)?;
            let files = tx.attachments().keys_of_project(id)?;
            if !tx.projects().delete(id)? {
                return Err(WorkError::NotFound);
            }
            log(tx, actor, Verb::Deleted, id, whole(&current.fields(), false))?;
            Ok((current, files))
        })?;
        discard(self.files.as_ref(), area, &files);
        Ok(project)
    }
}
