//! Tasks: list with filters, create within the plan, read, update, delete.

use std::sync::Arc;

use chrono::NaiveDate;
use taskforce_domain::{
    Changes, Clock, Description, FileStore, LimitedResource, NewActivity, NotificationKind, Priority, ProjectId, Store,
    StoreExt, TargetType, Task, TaskFields, TaskFilter, TaskId, TaskStatus, TaskTitle, TenantTx, UserId, Verb,
    record_change,
};

use super::{ACTOR, IfMatch, NoFiles, Notifier, Tidings, UPDATE_ATTEMPTS, WorkError, attachments::discard, etag};
use crate::{Action, Actor, Page, PageRequest, Relation};

/// Changes to a task; `None` leaves a field as it is, `Some(None)` clears
/// an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskPatch {
    /// New title.
    pub title: Option<TaskTitle>,
    /// New description.
    pub description: Option<Description>,
    /// New status.
    pub status: Option<TaskStatus>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New assignee, or none.
    pub assignee_id: Option<Option<UserId>>,
    /// New due date, or none.
    pub due_date: Option<Option<NaiveDate>>,
}

impl TaskPatch {
    fn apply(&self, mut fields: TaskFields) -> TaskFields {
        if let Some(title) = &self.title {
            fields.title = title.clone();
        }
        if let Some(description) = &self.description {
            fields.description = description.clone();
        }
        if let Some(status) = self.status {
            fields.status = status;
        }
        if let Some(priority) = self.priority {
            fields.priority = priority;
        }
        if let Some(assignee) = self.assignee_id {
            fields.assignee_id = assignee;
        }
        if let Some(due) = self.due_date {
            fields.due_date = due;
        }
        fields
    }
}

fn diff(old: &TaskFields, new: &TaskFields) -> Changes {
    let mut changes = Changes::new();
    record_change(&mut changes, "title", &old.title, &new.title);
    record_change(&mut changes, "description", &old.description, &new.description);
    record_change(&mut changes, "status", &old.status, &new.status);
    record_change(&mut changes, "priority", &old.priority, &new.priority);
    record_change(&mut changes, "assignee_id", &old.assignee_id, &new.assignee_id);
    record_change(&mut changes, "due_date", &old.due_date, &new.due_date);
    changes
}

fn whole(fields: &TaskFields, created: bool) -> Changes {
    let mut changes = Changes::new();
    let values = [
        ("title", serde_json::json!(fields.title)),
        ("description", serde_json::json!(fields.description)),
        ("status", serde_json::json!(fields.status)),
        ("priority", serde_json::json!(fields.priority)),
        ("assignee_id", serde_json::json!(fields.assignee_id)),
        ("due_date", serde_json::json!(fields.due_date)),
    ];
    for (field, value) in values {
        let pair = if created { serde_json::json!([null, value]) } else { serde_json::json!([value, null]) };
        changes.insert(field.to_owned(), pair);
    }
    changes
}

fn log(tx: &mut dyn TenantTx, actor: &Actor, verb: Verb, task: &Task, changes: Changes) -> Result<(), WorkError> {
    tx.activity().record(&NewActivity {
        actor: actor.user,
        verb,
        target_type: TargetType::Task,
        target_id: task.id.0,
        project_id: Some(task.project_id.0),
        changes,
    })?;
    Ok(())
}

/// Who hears of an update: a new assignee, the creator and assignee of a
/// status change, members newly mentioned in the description.
fn tell_of_update(
    tx: &mut dyn TenantTx,
    actor: &Actor,
    before: &Task,
    after: &Task,
) -> Result<Vec<taskforce_domain::Notification>, WorkError> {
    let title = after.title.as_str();
    let mut tidings = Tidings::new(actor.user, TargetType::Task, after.id.0, Some(after.project_id.0), title);
    if after.assignee_id != before.assignee_id {
        tidings.tell(after.assignee_id, NotificationKind::TaskAssigned, format!("{ACTOR} assigned you “{title}”"));
    }
    if after.status != before.status {
        let message = format!("{ACTOR} moved “{title}” to {}", after.status.as_str().replace('_', " "));
        tidings.tell(Some(after.created_by), NotificationKind::TaskStatusChanged, message.clone());
        tidings.tell(after.assignee_id, NotificationKind::TaskStatusChanged, message);
    }
    if after.description != before.description {
        tidings.mentioned_in(tx, actor.tenant.id, after.description.as_str(), before.description.as_str())?;
    }
    Ok(tidings.write(tx, actor.tenant.id)?)
}

/// The actor's relation to a task: its creator, its assignee, both or neither.
fn involved(actor: &Actor, task: &Task) -> Relation {
    Relation {
        creator: task.created_by == actor.user,
        assignee: task.assignee_id == Some(actor.user),
        ..Default::default()
    }
}

/// The assignee must be a member of the tenant.
fn check_assignee(tx: &mut dyn TenantTx, actor: &Actor, fields: &TaskFields) -> Result<(), WorkError> {
    // held (FOR KEY SHARE) until the commit: a removal of the assignee
    // racing this waits for it, so the task is assigned (and its assignee
    // told) while they are still a member, never after they left
    if let Some(user) = fields.assignee_id
        && tx.memberships().hold(actor.tenant.id, user)?.is_none()
    {
        return Err(WorkError::field("assignee_id", "The assignee must be a member of this tenant."));
    }
    Ok(())
}

/// The task use cases.
#[derive(Clone)]
pub struct Tasks {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    notifier: Notifier,
    files: Arc<dyn FileStore>,
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tasks").finish_non_exhaustive()
    }
}

impl Tasks {
    /// The use cases over a store and a clock.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock, notifier: Notifier::default(), files: Arc::new(NoFiles) }
    }

    /// The same use cases, removing deleted tasks' files from `files`.
    pub fn with_files(mut self, files: Arc<dyn FileStore>) -> Self {
        self.files = files;
        self
    }

    /// The same use cases, announcing the notifications they write.
    pub fn with_notifier(mut self, notifier: Notifier) -> Self {
        self.notifier = notifier;
        self
    }

    /// The `ETag` of a task version.
    pub fn etag(task: &Task) -> String {
        etag("task", task.id.0, task.version)
    }

    /// Today, in UTC: what `overdue` is measured against.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().date_naive()
    }

    /// One page of a project's tasks.
    pub fn list(
        &self,
        actor: &Actor,
        project: ProjectId,
        filter: &TaskFilter,
        page: PageRequest,
    ) -> Result<Page<Task>, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        let (items, total) = self.store.tenant(&actor.tenant, |tx| {
            let found = tx.tasks().page(project, filter, page.offset(), page.size)?;
            // rows prove the project exists (foreign key); only an empty page asks
            if found.0.is_empty() {
                tx.projects().get(project)?.ok_or(WorkError::NotFound)?;
            }
            Ok::<_, WorkError>(found)
        })?;
        Ok(Page { items, total, request: page })
    }

    /// Whether the actor may create tasks in this project as
    /// [`Tasks::create`] would judge before it reads the task: the project
    /// must exist. Asked when a request's task cannot be judged, so that a
    /// missing project is answered before the task's own problems.
    pub fn may_create(&self, actor: &Actor, project: ProjectId) -> Result<(), WorkError> {
        actor.may(Action::CreateContent, Relation::default())?;
        self.store.tenant(&actor.tenant, |tx| tx.projects().get(project)?.map(drop).ok_or(WorkError::NotFound))
    }

    /// Creates a task in a project, within the plan's tenant-wide limit.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, project = %project))]
    pub fn create(&self, actor: &Actor, project: ProjectId, fields: &TaskFields) -> Result<Task, WorkError> {
        actor.may(Action::CreateContent, Relation::default())?;
        self.store
            .tenant(&actor.tenant, |tx| {
                let tenant = tx.tenants().lock(actor.tenant.id)?;
                let now = self.clock.now();
                tx.projects().get(project)?.ok_or(WorkError::NotFound)?;
                if let Some(limit) = tenant.plan.limits().of(LimitedResource::Tasks)
                    && tx.usage().usage()?.tasks >= u64::from(limit)
                {
                    return Err(WorkError::PlanLimit { resource: LimitedResource::Tasks, limit });
                }
                check_assignee(tx, actor, fields)?;
                let task = tx
                    .tasks()
                    .insert(project, actor.user, fields, fields.status.completed_at(None, now))
                    .map_err(WorkError::parent_gone)?;
                log(tx, actor, Verb::Created, &task, whole(fields, true))?;
                let mut tidings =
                    Tidings::new(actor.user, TargetType::Task, task.id.0, Some(project.0), task.title.as_str());
                tidings.tell(
                    fields.assignee_id,
                    NotificationKind::TaskAssigned,
                    format!("{ACTOR} assigned you “{}”", task.title.as_str()),
                );
                tidings.mentioned_in(tx, actor.tenant.id, fields.description.as_str(), "")?;
                let notes = tidings.write(tx, actor.tenant.id)?;
                Ok((task, notes))
            })
            .map(|(task, notes)| {
                self.notifier.announce(actor.tenant.id, &notes);
                task
            })
    }

    /// One task.
    pub fn get(&self, actor: &Actor, id: TaskId) -> Result<Task, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        self.store.tenant(&actor.tenant, |tx| tx.tasks().get(id)?.ok_or(WorkError::NotFound))
    }

    /// Whether the task exists and the actor may update it, as
    /// [`Tasks::update`] would judge: asked when a request's fields cannot be
    /// judged, so that a missing or forbidden task is reported before the
    /// request's own problems.
    pub fn may_update(&self, actor: &Actor, id: TaskId) -> Result<(), WorkError> {
        self.store.tenant(&actor.tenant, |tx| {
            let current = tx.tasks().get(id)?.ok_or(WorkError::NotFound)?;
            Ok(actor.may(Action::UpdateTask, involved(actor, &current))?)
        })
    }

    /// Applies a patch (a `PUT` is a patch with every writable field).
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, task = %id))]
    pub fn update(
        &self,
        actor: &Actor,
        id: TaskId,
        patch: &TaskPatch,
        if_match: Option<&IfMatch>,
    ) -> Result<Task, WorkError> {
        self.store
            .tenant(&actor.tenant, |tx| {
                for _ in 0..UPDATE_ATTEMPTS {
                    let current = tx.tasks().lock(id)?.ok_or(WorkError::NotFound)?;
                    // after the lock: a completion is never stamped before
                    // the change it waited for
                    let now = self.clock.now();
                    actor.may(Action::UpdateTask, involved(actor, &current))?;
                    if !IfMatch::holds(if_match, &Self::etag(&current)) {
                        return Err(WorkError::PreconditionFailed);
                    }
                    let old = current.fields();
                    let new = patch.apply(old.clone());
                    if new == old {
                        return Ok((current, Vec::new()));
                    }
                    if new.assignee_id != old.assignee_id {
                        check_assignee(tx, actor, &new)?;
                    }
                    let completed_at = new.status.completed_at(Some((current.status, current.completed_at)), now);
                    match tx.tasks().update(id, current.version, &new, completed_at)? {
                        Some(updated) => {
                            log(tx, actor, Verb::Updated, &updated, diff(&old, &new))?;
                            let notes = tell_of_update(tx, actor, &current, &updated)?;
                            return Ok((updated, notes));
                        }
                        None if if_match.is_some() => return Err(WorkError::PreconditionFailed),
                        None => continue,
                    }
                }
                Err(WorkError::PreconditionFailed)
            })
            .map(|(task, notes)| {
                self.notifier.announce(actor.tenant.id, &notes);
                task
            })
    }

    /// Deletes a task with its comments and attachments (their files once
    /// the deletion is committed).
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, task = %id))]
    pub fn delete(&self, actor: &Actor, id: TaskId, if_match: Option<&IfMatch>) -> Result<Task, WorkError> {
        let area = &actor.tenant.schema_name;
        let (task, files) = self.store.tenant(&actor.tenant, |tx| {
            // locked: a write that commits between this read and the
            // delete would otherwise be deleted unseen, past `If-Match`
            let current = tx.tasks().lock(id)?.ok_or(WorkError::NotFound)?;
            actor.may(
                Action::DeleteTask,
                Relation { creator: current.created_by == actor.user, ..Default::default() },
            )?;
            if !IfMatch::holds(if_match, &Self::etag(&current)) {
                return Err(WorkError::PreconditionFailed);
            }
            let files = tx.attachments().keys_of_task(id)?;
            if !tx.tasks().delete(id)? {
                return Err(WorkError::NotFound);
            }
            log(tx, actor, Verb::Deleted, &current, whole(&current.fields(), false))?;
            Ok((current, files))
        })?;
        discard(self.files.as_ref(), area, &files);
        Ok(task)
    }
}
