//! [`StoreError`]: how every storage port reports failure.

use std::fmt;

/// Which uniqueness rule a write broke ([`StoreError::Duplicate`]). The
/// rules the use cases tell apart have a variant each, so that an adapter
/// reports them without the core knowing its constraint names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Unique {
    /// Another tenant has this slug.
    Slug,
    /// Another tenant's slug maps to the same schema name (`my-team` and
    /// `my_team`).
    SchemaName,
    /// A schema of the new tenant's name exists without a tenant.
    Schema,
    /// Another tenant (or this one) holds the host name.
    Domain,
    /// The tenant has a primary domain already.
    PrimaryDomain,
    /// An account has this user name, or has it as its e-mail address
    /// (whatever the case: login takes either).
    Username,
    /// An account has this e-mail address, or has it as its user name.
    Email,
    /// The user belongs to the tenant already.
    Membership,
    /// Any other rule, by the name the store gives it (for logs).
    Other(String),
}

impl fmt::Display for Unique {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unique::Slug => "the tenant's slug",
            Unique::SchemaName => "the tenant's schema name",
            Unique::Schema => "an existing schema",
            Unique::Domain => "the host name",
            Unique::PrimaryDomain => "the tenant's one primary domain",
            Unique::Username => "the user name",
            Unique::Email => "the e-mail address",
            Unique::Membership => "the membership",
            Unique::Other(name) => name,
        })
    }
}

/// A storage operation failed. Adapters translate their own errors into these
/// variants at the seam; nothing database-specific crosses into the core.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row the operation needs does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; carries which, so the caller can say
    /// what is taken.
    #[error("duplicate value: {0} is taken")]
    Duplicate(Unique),
    /// A row refers to another that does not exist: a task or comment
    /// written under a parent another transaction deleted since it was
    /// read, or an imported row naming no row of its table. Carries the
    /// store's own sentence, which names the reference.
    #[error("{0}")]
    MissingReference(String),
    /// Data handed over to be loaded as it stands (an import's rows) that
    /// the store refused: a row that is no object, a key that is no column,
    /// a column missing, a value of the wrong type, a rule of the table
    /// broken. Carries the row (its place among the rows handed over, from
    /// 1, where one row is to blame) and why, for the operator.
    #[error("{}{reason}", row.map(|n| format!("row {n}: ")).unwrap_or_default())]
    Refused {
        /// The row's place among those handed over, from 1.
        row: Option<u64>,
        /// Why, naming the row's id where it has one.
        reason: String,
    },
    /// The store cannot be reached right now (connection refused, pool
    /// exhausted, server shutting down). Retrying later may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A statement ran longer than the configured timeout.
    #[error("storage timed out")]
    Timeout,
    /// The tenant a unit of work was for is gone: deleted (its schema
    /// dropped) before the work could begin, perhaps with its schema name
    /// given to a new tenant since. None of the work ran. Carries the
    /// store's own account, for the log.
    #[error("the tenant is gone: {0}")]
    TenantGone(String),
    /// The unit of work stopped with its own error and everything it did was
    /// rolled back; [`StoreExt`](super::StoreExt) hands the caller that
    /// error instead. A caller sees this variant itself only when a store
    /// breaks the port's contract: it answered `Ok` without running the
    /// work, or ran the work twice (see [`Store`](super::Store)).
    #[error("the unit of work was aborted")]
    Aborted,
    /// Anything else, with its cause (shown in the message, not chained
    /// as a source as well, so `{:#}` does not print it twice). Never shown
    /// to API clients.
    #[error("storage failure: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any error as [`StoreError::Internal`].
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(error.into())
    }

    /// Whether this is [`StoreError::Duplicate`] of the rule.
    pub fn is_duplicate_of(&self, rule: &Unique) -> bool {
        matches!(self, Self::Duplicate(broken) if broken == rule)
    }
}
