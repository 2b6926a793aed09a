//! Transactions, and the tenant scope: the only way tenant tables are
//! reached.
//!
//! A tenant scope is one transaction whose first round trip is
//! `BEGIN; SELECT set_config('search_path', '"tenant_x"', true)`. The path is
//! transaction-local (`SET LOCAL`), so whatever ends the transaction —
//! commit, error, panic — the connection goes back to the pool with its
//! fail-closed empty path, and the scheme works behind PgBouncer in
//! transaction mode. The schema name is a [`SchemaName`] read from the
//! tenant row, never request input; the type admits only `[a-z0-9_]`, and it
//! is quoted besides. Sending it with `BEGIN` in one simple-protocol batch
//! saves a round trip per request over binding it as a parameter (see
//! docs/adr/0003-tenant-scope.md).

use diesel::{
    PgConnection,
    connection::{AnsiTransactionManager, SimpleConnection, TransactionManager},
};
use taskforce_domain::{SchemaName, StoreError};

use crate::error::store_error;

/// Where a transaction's unqualified table names resolve.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Nowhere: only the schema-qualified shared tables are reachable.
    Platform,
    /// In one tenant's schema (shared tables stay reachable, qualified).
    Tenant(&'a SchemaName),
    /// The same, read-only, on one snapshot of the database
    /// (`REPEATABLE READ`: every statement sees what had committed before
    /// the first one).
    Snapshot(&'a SchemaName),
}

impl Scope<'_> {
    fn begin_sql(&self) -> String {
        match self {
            Scope::Platform => "BEGIN".to_owned(),
            Scope::Tenant(schema) => format!(
                "BEGIN; SELECT pg_catalog.set_config('search_path', '{}', true)",
                schema.quoted().replace('\'', "''")
            ),
            Scope::Snapshot(schema) => format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
                 SELECT pg_catalog.set_config('search_path', '{}', true)",
                schema.quoted().replace('\'', "''")
            ),
        }
    }
}

/// Runs `work` in one transaction in the given scope: commits on `Ok`, rolls
/// back on `Err`. On a panic the transaction stays open, so the pool sees a
/// broken connection and discards it instead of reusing it.
pub fn transaction<T, E>(
    conn: &mut PgConnection,
    scope: Scope<'_>,
    work: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<StoreError>,
{
    AnsiTransactionManager::begin_transaction_sql(conn, &scope.begin_sql()).map_err(store_error)?;
    match work(conn) {
        Ok(value) => {
            <AnsiTransactionManager as TransactionManager<PgConnection>>::commit_transaction(conn)
                .map_err(store_error)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) =
                <AnsiTransactionManager as TransactionManager<PgConnection>>::rollback_transaction(conn)
            {
                tracing::warn!(error = %rollback, "rollback failed; the connection will be discarded");
            }
            Err(error)
        }
    }
}

/// Runs `work` on a pooled connection outside any transaction (reads). A
/// statement that fails because the connection is gone may have failed while
/// being prepared, which diesel does not count against the connection (it
/// does for a failed execution, and a [`transaction`]'s `ROLLBACK` settles
/// it); the pool would then hand the dead connection out again and again.
/// So after a failure (whatever error the work turned it into) the
/// connection is probed: on a dead one the probe fails, diesel marks it
/// broken, and the pool drops it. Successful work costs nothing more.
pub(crate) fn outside_transaction<T, E>(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E> {
    let outcome = work(conn);
    if outcome.is_err() && conn.batch_execute("SELECT 1").is_err() {
        tracing::debug!("dropping a connection that failed a read and its probe");
    }
    outcome
}

/// How a [`transaction_if`]'s work ended without a value.
enum Unwound {
    /// It had nothing to do.
    Nothing,
    /// It failed.
    Failed(StoreError),
}

impl From<StoreError> for Unwound {
    fn from(error: StoreError) -> Self {
        Unwound::Failed(error)
    }
}

/// [`transaction`] for work that may find it has nothing to do: `Ok(None)`
/// rolls back, as an error does, and is passed on as `Ok(None)`.
pub(crate) fn transaction_if<T>(
    conn: &mut PgConnection,
    scope: Scope<'_>,
    work: impl FnOnce(&mut PgConnection) -> Result<Option<T>, StoreError>,
) -> Result<Option<T>, StoreError> {
    match transaction(conn, scope, |conn| work(conn)?.ok_or(Unwound::Nothing)) {
        Ok(value) => Ok(Some(value)),
        Err(Unwound::Nothing) => Ok(None),
        Err(Unwound::Failed(error)) => Err(error),
    }
}
