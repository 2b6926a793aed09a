//! Projects.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::SearchTerms;
use crate::UserId;

/// A project's id within its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProjectId(pub i64);

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A project's name: 1–200 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ProjectName(String);

/// Why a text is not a name or title.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty once trimmed.
    #[error("This field may not be blank.")]
    Blank,
    /// Longer than the limit.
    #[error("Ensure this field has no more than {0} characters.")]
    TooLong(usize),
    /// Holds a NUL character, which PostgreSQL text cannot store.
    #[error("Null characters are not allowed.")]
    Nul,
}

/// Trims (as DRF's `CharField` does, with Python's white space) and bounds
/// a one-line text.
pub(crate) fn bounded(input: &str, max: usize) -> Result<String, TextError> {
    let trimmed = crate::text::python_trim(input);
    one_line(trimmed, trimmed.is_empty(), max)
}

/// A one-line text as an earlier build stored it: checked as that build
/// checked it (not blank once Rust trims it, bounded, no NUL) and kept as
/// it is, so that a rule made stricter since (Python's white space) leaves
/// rows written before it readable.
pub(crate) fn stored(text: &str, max: usize) -> Result<String, TextError> {
    one_line(text, text.trim().is_empty(), max)
}

/// `text` if it is not `blank`, at most `max` characters and NUL-free.
fn one_line(text: &str, blank: bool, max: usize) -> Result<String, TextError> {
    if blank {
        return Err(TextError::Blank);
    }
    if text.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    if text.contains('\0') {
        return Err(TextError::Nul);
    }
    Ok(text.to_owned())
}

/// Checks free text (project and task descriptions): no NUL, at most `max`
/// characters. Comments have their own, shorter limit ([`CommentBody`](crate::CommentBody)).
pub fn free_text(input: &str, max: usize) -> Result<String, TextError> {
    free_text_fits(input, max)?;
    Ok(input.to_owned())
}

fn free_text_fits(input: &str, max: usize) -> Result<(), TextError> {
    if input.contains('\0') {
        return Err(TextError::Nul);
    }
    if input.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    Ok(())
}

/// Longest project or task description accepted, in characters.
pub const MAX_TEXT: usize = 100_000;

/// A project's or task's description: free text, which may be empty,
/// without NUL (PostgreSQL's text cannot hold one) and at most [`MAX_TEXT`]
/// characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Description(String);

impl Description {
    /// Checks a description.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        Self::new(input.to_owned())
    }

    /// Checks a description, keeping the text it is given.
    pub fn new(text: String) -> Result<Self, TextError> {
        free_text_fits(&text, MAX_TEXT)?;
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl ProjectName {
    /// Longest name.
    pub const MAX: usize = 200;

    /// Trims and checks a name.
    pub fn parse(input: &str) -> Result<Self, TextError> {
        bounded(input, Self::MAX).map(Self)
    }

    /// A name as stored: checked only as every build checked it, so a name
    /// an earlier build took stays readable when input rules tighten.
    pub fn from_stored(text: &str) -> Result<Self, TextError> {
        stored(text, Self::MAX).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a project is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProjectStatus {
    /// In use.
    Active,
    /// Kept for the record.
    Archived,
}

impl ProjectStatus {
    /// Every status.
    pub const ALL: [ProjectStatus; 2] = [ProjectStatus::Active, ProjectStatus::Archived];

    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Active => "active",
            ProjectStatus::Archived => "archived",
        }
    }
}

/// The text is not a valid choice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a valid choice.")]
pub struct InvalidChoice(pub String);

impl FromStr for ProjectStatus {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(ProjectStatus::Active),
            "archived" => Ok(ProjectStatus::Archived),
            other => Err(InvalidChoice(other.to_owned())),
        }
    }
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Id.
    pub id: ProjectId,
    /// Name.
    pub name: ProjectName,
    /// Free text.
    pub description: Description,
    /// Active or archived.
    pub status: ProjectStatus,
    /// Who owns it (its creator).
    pub owner_id: UserId,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag`.
    pub version: i64,
}

/// The writable fields of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFields {
    /// Name.
    pub name: ProjectName,
    /// Description.
    pub description: Description,
    /// Status.
    pub status: ProjectStatus,
}

impl Project {
    /// The writable fields as they are.
    pub fn fields(&self) -> ProjectFields {
        ProjectFields { name: self.name.clone(), description: self.description.clone(), status: self.status }
    }
}

/// How to narrow a project list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFilter {
    /// Only this status.
    pub status: Option<ProjectStatus>,
    /// Every term in the name or the description, any case.
    pub search: SearchTerms,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_may_be_empty_but_holds_no_nul_and_no_more_than_the_limit() {
        assert_eq!(Description::parse("").map(Description::into_string), Ok(String::new()));
        assert_eq!(Description::parse("  two\nlines  ").map(|d| d.as_str().to_owned()), Ok("  two\nlines  ".into()));
        assert_eq!(Description::parse("a\0b"), Err(TextError::Nul));
        assert_eq!(Description::new("é".repeat(MAX_TEXT + 1)), Err(TextError::TooLong(MAX_TEXT)));
        assert!(Description::new("é".repeat(MAX_TEXT)).is_ok());
    }

    /// DRF's `CharField` trims with Python's `str.strip()`, whose white
    /// space holds the separators `\x1c`–`\x1f` too: such a name is blank.
    #[test]
    fn a_name_is_trimmed_as_drf_trims_it() {
        assert_eq!(ProjectName::parse("\u{1f}"), Err(TextError::Blank));
        assert_eq!(ProjectName::parse(" \u{1c}\u{a0}\t"), Err(TextError::Blank));
        assert_eq!(ProjectName::parse("\u{1d}Launch\u{2003}").map(|n| n.as_str().to_owned()), Ok("Launch".into()));
        assert_eq!(crate::CommentBody::parse("\u{1e}\n"), Err(TextError::Blank));
    }
}
