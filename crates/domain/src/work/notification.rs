//! Notifications: what a member is told about changes made by others.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{InvalidChoice, TargetType};
use crate::UserId;

/// Why someone is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A task was assigned to them.
    TaskAssigned,
    /// A task they created or are assigned changed status.
    TaskStatusChanged,
    /// A comment was added to a task they created or are assigned.
    CommentAdded,
    /// They were `@mentioned` in a comment or task description.
    Mentioned,
    /// Someone accepted their invitation.
    InvitationAccepted,
}

impl NotificationKind {
    /// Every kind.
    pub const ALL: [NotificationKind; 5] = [
        NotificationKind::TaskAssigned,
        NotificationKind::TaskStatusChanged,
        NotificationKind::CommentAdded,
        NotificationKind::Mentioned,
        NotificationKind::InvitationAccepted,
    ];

    /// As stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            NotificationKind::TaskAssigned => "task_assigned",
            NotificationKind::TaskStatusChanged => "task_status_changed",
            NotificationKind::CommentAdded => "comment_added",
            NotificationKind::Mentioned => "mentioned",
            NotificationKind::InvitationAccepted => "invitation_accepted",
        }
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NotificationKind {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| InvalidChoice(s.to_owned()))
    }
}

/// A notification to write, in the same transaction as its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// Who is told.
    pub recipient: UserId,
    /// Why.
    pub kind: NotificationKind,
    /// Who caused it (never the recipient).
    pub actor: UserId,
    /// What it is about.
    pub target_type: TargetType,
    /// Its id.
    pub target_id: i64,
    /// Its project, if any.
    pub project_id: Option<i64>,
    /// A sentence for people.
    pub message: String,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Id: increasing, so a stream can resume after the last one it saw.
    pub id: i64,
    /// Who is told.
    pub recipient: UserId,
    /// Why.
    pub kind: NotificationKind,
    /// Who caused it.
    pub actor: UserId,
    /// What it is about.
    pub target_type: TargetType,
    /// Its id.
    pub target_id: i64,
    /// Its project, if any.
    pub project_id: Option<i64>,
    /// A sentence for people.
    pub message: String,
    /// When it was marked read.
    pub read_at: Option<DateTime<Utc>>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// The `@username`s a text mentions, in the NFKC form user names are kept
/// in ([`Username`](crate::Username)), lower-cased, without repeats, in order.
/// A mention is `@` at the start or after a character that cannot be in a
/// user name, followed by user-name characters; a trailing `.` or `-` is not
/// part of it ("thanks @bob." mentions `bob`).
pub fn mentions(text: &str) -> Vec<String> {
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_');
    // read in the form names are kept in (NFKC): a full-width name is the
    // plain one, and a letter with a combining accent one letter
    let chars: Vec<char> = icu_normalizer::ComposingNormalizerBorrowed::new_nfkc().normalize(text).chars().collect();
    let mut found: Vec<String> = Vec::new();
    // each name once, in a set: a text of thousands of mentions costs as
    // many steps, not their square
    let mut seen = std::collections::HashSet::new();
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i] == '@' && (i == 0 || !allowed(chars[i - 1]));
        if starts {
            let mut j = i + 1;
            while j < chars.len() && allowed(chars[j]) {
                j += 1;
            }
            let name: String = chars[i + 1..j].iter().collect();
            let name = name.trim_end_matches(['.', '-']).to_lowercase();
            if !name.is_empty() && name.chars().count() <= 150 && seen.insert(name.clone()) {
                found.push(name);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thousands of names are each found once, in their order, repeats
    /// dropped (16,000 distinct names took seconds when the names found
    /// were kept in a list and searched for each new one).
    #[test]
    fn thousands_of_mentions_are_each_found_once_in_order() {
        let names: Vec<String> = (0..16_000).map(|n| format!("u{n}")).collect();
        let text: String = names.iter().chain(names.iter()).map(|name| format!("@{name} ")).collect();
        assert_eq!(mentions(&text), names);
    }

    #[test]
    fn finds_mentions_and_ignores_addresses() {
        assert_eq!(mentions("ping @Bob and @ann_b, thanks @bob."), vec!["bob", "ann_b"]);
        assert_eq!(mentions("mail me at ann@example.com"), Vec::<String>::new());
        assert_eq!(mentions("@start middle@not (@paren) @"), vec!["start", "paren"]);
        assert_eq!(mentions("@zoë-"), vec!["zoë"]);
        // as names are kept: full-width is plain, a combining accent composed
        assert_eq!(mentions("@ａｄｍｉｎ and @Zoe\u{301}"), vec!["admin", "zoé"]);
    }
}
