//! Row structs of each tenant schema's tables, converted explicitly to the
//! domain's types.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{AsChangeset, Insertable, Queryable, Selectable};
use taskforce_domain::{
    Activity, Attachment, AttachmentId, Comment, CommentBody, CommentId, ContentType, Description, FileName, Project,
    ProjectId, ProjectName, StorageKey, StoreError, TargetType, Task, TaskId, TaskTitle, UserId, Verb,
};

use crate::schema::{activity, attachments, comments, projects, tasks};

fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::internal(format!("stored {what} is invalid: {error}"))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub status: String,
    pub owner_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<ProjectRow> for Project {
    type Error = StoreError;

    fn try_from(row: ProjectRow) -> Result<Self, Self::Error> {
        Ok(Project {
            id: ProjectId(row.id),
            name: ProjectName::from_stored(&row.name).map_err(|e| corrupt("project name", e))?,
            description: Description::new(row.description).map_err(|e| corrupt("description", e))?,
            status: row.status.parse().map_err(|e| corrupt("project status", e))?,
            owner_id: UserId(row.owner_id),
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = projects)]
pub(crate) struct ProjectValues<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub status: &'a str,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TaskRow {
    pub id: i64,
    pub project_id: i64,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: String,
    pub assignee_id: Option<i64>,
    pub due_date: Option<NaiveDate>,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl TryFrom<TaskRow> for Task {
    type Error = StoreError;

    fn try_from(row: TaskRow) -> Result<Self, Self::Error> {
        Ok(Task {
            id: TaskId(row.id),
            project_id: ProjectId(row.project_id),
            title: TaskTitle::from_stored(&row.title).map_err(|e| corrupt("task title", e))?,
            description: Description::new(row.description).map_err(|e| corrupt("description", e))?,
            status: row.status.parse().map_err(|e| corrupt("task status", e))?,
            priority: row.priority.parse().map_err(|e| corrupt("task priority", e))?,
            assignee_id: row.assignee_id.map(UserId),
            due_date: row.due_date,
            created_by: UserId(row.created_by),
            created_at: row.created_at,
            updated_at: row.updated_at,
            completed_at: row.completed_at,
            version: row.version,
        })
    }
}

/// A task's writable columns. `None` is written as NULL, never as
/// `DEFAULT`: the insert's SQL is then the same for every task, so it stays
/// in the prepared-statement cache (diesel does not cache an insert that
/// may say `DEFAULT`).
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = tasks, treat_none_as_null = true, treat_none_as_default_value = false)]
pub(crate) struct TaskValues<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub status: &'a str,
    pub priority: &'a str,
    pub assignee_id: Option<i64>,
    pub due_date: Option<NaiveDate>,
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = comments, check_for_backend(diesel::pg::Pg))]
pub(crate) struct CommentRow {
    pub id: i64,
    pub task_id: i64,
    pub author_id: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl TryFrom<CommentRow> for Comment {
    type Error = StoreError;

    fn try_from(row: CommentRow) -> Result<Self, Self::Error> {
        Ok(Comment {
            id: CommentId(row.id),
            task_id: TaskId(row.task_id),
            author_id: UserId(row.author_id),
            body: CommentBody::from_stored(&row.body).map_err(|e| corrupt("comment", e))?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = activity, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ActivityRow {
    pub id: i64,
    pub actor_id: i64,
    pub verb: String,
    pub target_type: String,
    pub target_id: i64,
    pub project_id: Option<i64>,
    pub changes: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<ActivityRow> for Activity {
    type Error = StoreError;

    fn try_from(row: ActivityRow) -> Result<Self, Self::Error> {
        let verb = match row.verb.as_str() {
            "created" => Verb::Created,
            "updated" => Verb::Updated,
            "deleted" => Verb::Deleted,
            other => return Err(corrupt("verb", other)),
        };
        Ok(Activity {
            id: row.id,
            actor: UserId(row.actor_id),
            verb,
            target_type: TargetType::parse(&row.target_type).ok_or_else(|| corrupt("target type", &row.target_type))?,
            target_id: row.target_id,
            project_id: row.project_id,
            changes: match row.changes {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            },
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = crate::schema::notifications, check_for_backend(diesel::pg::Pg))]
pub(crate) struct NotificationRow {
    pub id: i64,
    pub recipient_id: i64,
    pub kind: String,
    pub actor_id: i64,
    pub target_type: String,
    pub target_id: i64,
    pub project_id: Option<i64>,
    pub message: String,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<NotificationRow> for taskforce_domain::Notification {
    type Error = StoreError;

    fn try_from(row: NotificationRow) -> Result<Self, Self::Error> {
        Ok(taskforce_domain::Notification {
            id: row.id,
            recipient: UserId(row.recipient_id),
            kind: row.kind.parse().map_err(|e| corrupt("notification kind", e))?,
            actor: UserId(row.actor_id),
            target_type: TargetType::parse(&row.target_type).ok_or_else(|| corrupt("target type", &row.target_type))?,
            target_id: row.target_id,
            project_id: row.project_id,
            message: row.message,
            read_at: row.read_at,
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = attachments, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AttachmentRow {
    pub id: i64,
    pub task_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub storage_key: String,
    pub uploaded_by: i64,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<AttachmentRow> for Attachment {
    type Error = StoreError;

    fn try_from(row: AttachmentRow) -> Result<Self, Self::Error> {
        Ok(Attachment {
            id: AttachmentId(row.id),
            task_id: TaskId(row.task_id),
            filename: FileName::from_stored(&row.filename),
            content_type: ContentType::parse(&row.content_type)
                .ok_or_else(|| corrupt("content type", &row.content_type))?,
            size: u64::try_from(row.size).map_err(|e| corrupt("size", e))?,
            storage_key: StorageKey::parse(&row.storage_key).ok_or_else(|| corrupt("storage key", &row.storage_key))?,
            uploaded_by: UserId(row.uploaded_by),
            created_at: row.created_at,
        })
    }
}
