//! [`Slug`]: the URL-friendly, schema-safe identifier of a tenant.

use std::fmt;

use super::SchemaName;

/// Longest accepted slug, in characters (all of them ASCII, so also bytes).
pub const SLUG_MAX_LEN: usize = 50;

/// Names the platform keeps for itself, so that no tenant is mistaken for
/// it: its own hosts under the platform domain (`www.`, `api.`, `admin.`)
/// and `public`, the shared schema's name. Any slug starting with `pg_`, the
/// prefix of PostgreSQL's own schemas, is refused as well.
pub const RESERVED_SLUGS: [&str; 4] = ["public", "www", "api", "admin"];

/// A tenant's slug: 1–50 characters of `a-z`, `0-9`, `-` and `_`, starting with
/// a letter, not ending with `-` (every tenant gets the host
/// `<slug>.<platform domain>`, and no host name's label ends so), without
/// `--` as its third and fourth characters (RFC 5891 keeps such labels for
/// internationalised names: `xn--pypal-4ve.<platform>` would show in a
/// browser as a look-alike of another name), not reserved.
///
/// Upper-case input is lowered; anything else is refused with an error that
/// names the offending character. Every slug maps to exactly one
/// [`SchemaName`] (`tenant_` + slug with `-` turned into `_`); two slugs that
/// differ only by `-` versus `_` map to the same schema name and therefore
/// clash (see [`Slug::schema_name`]).
///
/// ```
/// use taskforce_domain::Slug;
///
/// let slug = Slug::parse("My-Team").unwrap();
/// assert_eq!(slug.as_str(), "my-team");
/// assert_eq!(slug.schema_name().as_str(), "tenant_my_team");
/// assert!(Slug::parse("pg_toast").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

/// Why a text is not a [`Slug`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// The text is empty.
    #[error("the slug is empty")]
    Empty,
    /// The text is longer than [`SLUG_MAX_LEN`] characters.
    #[error("the slug is {0} characters long; at most 50 are allowed")]
    TooLong(usize),
    /// The first character is not a letter.
    #[error("the slug must start with a letter, not {0:?}")]
    BadStart(char),
    /// The last character is `-`, which no host name's label ends with.
    #[error("the slug may not end with '-' (it could not be a host name's label)")]
    BadEnd,
    /// A character other than `a-z`, `0-9`, `-`, `_` appears.
    #[error("the slug may only hold a-z, 0-9, '-' and '_'; {0:?} is not allowed")]
    BadChar(char),
    /// The slug is one of [`RESERVED_SLUGS`] or starts with `pg_`.
    #[error("the slug {0:?} is reserved")]
    Reserved(String),
    /// The third and fourth characters are `--`, which host names keep
    /// for internationalised labels (`xn--…`).
    #[error(
        "the slug may not have '--' as its third and fourth characters (host names keep that for encoded names, xn--)"
    )]
    EncodedLabel,
}

impl Slug {
    /// Parses and normalises (lower-cases) a slug.
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        let slug = Self::checked(input)?;
        if slug.0.get(2..4) == Some("--") {
            return Err(SlugError::EncodedLabel);
        }
        Ok(slug)
    }

    /// A slug as stored: one an earlier build took before `--` in the
    /// third and fourth places was refused stays readable (and its tenant
    /// reachable, to rename or delete). Every other rule holds: they keep
    /// its schema name safe.
    pub fn from_stored(text: &str) -> Result<Self, SlugError> {
        Self::checked(text)
    }

    fn checked(input: &str) -> Result<Self, SlugError> {
        let lowered = input.to_ascii_lowercase();
        let count = lowered.chars().count();
        let first = lowered.chars().next().ok_or(SlugError::Empty)?;
        if count > SLUG_MAX_LEN {
            return Err(SlugError::TooLong(count));
        }
        if !first.is_ascii_lowercase() {
            return Err(SlugError::BadStart(first));
        }
        if let Some(bad) =
            lowered.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return Err(SlugError::BadChar(bad));
        }
        if lowered.ends_with('-') {
            return Err(SlugError::BadEnd);
        }
        if RESERVED_SLUGS.contains(&lowered.as_str()) || lowered.starts_with("pg_") {
            return Err(SlugError::Reserved(lowered));
        }
        Ok(Self(lowered))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The PostgreSQL schema that holds this tenant's data: `tenant_` + the slug
    /// with `-` turned into `_`. It never needs quoting, is at most 57 bytes
    /// (under PostgreSQL's 63-byte identifier limit) and never starts with `pg_`.
    pub fn schema_name(&self) -> SchemaName {
        SchemaName::from_slug(self)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowers_upper_case_and_keeps_dashes() {
        assert_eq!(Slug::parse("Acme-Corp_2").map(|s| s.0), Ok("acme-corp_2".into()));
    }

    #[test]
    fn refuses_what_the_rules_refuse_naming_the_character() {
        assert_eq!(Slug::parse(""), Err(SlugError::Empty));
        assert_eq!(Slug::parse("1abc"), Err(SlugError::BadStart('1')));
        assert_eq!(Slug::parse("-abc"), Err(SlugError::BadStart('-')));
        assert_eq!(Slug::parse("ab c"), Err(SlugError::BadChar(' ')));
        assert_eq!(Slug::parse("ab.c"), Err(SlugError::BadChar('.')));
        assert_eq!(Slug::parse("abé"), Err(SlugError::BadChar('é')));
        assert_eq!(Slug::parse("a\"b"), Err(SlugError::BadChar('"')));
        assert_eq!(Slug::parse(&"a".repeat(51)), Err(SlugError::TooLong(51)));
        // a label a browser would decode (`xn--`) and the rest of RFC 5891's reserved form
        for encoded in ["xn--pypal-4ve", "XN--abc", "ab--c"] {
            assert_eq!(Slug::parse(encoded), Err(SlugError::EncodedLabel), "{encoded}");
        }
        assert!(Slug::parse("abc--d").is_ok() && Slug::parse("a--b").is_ok());
        assert_eq!(Slug::from_stored("ab--c").map(|s| s.0), Ok("ab--c".into()), "stored before the rule");
        assert_eq!(Slug::parse("acme-"), Err(SlugError::BadEnd));
        assert_eq!(Slug::parse("a-"), Err(SlugError::BadEnd));
        assert!(Slug::parse("acme_").is_ok());
        assert!(Slug::parse(&"a".repeat(50)).is_ok());
        for reserved in ["public", "WWW", "api", "admin", "pg_catalog", "pg_"] {
            assert!(matches!(Slug::parse(reserved), Err(SlugError::Reserved(_))), "{reserved}");
        }
        assert!(Slug::parse("pgx").is_ok());
        assert!(Slug::parse("apis").is_ok());
    }

    #[test]
    fn error_messages_name_the_bad_character() {
        let message = Slug::parse("acme!").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("'!'"), "{message}");
    }
}
