//! [`StoreError`]: how every storage port reports failure.

/// A storage operation failed. Adapters translate their own errors into these
/// variants at the seam; nothing database-specific crosses into the core.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row the operation needs does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; carries the rule's name (for example
    /// `domains_domain_key`) so the caller can tell which.
    #[error("duplicate value violates {0}")]
    Duplicate(String),
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
    /// The unit of work stopped with its own error and everything it did was
    /// rolled back; [`StoreExt`](super::StoreExt) hands the caller that
    /// error instead, so this variant is only seen between a store and
    /// `StoreExt`.
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

    /// Whether this is [`StoreError::Duplicate`] for the named constraint.
    pub fn is_duplicate_of(&self, constraint: &str) -> bool {
        matches!(self, Self::Duplicate(name) if name == constraint)
    }
}
