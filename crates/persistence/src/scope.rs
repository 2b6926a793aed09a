//! Transactions, and the tenant scope: the only way tenant tables are
//! reached.
//!
//! A tenant scope is one transaction whose first round trip is
//! `BEGIN; SELECT public.tf_enter_tenant(<id>, 'tenant_x')`, which sets the
//! path with `set_config('search_path', 'tenant_x', true)` only if the
//! tenant row that owns the schema is still the tenant the work is for,
//! under a shared lock on the tenant that its deletion takes exclusively
//! (see [`Scope::Tenant`]). The path is
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
use taskforce_domain::{SchemaName, StoreError, TenantId};

use crate::error::{begin_error, store_error};

/// What the error of a tenant scope whose tenant is gone begins with
/// (`tf_enter_tenant` raises it; [`crate::error::begin_error`] knows it).
pub(crate) const TENANT_GONE: &str = "taskforce.tenant_gone";

/// What the error of a tenant scope whose tenant is being deleted begins
/// with (likewise).
pub(crate) const TENANT_BUSY: &str = "taskforce.tenant_busy";

/// The advisory-lock class of tenants (`tfte`, beside `tfmg`, `tfsp` and
/// `tfus`): a tenant scope holds its tenant's lock shared (in
/// `tf_enter_tenant`, which writes this number out), a deletion
/// exclusively.
pub(crate) const TENANT_LOCKS: i32 = 0x7466_7465;

/// The tenant's advisory lock key within [`TENANT_LOCKS`] (two ids 2³¹
/// apart share one, which only makes one wait for the other's deletion;
/// `tf_enter_tenant` takes the same bits).
pub(crate) fn tenant_lock_key(tenant: TenantId) -> i32 {
    i32::try_from(tenant.0 & 0x7fff_ffff).unwrap_or_default()
}

/// Where a transaction's unqualified table names resolve.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Nowhere: only the schema-qualified shared tables are reachable.
    Platform,
    /// In a schema whatever owns it: one being built or migrated, or a
    /// spare (shared tables stay reachable, qualified).
    Schema(&'a SchemaName),
    /// In the schema of a tenant that still owns it. In the same round trip
    /// as `BEGIN`, `tf_enter_tenant` sets the `search_path` only if the
    /// tenant row of this id names this schema and the tenant's advisory
    /// lock could be taken shared without waiting. Otherwise the transaction
    /// fails at once, before any of the work: as
    /// [`StoreError::TenantGone`] when the row is gone (a tenant held in a
    /// cache may have been deleted since and its schema name taken by a new
    /// tenant of the same slug, whose tables the old tenant's members would
    /// otherwise reach), as [`StoreError::Unavailable`] while a deletion
    /// holds or waits for the lock. A deletion takes the lock exclusively
    /// before it touches anything, so it waits for the work under way
    /// (which never sees its tables go, nor deadlocks with it); work that
    /// begins meanwhile is refused at once rather than holding a pooled
    /// connection while it waits.
    Tenant(TenantId, &'a SchemaName),
    /// The same, read-only, on one snapshot of the database
    /// (`REPEATABLE READ`: every statement sees what had committed before
    /// the first one, and the first is `tf_enter_tenant`'s).
    Snapshot(TenantId, &'a SchemaName),
}

impl Scope<'_> {
    fn begin_sql(&self) -> String {
        match self {
            Scope::Platform => "BEGIN".to_owned(),
            Scope::Schema(schema) => format!(
                "BEGIN; SELECT pg_catalog.set_config('search_path', '{}', true)",
                schema.quoted().replace('\'', "''")
            ),
            Scope::Tenant(tenant, schema) => format!("BEGIN; {}", owned_path(*tenant, schema)),
            Scope::Snapshot(tenant, schema) => {
                format!("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; {}", owned_path(*tenant, schema))
            }
        }
    }
}

/// `public.tf_enter_tenant` (a migration of the shared schema): in one
/// statement, sets the `search_path` to `schema` if the tenant `tenant`
/// owns it and its lock could be taken shared (no deletion holds or waits
/// for it); else fails naming [`TENANT_BUSY`] or [`TENANT_GONE`]. A
/// function, so that PostgreSQL keeps the plan of its check for the
/// session: written out in the batch, the check was planned anew on every
/// request (simple-protocol statements are), which cost a third of the
/// list's throughput. One statement, not the lock and then the check: that
/// order (which closes the window below) cost the database alone about an
/// eighth of its list rate, one statement about a fiftieth. The window: a
/// deletion that commits between the statement's snapshot and its taking
/// of the lock (microseconds) leaves the tenant's row visible to the check
/// and its tables gone for the work, which then fails as a fault (`500`). The id is a number and the name a [`SchemaName`]
/// (`[a-z0-9_]` only), so both are written in; quotes are doubled all the
/// same.
fn owned_path(tenant: TenantId, schema: &SchemaName) -> String {
    format!("SELECT public.tf_enter_tenant({}, '{}')", tenant.0, schema.as_str().replace('\'', "''"))
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
    if let Err(error) = AnsiTransactionManager::begin_transaction_sql(conn, &scope.begin_sql()) {
        // `BEGIN` may have run before a later statement of the batch failed
        // (a tenant scope's check): the connection goes back to the pool
        // with no transaction open, as diesel believes it has none. (An
        // error diesel raised before sending anything, one transaction
        // inside another, leaves the outer one alone.)
        if matches!(error, diesel::result::Error::DatabaseError(..))
            && let Err(rollback) = conn.batch_execute("ROLLBACK")
        {
            tracing::warn!(error = %rollback, "rollback after a failed begin failed");
        }
        return Err(begin_error(error).into());
    }
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
