//! Ports over one tenant's schema.

use chrono::{DateTime, Utc};

use super::{PlatformTx, StoreError};
use crate::{
    Activity, ActivityFilter, Attachment, AttachmentId, Comment, CommentBody, CommentId, CycleTime, NewActivity,
    NewNotification, Notification, Project, ProjectFields, ProjectFilter, ProjectId, ReportScope, Summary, Task,
    TaskFields, TaskFilter, TaskId, TenantId, UserId, WeekThroughput, Workload,
    work::{NewAttachment, StorageKey},
};

/// The tables of a tenant's schema, parents before children: what an
/// export carries, in this order.
pub const TENANT_TABLES: [&str; 6] = ["projects", "tasks", "comments", "attachments", "activity", "notifications"];

/// What [`TenantDataRepository::dump_chunks`] hands over, in this order for
/// each table: its name, its rows a chunk at a time, then how many there
/// were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpEvent<'a> {
    /// The next table (`projects`, `tasks`, …).
    Table(&'a str),
    /// Its next rows, ordered by id, each a JSON object's text (column
    /// names as keys).
    Rows(&'a [String]),
    /// The table is done: how many rows it had.
    Done(u64),
}

/// The JSON type a column's values have in a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// Text, dates and times.
    String,
    /// Integers.
    Number,
    /// Flags.
    Boolean,
}

impl JsonKind {
    /// Its name in JSON's terms (`string`, `number`, `boolean`).
    pub fn as_str(self) -> &'static str {
        match self {
            JsonKind::String => "string",
            JsonKind::Number => "number",
            JsonKind::Boolean => "boolean",
        }
    }
}

/// A column of a tenant table, as a load checks rows against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableColumn {
    /// Its name, the rows' key.
    pub name: String,
    /// Computed by the database: a dump writes it, a load leaves it out.
    pub generated: bool,
    /// The JSON type of its values (`null` aside); `None` takes any.
    pub json: Option<JsonKind>,
    /// A date or a time, written as a dump writes it.
    pub dated: bool,
}

/// Every table of a tenant's schema as data, and back (backup, restore,
/// moving a tenant).
pub trait TenantDataRepository {
    /// Every tenant table's rows, in an order that can be loaded back,
    /// handed to `each` at most `chunk` rows at a time, so that a tenant of
    /// any size is exported in bounded memory. An error from `each` ends the
    /// dump and is returned.
    fn dump_chunks(
        &mut self,
        chunk: usize,
        each: &mut dyn FnMut(DumpEvent<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Every user id the rows hold (owners, assignees, authors, actors,
    /// recipients) that may be an account's (above 0), in order.
    fn user_ids(&mut self) -> Result<Vec<UserId>, StoreError>;

    /// The columns of `table` (one of [`TENANT_TABLES`]), in order: what a
    /// load checks each row against before handing it over.
    fn columns(&mut self, table: &str) -> Result<Vec<TableColumn>, StoreError>;

    /// Loads rows of `table` (a JSON array of objects, as dumped) into
    /// this new schema, keeping their ids: how many. The rows must have
    /// been checked against [`columns`](Self::columns) first: a key that is
    /// no column may be dropped, a missing one loaded as `NULL`. Parents come before
    /// children, as a dump hands them over; an unknown table is refused.
    fn load_rows(&mut self, table: &str, rows: &str) -> Result<u64, StoreError>;

    /// Ends a load: identity counters continue after the loaded ids, and
    /// the user ids the rows hold change from each pair's first to its
    /// second (accounts have other ids in another database). An id no pair
    /// names (0, the operator, aside) becomes [`UserId::UNKNOWN`] (no one,
    /// for an assignee), or stays as it is with `keep_unmatched` (a backup
    /// restored into the database it came from).
    fn finish_load(&mut self, users: &[(UserId, UserId)], keep_unmatched: bool) -> Result<(), StoreError>;
}

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
    /// The project with this id, locked until the transaction ends, so
    /// that an update based on it cannot lose a concurrent one.
    fn lock(&mut self, id: ProjectId) -> Result<Option<Project>, StoreError>;
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
    /// The task with this id, locked until the transaction ends, so
    /// that an update based on it cannot lose a concurrent one.
    fn lock(&mut self, id: TaskId) -> Result<Option<Task>, StoreError>;
    /// Locks every task of a project until the transaction ends (in id
    /// order): a comment or attachment being added to one of them is either
    /// committed first or waits, and then finds its task gone.
    fn lock_of_project(&mut self, project: ProjectId) -> Result<(), StoreError>;
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
    /// The comment with this id, locked until the transaction ends, so
    /// that an update based on it cannot lose a concurrent one.
    fn lock(&mut self, id: CommentId) -> Result<Option<Comment>, StoreError>;
    /// One page of a task's comments (oldest first) and the total count.
    fn page(&mut self, task: TaskId, offset: u64, limit: u64) -> Result<(Vec<Comment>, u64), StoreError>;
    /// Rewrites the body if the version is still `version`.
    fn update(&mut self, id: CommentId, version: i64, body: &CommentBody) -> Result<Option<Comment>, StoreError>;
    /// Deletes the comment; whether it existed.
    fn delete(&mut self, id: CommentId) -> Result<bool, StoreError>;
}

/// Attachments' metadata (the bytes are in the [`FileStore`](crate::FileStore)).
pub trait AttachmentRepository {
    /// Records an attachment whose bytes are stored.
    fn insert(&mut self, attachment: &NewAttachment) -> Result<Attachment, StoreError>;
    /// The attachment with this id.
    fn get(&mut self, id: AttachmentId) -> Result<Option<Attachment>, StoreError>;
    /// One page of a task's attachments (oldest first) and the total count.
    fn page(&mut self, task: TaskId, offset: u64, limit: u64) -> Result<(Vec<Attachment>, u64), StoreError>;
    /// Deletes the record; whether it existed.
    fn delete(&mut self, id: AttachmentId) -> Result<bool, StoreError>;
    /// Where the bytes of a task's attachments are (before deleting it).
    fn keys_of_task(&mut self, task: TaskId) -> Result<Vec<StorageKey>, StoreError>;
    /// Where the bytes of a project's attachments are (before deleting it).
    fn keys_of_project(&mut self, project: ProjectId) -> Result<Vec<StorageKey>, StoreError>;
}

/// Notifications of the tenant's members.
pub trait NotificationRepository {
    /// Stores several in one statement, in order (their ids increase in
    /// that order).
    fn insert(&mut self, notifications: &[NewNotification]) -> Result<Vec<Notification>, StoreError>;
    /// One page of a member's notifications, newest first (only unread ones
    /// when asked), and the total count.
    fn page(
        &mut self,
        recipient: UserId,
        unread_only: bool,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Notification>, u64), StoreError>;
    /// A member's notifications with an id above `after`, oldest first, at
    /// most `limit` (a stream resuming).
    fn after(&mut self, recipient: UserId, after: i64, limit: u64) -> Result<Vec<Notification>, StoreError>;
    /// Marks one read (keeping the first time); `None` when it is not the member's.
    fn mark_read(&mut self, recipient: UserId, id: i64, at: DateTime<Utc>) -> Result<Option<Notification>, StoreError>;
    /// Marks all of a member's unread ones read; how many.
    fn mark_all_read(&mut self, recipient: UserId, at: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Reports, computed by the database.
pub trait ReportRepository {
    /// Counts of projects, tasks (by status, priority, due state) and
    /// members, as of `today` (UTC).
    fn summary(
        &mut self,
        tenant: TenantId,
        scope: ReportScope,
        today: chrono::NaiveDate,
    ) -> Result<Summary, StoreError>;
    /// Tasks created and completed per week for the `weeks` weeks ending
    /// with the week of `today`, oldest first, empty weeks included.
    fn throughput(
        &mut self,
        scope: ReportScope,
        weeks: u32,
        today: chrono::NaiveDate,
    ) -> Result<Vec<WeekThroughput>, StoreError>;
    /// Each member's open, overdue and recently completed tasks.
    fn workload(&mut self, tenant: TenantId, today: chrono::NaiveDate) -> Result<Vec<Workload>, StoreError>;
    /// Creation-to-completion times of done tasks.
    fn cycle_time(&mut self, scope: ReportScope) -> Result<CycleTime, StoreError>;
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
    /// Attachments' metadata.
    fn attachments(&mut self) -> &mut dyn AttachmentRepository;
    /// The whole schema as data.
    fn data(&mut self) -> &mut dyn TenantDataRepository;
    /// Reports.
    fn reports(&mut self) -> &mut dyn ReportRepository;
    /// Notifications.
    fn notifications(&mut self) -> &mut dyn NotificationRepository;
}
