//! Entity tags and `If-Match`.

/// A strong entity tag of one object version, as the `ETag` header carries it.
pub type ETag = String;

/// The entity tag of `kind` `id` at `version`, quoted: `"task-12-v3"`.
pub fn etag(kind: &str, id: i64, version: i64) -> ETag {
    format!("\"{kind}-{id}-v{version}\"")
}

/// A parsed `If-Match` (or `If-None-Match`) header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version.
    Any,
    /// One or more entity tags (weak ones never match strongly).
    Tags(Vec<String>),
}

impl IfMatch {
    /// Parses the header value.
    pub fn parse(header: &str) -> Self {
        if header.trim() == "*" {
            return IfMatch::Any;
        }
        IfMatch::Tags(header.split(',').map(|tag| tag.trim().to_owned()).filter(|tag| !tag.is_empty()).collect())
    }

    /// Whether a write may go ahead on the version tagged `current`: with
    /// no `If-Match`, always; with one, when it matches (strong comparison).
    pub fn holds(condition: Option<&IfMatch>, current: &str) -> bool {
        condition.is_none_or(|condition| condition.matches(current))
    }

    /// Whether the current tag matches (strong comparison).
    pub fn matches(&self, current: &str) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Tags(tags) => tags.iter().any(|tag| !tag.starts_with("W/") && tag == current),
        }
    }

    /// Whether the current tag matches (weak comparison, for If-None-Match).
    pub fn matches_weakly(&self, current: &str) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Tags(tags) => tags.iter().any(|tag| tag.trim_start_matches("W/") == current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strong_and_weak_comparison() {
        let current = etag("task", 12, 3);
        assert_eq!(current, "\"task-12-v3\"");
        assert!(IfMatch::parse("\"task-12-v3\"").matches(&current));
        assert!(IfMatch::parse("\"x\", \"task-12-v3\"").matches(&current));
        assert!(!IfMatch::parse("\"task-12-v2\"").matches(&current));
        assert!(!IfMatch::parse("W/\"task-12-v3\"").matches(&current));
        assert!(IfMatch::parse("W/\"task-12-v3\"").matches_weakly(&current));
        assert!(IfMatch::parse("*").matches(&current));
    }
}
