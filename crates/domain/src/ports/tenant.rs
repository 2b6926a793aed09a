//! Ports over one tenant's schema.

use chrono::{DateTime, Utc};

use super::{PlatformTx, StoreError};
use crate::{
    Activity, ActivityFilter, Comment, CommentBody, CommentId, NewActivity, Project, ProjectFields, ProjectFilter,
    ProjectId, Task, TaskFields, TaskFilter, TaskId, UserId,
};

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

/// Writes and reads the activity log.
pub trait ActivityRepository {
    /// Records one activity.
    fn record(&mut self, activity: &NewActivity) -> Result<(), StoreError>;
    /// One page of activity, newest first, and the total count.
    fn page(&mut self, filter: &ActivityFilter, offset: u64, limit: u64) -> Result<(Vec<Activity>, u64), StoreError>;
}

/// Projects of the tenant.
pub trait ProjectRepository {
    /// Stores a new project.
    fn insert(&mut self, owner: UserId, fields: &ProjectFields) -> Result<Project, StoreError>;
    /// The project with this id.
    fn get(&mut self, id: ProjectId) -> Result<Option<Project>, StoreError>;
    /// One page (newest first) and the total count.
    fn page(&mut self, filter: &ProjectFilter, offset: u64, limit: u64) -> Result<(Vec<Project>, u64), StoreError>;
    /// Writes the fields and bumps the version, if the version is still
    /// `version`; `None` when it has moved on or the project is gone.
    fn update(&mut self, id: ProjectId, version: i64, fields: &ProjectFields) -> Result<Option<Project>, StoreError>;
    /// Deletes the project with its tasks and comments; whether it existed.
    fn delete(&mut self, id: ProjectId) -> Result<bool, StoreError>;
}

/// Tasks of the tenant.
pub trait TaskRepository {
    /// Stores a new task.
    fn insert(
        &mut self,
        project: ProjectId,
        created_by: UserId,
        fields: &TaskFields,
        completed_at: Option<DateTime<Utc>>,
    ) -> Result<Task, StoreError>;
    /// The task with this id.
    fn get(&mut self, id: TaskId) -> Result<Option<Task>, StoreError>;
    /// One page of a project's tasks and the total count.
    fn page(
        &mut self,
        project: ProjectId,
        filter: &TaskFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Task>, u64), StoreError>;
    /// Writes the fields and bumps the version, if the version is still
    /// `version`; `None` when it has moved on or the task is gone.
    fn update(
        &mut self,
        id: TaskId,
        version: i64,
        fields: &TaskFields,
        completed_at: Option<DateTime<Utc>>,
    ) -> Result<Option<Task>, StoreError>;
    /// Deletes the task with its comments; whether it existed.
    fn delete(&mut self, id: TaskId) -> Result<bool, StoreError>;
}

/// Comments of the tenant.
pub trait CommentRepository {
    /// Stores a new comment.
    fn insert(&mut self, task: TaskId, author: UserId, body: &CommentBody) -> Result<Comment, StoreError>;
    /// The comment with this id.
    fn get(&mut self, id: CommentId) -> Result<Option<Comment>, StoreError>;
    /// One page of a task's comments (oldest first) and the total count.
    fn page(&mut self, task: TaskId, offset: u64, limit: u64) -> Result<(Vec<Comment>, u64), StoreError>;
    /// Rewrites the body if the version is still `version`.
    fn update(&mut self, id: CommentId, version: i64, body: &CommentBody) -> Result<Option<Comment>, StoreError>;
    /// Deletes the comment; whether it existed.
    fn delete(&mut self, id: CommentId) -> Result<bool, StoreError>;
}

/// One transaction inside a tenant's schema; the shared data stays
/// reachable through [`PlatformTx`].
pub trait TenantTx: PlatformTx {
    /// Plan usage.
    fn usage(&mut self) -> &mut dyn UsageRepository;
    /// The activity log.
    fn activity(&mut self) -> &mut dyn ActivityRepository;
    /// Projects.
    fn projects(&mut self) -> &mut dyn ProjectRepository;
    /// Tasks.
    fn tasks(&mut self) -> &mut dyn TaskRepository;
    /// Comments.
    fn comments(&mut self) -> &mut dyn CommentRepository;
}
