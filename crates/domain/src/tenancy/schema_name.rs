//! [`SchemaName`]: the PostgreSQL schema of one tenant.

use std::fmt;

use super::Slug;

/// Prefix of every tenant schema.
pub const SCHEMA_PREFIX: &str = "tenant_";

/// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
pub const PG_IDENTIFIER_MAX_BYTES: usize = 63;

/// The name of a tenant's PostgreSQL schema, such as `tenant_acme`.
///
/// Only `[a-z0-9_]`, starting with `tenant_`, at most 63 bytes: a name that
/// never needs quoting and cannot collide with `public` or `pg_*`. Built from a
/// [`Slug`] or read back from storage with [`SchemaName::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SchemaName(String);

/// Why a text is not a [`SchemaName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a tenant schema name (tenant_ followed by a-z, 0-9 and _, at most 63 bytes)")]
pub struct SchemaNameError(pub String);

impl SchemaName {
    pub(crate) fn from_slug(slug: &Slug) -> Self {
        Self(format!("{SCHEMA_PREFIX}{}", slug.as_str().replace('-', "_")))
    }

    /// Checks a stored schema name.
    pub fn parse(input: &str) -> Result<Self, SchemaNameError> {
        let rest = input.strip_prefix(SCHEMA_PREFIX);
        let valid = rest.is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }) && input.len() <= PG_IDENTIFIER_MAX_BYTES;
        if valid { Ok(Self(input.to_owned())) } else { Err(SchemaNameError(input.to_owned())) }
    }

    /// The schema name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted SQL identifier (`"tenant_acme"`). The quotes are
    /// redundant for names this type admits, and make any later change to the
    /// rules fail safe.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }
}

impl fmt::Display for SchemaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_only_tenant_schemas() {
        assert!(SchemaName::parse("tenant_acme").is_ok());
        for bad in ["public", "tenant_", "tenant_Acme", "tenant_a-b", "pg_tenant_a", "tenant_a\"b"] {
            assert!(SchemaName::parse(bad).is_err(), "{bad}");
        }
        assert!(SchemaName::parse(&format!("tenant_{}", "a".repeat(57))).is_err());
    }

    #[test]
    fn quoted_wraps_in_double_quotes() {
        assert_eq!(SchemaName("tenant_x".into()).quoted(), "\"tenant_x\"");
    }
}
