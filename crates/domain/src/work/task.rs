//! Tasks.

use std::{fmt, str::FromStr};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{Description, InvalidChoice, ProjectId, SearchTerms, TextError, project::bounded};
use crate::UserId;

/// A task's id within its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub i64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A task's title: 1–500 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TaskTitle(String);

impl TaskTitle {
    /// Longest title.
    pub const MAX: usize = 500;

    /// Trims and checks a title.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded(input, Self::MAX).map(Self)
    }

    /// A title as stored: checked only as every build checked it, so a
    /// title an earlier build took stays readable when input rules tighten.
    pub fn from_stored(text: &str) -> Result<Self, TextError> {
        super::project::stored(text, Self::MAX).map(Self)
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started (what a new task gets when none is given).
    #[default]
    Todo,
    /// Being worked on.
    InProgress,
    /// Waiting for review.
    InReview,
    /// Finished; `completed_at` is set.
    Done,
}

/// How urgent a task is; ordered low < medium < high < urgent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Low.
    Low,
    /// Medium (what a new task gets when none is given).
    #[default]
    Medium,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl TaskStatus {
    /// Every status.
    pub const ALL: [TaskStatus; 4] = [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::InReview, TaskStatus::Done];

    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::InReview => "in_review",
            TaskStatus::Done => "done",
        }
    }

    /// `completed_at` for a task that has this status after a change, given
    /// its status and `completed_at` before it (`None` for a new task): set
    /// to `now` when the task becomes done, kept while it stays done,
    /// cleared when it is reopened. Every write of a task's status goes
    /// through this rule, which the reports count on (a done task without
    /// the time it was done would count in no week's throughput).
    pub fn completed_at(
        self,
        before: Option<(TaskStatus, Option<DateTime<Utc>>)>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match (before, self) {
            (Some((TaskStatus::Done, Some(at))), TaskStatus::Done) => Some(at),
            (_, TaskStatus::Done) => Some(now),
            _ => None,
        }
    }
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Medium, Priority::High, Priority::Urgent];

    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

impl FromStr for TaskStatus {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| InvalidChoice(s.to_owned()))
    }
}

impl FromStr for Priority {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| InvalidChoice(s.to_owned()))
    }
}

/// A task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Id.
    pub id: TaskId,
    /// Its project.
    pub project_id: ProjectId,
    /// Title.
    pub title: TaskTitle,
    /// Free text.
    pub description: Description,
    /// Status.
    pub status: TaskStatus,
    /// Priority.
    pub priority: Priority,
    /// Who it is assigned to, a member of the tenant.
    pub assignee_id: Option<UserId>,
    /// When it is due.
    pub due_date: Option<NaiveDate>,
    /// Who created it.
    pub created_by: UserId,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When it became done; cleared when it is reopened.
    pub completed_at: Option<DateTime<Utc>>,
    /// Bumped by every change; the `ETag`.
    pub version: i64,
}

/// The writable fields of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFields {
    /// Title.
    pub title: TaskTitle,
    /// Description.
    pub description: Description,
    /// Status.
    pub status: TaskStatus,
    /// Priority.
    pub priority: Priority,
    /// Assignee.
    pub assignee_id: Option<UserId>,
    /// Due date.
    pub due_date: Option<NaiveDate>,
}

impl Task {
    /// The writable fields as they are.
    pub fn fields(&self) -> TaskFields {
        TaskFields {
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status,
            priority: self.priority,
            assignee_id: self.assignee_id,
            due_date: self.due_date,
        }
    }
}

/// What a task list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOrderField {
    /// Creation time.
    CreatedAt,
    /// Due date (tasks without one last).
    DueDate,
    /// Priority rank (low < medium < high < urgent).
    Priority,
    /// Last change.
    UpdatedAt,
}

/// A sort order: field and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskOrdering {
    /// The field.
    pub field: TaskOrderField,
    /// Whether descending.
    pub descending: bool,
}

impl Default for TaskOrdering {
    fn default() -> Self {
        Self { field: TaskOrderField::CreatedAt, descending: true }
    }
}

impl FromStr for TaskOrdering {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, s),
        };
        let field = match name {
            "created_at" => TaskOrderField::CreatedAt,
            "due_date" => TaskOrderField::DueDate,
            "priority" => TaskOrderField::Priority,
            "updated_at" => TaskOrderField::UpdatedAt,
            _ => return Err(InvalidChoice(s.to_owned())),
        };
        Ok(Self { field, descending })
    }
}

/// How to narrow and sort a task list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only this status.
    pub status: Option<TaskStatus>,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only tasks assigned to this user.
    pub assignee: Option<UserId>,
    /// Only tasks due before this date.
    pub due_before: Option<NaiveDate>,
    /// Only tasks past their due date and not done, as of this date (UTC).
    pub overdue_as_of: Option<NaiveDate>,
    /// Every term in the title or the description, any case.
    pub search: SearchTerms,
    /// Sort order.
    pub ordering: TaskOrdering,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn completed_at_is_set_on_done_kept_while_done_and_cleared_on_reopening() {
        let (then, now) = (Utc.timestamp_opt(1_000, 0).unwrap(), Utc.timestamp_opt(2_000, 0).unwrap());
        assert_eq!(TaskStatus::Done.completed_at(None, now), Some(now));
        assert_eq!(TaskStatus::Todo.completed_at(None, now), None);
        assert_eq!(TaskStatus::Done.completed_at(Some((TaskStatus::InReview, None)), now), Some(now));
        assert_eq!(TaskStatus::Done.completed_at(Some((TaskStatus::Done, Some(then))), now), Some(then));
        // a done task that somehow lacks the time gets one
        assert_eq!(TaskStatus::Done.completed_at(Some((TaskStatus::Done, None)), now), Some(now));
        for reopened in [TaskStatus::Todo, TaskStatus::InProgress, TaskStatus::InReview] {
            assert_eq!(reopened.completed_at(Some((TaskStatus::Done, Some(then))), now), None);
        }
        assert_eq!((TaskStatus::default(), Priority::default()), (TaskStatus::Todo, Priority::Medium));
    }
}
