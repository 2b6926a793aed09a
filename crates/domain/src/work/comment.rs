//! Comments on tasks.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{TaskId, TextError};
use crate::UserId;

/// A comment's id within its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommentId(pub i64);

impl fmt::Display for CommentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A comment's text: not blank, at most 10,000 characters, no NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CommentBody(String);

impl CommentBody {
    /// Longest body.
    pub const MAX: usize = 10_000;

    /// Checks a body (kept as written, not trimmed).
    pub fn parse(input: &str) -> Result<Self, TextError> {
        if crate::text::python_trim(input).is_empty() {
            return Err(TextError::Blank);
        }
        if input.chars().count() > Self::MAX {
            return Err(TextError::TooLong(Self::MAX));
        }
        if input.contains('\0') {
            return Err(TextError::Nul);
        }
        Ok(Self(input.to_owned()))
    }

    /// A body as stored: checked only as every build checked it (not blank
    /// once Rust trims it), so a body an earlier build took stays readable
    /// when input rules tighten.
    pub fn from_stored(text: &str) -> Result<Self, TextError> {
        super::project::stored(text, Self::MAX).map(Self)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Id.
    pub id: CommentId,
    /// The task.
    pub task_id: TaskId,
    /// Who wrote it.
    pub author_id: UserId,
    /// Text.
    pub body: CommentBody,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every edit; the `ETag`.
    pub version: i64,
}
