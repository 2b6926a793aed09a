//! The activity (audit) log of a tenant.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::UserId;

/// What happened to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    /// It was created.
    Created,
    /// It was changed.
    Updated,
    /// It was deleted.
    Deleted,
}

/// What kind of thing the activity is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    /// A project.
    Project,
    /// A task.
    Task,
    /// A comment.
    Comment,
    /// An attachment.
    Attachment,
    /// A membership.
    Membership,
}

impl Verb {
    /// Every verb.
    pub const ALL: [Verb; 3] = [Verb::Created, Verb::Updated, Verb::Deleted];

    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verb::Created => "created",
            Verb::Updated => "updated",
            Verb::Deleted => "deleted",
        }
    }
}

impl TargetType {
    /// Every kind.
    pub const ALL: [TargetType; 5] =
        [TargetType::Project, TargetType::Task, TargetType::Comment, TargetType::Attachment, TargetType::Membership];

    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            TargetType::Project => "project",
            TargetType::Task => "task",
            TargetType::Comment => "comment",
            TargetType::Attachment => "attachment",
            TargetType::Membership => "membership",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for TargetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{field: [old, new]}` for each changed field.
pub type Changes = serde_json::Map<String, serde_json::Value>;

/// Records `field: [old, new]` when the values differ. It never panics: a
/// value serde cannot write as JSON (a map with keys that are not strings)
/// is recorded as `null`.
pub fn record_change<T: Serialize + PartialEq>(changes: &mut Changes, field: &str, old: &T, new: &T) {
    if old != new {
        let json = |value: &T| serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        changes.insert(field.to_owned(), serde_json::Value::Array(vec![json(old), json(new)]));
    }
}

/// An activity to record, in the same transaction as the change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewActivity {
    /// Who acted.
    pub actor: UserId,
    /// What happened.
    pub verb: Verb,
    /// The kind of target.
    pub target_type: TargetType,
    /// The target's id.
    pub target_id: i64,
    /// The project it belongs to, if any.
    pub project_id: Option<i64>,
    /// What changed.
    pub changes: Changes,
}

/// A recorded activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Id (newest is highest).
    pub id: i64,
    /// Who acted.
    pub actor: UserId,
    /// What happened.
    pub verb: Verb,
    /// The kind of target.
    pub target_type: TargetType,
    /// The target's id.
    pub target_id: i64,
    /// The project it belongs to, if any.
    pub project_id: Option<i64>,
    /// What changed.
    pub changes: Changes,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// How to narrow the activity log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    /// Only this project's.
    pub project: Option<i64>,
    /// Only this actor's.
    pub actor: Option<UserId>,
    /// Only about this kind of target.
    pub target_type: Option<TargetType>,
}
