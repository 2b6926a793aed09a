//! Comments on tasks, with author rules.

use std::sync::Arc;

use taskforce_domain::{
    Changes, Comment, CommentBody, CommentId, NewActivity, NotificationKind, Store, StoreExt, TargetType, TaskId,
    TenantTx, Verb, record_change,
};

use super::{ACTOR, IfMatch, Notifier, Tidings, WorkError, etag};
use crate::{Action, Actor, Page, PageRequest, Relation};

/// A new body for a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentPatch {
    /// The text; `None` leaves it (a `PATCH` without it).
    pub body: Option<CommentBody>,
}

fn log(
    tx: &mut dyn TenantTx,
    actor: &Actor,
    verb: Verb,
    comment: &Comment,
    project: Option<i64>,
    changes: Changes,
) -> Result<(), WorkError> {
    tx.activity().record(&NewActivity {
        actor: actor.user,
        verb,
        target_type: TargetType::Comment,
        target_id: comment.id.0,
        project_id: project,
        changes,
    })?;
    Ok(())
}

/// The actor's relation to a comment: its author or not.
fn authored(actor: &Actor, comment: &Comment) -> Relation {
    Relation { author: comment.author_id == actor.user, ..Default::default() }
}

/// The comment use cases.
#[derive(Clone)]
pub struct Comments {
    store: Arc<dyn Store>,
    notifier: Notifier,
}

impl std::fmt::Debug for Comments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Comments").finish_non_exhaustive()
    }
}

impl Comments {
    /// The use cases over a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, notifier: Notifier::default() }
    }

    /// The same use cases, announcing the notifications they write.
    pub fn with_notifier(mut self, notifier: Notifier) -> Self {
        self.notifier = notifier;
        self
    }

    /// The `ETag` of a comment version.
    pub fn etag(comment: &Comment) -> String {
        etag("comment", comment.id.0, comment.version)
    }

    /// One page of a task's comments, oldest first.
    pub fn list(&self, actor: &Actor, task: TaskId, page: PageRequest) -> Result<Page<Comment>, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        let (items, total) = self.store.tenant(&actor.tenant, |tx| {
            let found = tx.comments().page(task, page.offset(), page.size)?;
            // rows prove the task exists (foreign key); only an empty page asks
            if found.0.is_empty() {
                tx.tasks().get(task)?.ok_or(WorkError::NotFound)?;
            }
            Ok::<_, WorkError>(found)
        })?;
        Ok(Page { items, total, request: page })
    }

    /// Whether the actor may comment on this task as [`Comments::create`]
    /// would judge before it reads the comment: the task must exist. Asked
    /// when a request's comment cannot be judged, so that a missing task is
    /// answered before the comment's own problems.
    pub fn may_create(&self, actor: &Actor, task: TaskId) -> Result<(), WorkError> {
        actor.may(Action::CreateContent, Relation::default())?;
        self.store.tenant(&actor.tenant, |tx| tx.tasks().get(task)?.map(drop).ok_or(WorkError::NotFound))
    }

    /// Writes a comment on a task.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, task = %task))]
    pub fn create(&self, actor: &Actor, task: TaskId, body: &CommentBody) -> Result<Comment, WorkError> {
        actor.may(Action::CreateContent, Relation::default())?;
        self.store
            .tenant(&actor.tenant, |tx| {
                let parent = tx.tasks().get(task)?.ok_or(WorkError::NotFound)?;
                let comment = tx.comments().insert(task, actor.user, body).map_err(WorkError::parent_gone)?;
                let mut changes = Changes::new();
                record_change(&mut changes, "body", &None::<&str>, &Some(body.as_str()));
                record_change(&mut changes, "task_id", &None::<i64>, &Some(task.0));
                log(tx, actor, Verb::Created, &comment, Some(parent.project_id.0), changes)?;
                let title = parent.title.as_str();
                let mut tidings = Tidings::new(actor.user, TargetType::Task, task.0, Some(parent.project_id.0), title);
                tidings.mentioned_in(tx, actor.tenant.id, body.as_str(), "")?;
                let message = format!("{ACTOR} commented on “{title}”");
                tidings.tell(Some(parent.created_by), NotificationKind::CommentAdded, message.clone());
                tidings.tell(parent.assignee_id, NotificationKind::CommentAdded, message);
                let notes = tidings.write(tx, actor.tenant.id)?;
                Ok((comment, notes))
            })
            .map(|(comment, notes)| {
                self.notifier.announce(actor.tenant.id, &notes);
                comment
            })
    }

    /// Whether the comment exists and the actor may edit it, as
    /// [`Comments::update`] would judge: asked when a request's new text
    /// cannot be judged, so that a missing or forbidden comment is reported
    /// before the request's own problems.
    pub fn may_edit(&self, actor: &Actor, id: CommentId) -> Result<(), WorkError> {
        self.store.tenant(&actor.tenant, |tx| {
            let current = tx.comments().get(id)?.ok_or(WorkError::NotFound)?;
            Ok(actor.may(Action::EditComment, authored(actor, &current))?)
        })
    }

    /// Edits a comment: its author only.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, comment = %id))]
    pub fn update(
        &self,
        actor: &Actor,
        id: CommentId,
        patch: &CommentPatch,
        if_match: Option<&IfMatch>,
    ) -> Result<Comment, WorkError> {
        self.store
            .tenant(&actor.tenant, |tx| {
                let current = tx.comments().lock(id)?.ok_or(WorkError::NotFound)?;
                actor.may(Action::EditComment, authored(actor, &current))?;
                if !IfMatch::holds(if_match, &Self::etag(&current)) {
                    return Err(WorkError::PreconditionFailed);
                }
                let Some(body) = patch.body.as_ref().filter(|body| **body != current.body) else {
                    return Ok((current, Vec::new()));
                };
                let updated = tx.comments().update(id, current.version, body)?.ok_or(WorkError::PreconditionFailed)?;
                let parent = tx.tasks().get(current.task_id)?;
                let project = parent.as_ref().map(|t| t.project_id.0);
                let mut changes = Changes::new();
                record_change(&mut changes, "body", &current.body, body);
                log(tx, actor, Verb::Updated, &updated, project, changes)?;
                // only members newly mentioned by the edit hear of it
                let notes = match parent {
                    Some(task) => {
                        let title = task.title.as_str();
                        let mut tidings = Tidings::new(actor.user, TargetType::Task, task.id.0, project, title);
                        tidings.mentioned_in(tx, actor.tenant.id, body.as_str(), current.body.as_str())?;
                        tidings.write(tx, actor.tenant.id)?
                    }
                    None => Vec::new(),
                };
                Ok((updated, notes))
            })
            .map(|(comment, notes)| {
                self.notifier.announce(actor.tenant.id, &notes);
                comment
            })
    }

    /// Deletes a comment: its author, an admin or an owner.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, comment = %id))]
    pub fn delete(&self, actor: &Actor, id: CommentId, if_match: Option<&IfMatch>) -> Result<(), WorkError> {
        self.store.tenant(&actor.tenant, |tx| {
            // locked: an edit that commits between this read and the delete
            // would otherwise be deleted unseen, past `If-Match`
            let current = tx.comments().lock(id)?.ok_or(WorkError::NotFound)?;
            actor.may(Action::DeleteComment, authored(actor, &current))?;
            if !IfMatch::holds(if_match, &Self::etag(&current)) {
                return Err(WorkError::PreconditionFailed);
            }
            let project = tx.tasks().get(current.task_id)?.map(|t| t.project_id.0);
            tx.comments().delete(id)?;
            let mut changes = Changes::new();
            record_change(&mut changes, "body", &Some(current.body.as_str()), &None::<&str>);
            record_change(&mut changes, "task_id", &Some(current.task_id.0), &None::<i64>);
            log(tx, actor, Verb::Deleted, &current, project, changes)?;
            Ok(())
        })
    }
}
