//! The work inside a tenant: projects, tasks, comments, attachments and
//! their activity.

mod activity;
mod attachment;
mod comment;
mod notification;
mod project;
mod report;
mod search;
mod task;

pub use activity::{Activity, ActivityFilter, Changes, NewActivity, TargetType, Verb, record_change};
pub use attachment::{Attachment, AttachmentId, ContentType, FileName, NewAttachment, StorageKey};
pub use comment::{Comment, CommentBody, CommentId};
pub use notification::{NewNotification, Notification, NotificationKind, mentions};
pub use project::{
    Description, InvalidChoice, MAX_TEXT, Project, ProjectFields, ProjectFilter, ProjectId, ProjectName, ProjectStatus,
    TextError, free_text,
};
pub use report::{CycleTime, ReportScope, Summary, WeekThroughput, Workload};
pub use search::{MAX_SEARCH_TERMS, SearchTerms, TooManyTerms};
pub use task::{Priority, Task, TaskFields, TaskFilter, TaskId, TaskOrderField, TaskOrdering, TaskStatus, TaskTitle};
