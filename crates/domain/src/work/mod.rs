//! The work inside a tenant: projects, tasks, comments and their activity.

mod activity;
mod comment;
mod project;
mod task;

pub use activity::{Activity, ActivityFilter, Changes, NewActivity, TargetType, Verb, record_change};
pub use comment::{Comment, CommentBody, CommentId};
pub use project::{
    InvalidChoice, MAX_TEXT, Project, ProjectFields, ProjectFilter, ProjectId, ProjectName, ProjectStatus, TextError,
    free_text,
};
pub use task::{Priority, Task, TaskFields, TaskFilter, TaskId, TaskOrderField, TaskOrdering, TaskStatus, TaskTitle};
