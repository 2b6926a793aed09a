//! Migrations of the shared schema and of every tenant schema.
//!
//! Tenant migrations run inside the tenant's scope, so each schema keeps its
//! own `__diesel_schema_migrations`. In the same transaction the tenant row's
//! `schema_version` is set to the newest applied version: `migrate` finds the
//! schemas with work to do in one query (a no-op over 10,000 tenants opens no
//! transaction per schema), and request handling can refuse a schema that
//! is behind the code instead of serving wrong data.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use diesel::{
    BoolExpressionMethods, ExpressionMethods, PgConnection, QueryDsl, RunQueryDsl,
    connection::SimpleConnection,
    migration::{self, Migration, MigrationSource},
    pg::Pg,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use taskforce_domain::{SchemaName, StoreError, TenantId};

use crate::{
    PgPool, PoolSettings,
    error::{pool_error, store_error},
    pool::Session,
    schema::tenants,
    scope::{Scope, transaction},
};

/// The shared schema's migrations, compiled into the binary.
pub const PUBLIC_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/public");
/// Every tenant schema's migrations, compiled into the binary.
pub const TENANT_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/tenant");

/// How many schemas a job of [`TenantMigrator::migrate_all_on_fresh_connections`]
/// migrates over one connection before opening another.
pub const SCHEMAS_PER_CONNECTION: usize = 250;

/// Advisory-lock class for migrations ("tfmg"); the object id is the tenant
/// id, 0 for the shared schema.
const LOCK_CLASS: i32 = 0x7466_6d67;

/// A migration run failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database could not be reached or a statement failed outside the
    /// migrations themselves.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A migration's SQL failed; its transaction was rolled back.
    #[error("{0}")]
    Migration(String),
    /// The migration source itself could not be read.
    #[error("cannot read migrations: {0}")]
    Source(String),
}

/// A failed migration is an internal error of the store that ran it.
impl From<MigrateError> for StoreError {
    fn from(error: MigrateError) -> Self {
        match error {
            MigrateError::Store(store) => store,
            other => StoreError::internal(other.to_string()),
        }
    }
}

/// Applies the shared schema's pending migrations, under an advisory lock so
/// that concurrent deploys take turns. Returns the versions applied.
pub fn migrate_shared(conn: &mut PgConnection) -> Result<Vec<String>, MigrateError> {
    transaction(conn, Scope::Platform, |conn| {
        conn.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({LOCK_CLASS}, 0); \
             SELECT pg_catalog.set_config('search_path', 'public', true); SET LOCAL statement_timeout = 0"
        ))
        .map_err(store_error)?;
        let applied =
            conn.run_pending_migrations(PUBLIC_MIGRATIONS).map_err(|e| MigrateError::Migration(e.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
}

/// The shared schema's migrations not applied yet (all of them on a
/// database never migrated), without changing anything: a server that does
/// not migrate at start refuses to run on a shared schema older than itself.
pub fn shared_pending(conn: &mut PgConnection) -> Result<Vec<String>, MigrateError> {
    use diesel::{dsl::sql, sql_types::Bool};

    #[derive(diesel::QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    let known =
        MigrationSource::<Pg>::migrations(&PUBLIC_MIGRATIONS).map_err(|e| MigrateError::Migration(e.to_string()))?;
    let recorded: bool = diesel::select(sql::<Bool>("to_regclass('public.__diesel_schema_migrations') IS NOT NULL"))
        .get_result(conn)
        .map_err(store_error)?;
    let applied: Vec<String> = if recorded {
        diesel::sql_query("SELECT version::text AS version FROM public.__diesel_schema_migrations")
            .load::<Applied>(conn)
            .map_err(store_error)?
            .into_iter()
            .map(|row| row.version)
            .collect()
    } else {
        Vec::new()
    };
    Ok(known
        .iter()
        .map(|migration| migration.name().version().to_string())
        .filter(|version| !applied.contains(version))
        .collect())
}

/// A tenant schema to migrate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantTarget {
    /// The tenant's id.
    pub id: TenantId,
    /// Its slug, for reports.
    pub slug: String,
    /// Its schema.
    pub schema: SchemaName,
    /// The version recorded on its row before the run.
    pub version: Option<String>,
}

/// What happened during [`TenantMigrator::migrate_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationEvent {
    /// This many schemas have work to do (out of `tenants`).
    Planned {
        /// Schemas behind the newest migration.
        pending: usize,
        /// All tenants.
        tenants: usize,
    },
    /// One schema is done.
    Finished {
        /// The tenant's slug.
        slug: String,
        /// `None` on success, the reason otherwise.
        error: Option<String>,
    },
}

/// The outcome of a run over many tenants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Tenants whose schema was already current.
    pub up_to_date: usize,
    /// Tenants migrated, with the versions applied.
    pub migrated: Vec<(String, Vec<String>)>,
    /// Tenants recorded as behind with nothing pending in their schema
    /// (another run got there first, or the record was stale: their
    /// recorded version is brought up to date): counted in `up_to_date`.
    pub recorded: Vec<String>,
    /// Tenants deleted while the run went on: passed over, counted nowhere
    /// else.
    pub deleted: Vec<String>,
    /// Tenants that failed, with the reason; their schemas are unchanged.
    pub failed: Vec<(String, String)>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Spare schemas made by older migrations, dropped after the tenants
    /// (by [`crate::PgStore::migrate_tenants`]; 0 otherwise).
    pub spares_dropped: usize,
}

diesel::define_sql_function! {
    /// PostgreSQL's `current_schema()`: the first schema of the path that
    /// exists, or null. A typed function, so the statement is kept in the
    /// connection's cache like any other.
    fn current_schema() -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Runs the tenant migrations of one migration source (the embedded ones in
/// production; tests substitute their own).
#[derive(Clone)]
pub struct TenantMigrator {
    source: Arc<dyn MigrationSource<Pg> + Send + Sync>,
    latest: String,
    schemas_per_connection: usize,
}

impl std::fmt::Debug for TenantMigrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantMigrator").field("latest", &self.latest).finish_non_exhaustive()
    }
}

/// Lends a shared migration source to diesel's harness, which takes one by value.
struct Lent<'a>(&'a (dyn MigrationSource<Pg> + Send + Sync));

impl MigrationSource<Pg> for Lent<'_> {
    fn migrations(&self) -> migration::Result<Vec<Box<dyn Migration<Pg>>>> {
        self.0.migrations()
    }
}

impl TenantMigrator {
    /// The migrations compiled into this build.
    pub fn embedded() -> Result<Self, MigrateError> {
        Self::from_source(Arc::new(TENANT_MIGRATIONS))
    }

    /// Migrations from another source (tests use a folder).
    pub fn from_source(source: Arc<dyn MigrationSource<Pg> + Send + Sync>) -> Result<Self, MigrateError> {
        let migrations = source.migrations().map_err(|e| MigrateError::Source(e.to_string()))?;
        let latest = migrations
            .iter()
            .map(|m| m.name().version().to_string())
            .max()
            .ok_or_else(|| MigrateError::Source("there are no tenant migrations".to_owned()))?;
        Ok(Self { source, latest, schemas_per_connection: SCHEMAS_PER_CONNECTION })
    }

    /// Opens a new connection every `count` schemas (at least 1) in
    /// [`TenantMigrator::migrate_all_on_fresh_connections`], instead of
    /// [`SCHEMAS_PER_CONNECTION`].
    #[must_use]
    pub fn with_schemas_per_connection(mut self, count: usize) -> Self {
        self.schemas_per_connection = count.max(1);
        self
    }

    /// The newest tenant migration version: a schema at this version is current.
    pub fn latest_version(&self) -> &str {
        &self.latest
    }

    /// Applies pending migrations inside an open transaction whose
    /// `search_path` is the tenant's schema alone, and records the version on
    /// the tenant row in the same transaction.
    pub(crate) fn apply_in_scope(
        &self,
        conn: &mut PgConnection,
        tenant: TenantId,
    ) -> Result<Vec<String>, MigrateError> {
        Self::lock_tenant(conn, tenant)?;
        self.apply_and_record(conn, tenant)
    }

    /// Takes the tenant's migration lock for the open transaction, with no
    /// statement timeout for what follows.
    fn lock_tenant(conn: &mut PgConnection, tenant: TenantId) -> Result<(), MigrateError> {
        conn.batch_execute(&format!(
            "SELECT pg_advisory_xact_lock({LOCK_CLASS}, {}); SET LOCAL statement_timeout = 0",
            tenant.0
        ))
        .map_err(store_error)?;
        Ok(())
    }

    fn apply_and_record(&self, conn: &mut PgConnection, tenant: TenantId) -> Result<Vec<String>, MigrateError> {
        let applied = self.apply_pending(conn)?;
        diesel::update(tenants::table.find(tenant.0))
            .set(tenants::schema_version.eq(&self.latest))
            .execute(conn)
            .map_err(store_error)?;
        Ok(applied)
    }

    /// Applies pending migrations to whatever schema the open transaction's
    /// `search_path` names, recording nothing outside it (a spare schema has
    /// no tenant row yet).
    pub(crate) fn apply_pending(&self, conn: &mut PgConnection) -> Result<Vec<String>, MigrateError> {
        Ok(conn
            .run_pending_migrations(Lent(self.source.as_ref()))
            .map_err(|e| MigrateError::Migration(e.to_string()))?
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    /// Migrates one tenant's schema in one transaction: all pending
    /// migrations apply, or none. `None` when the tenant was deleted since
    /// it was found (nothing to do).
    pub fn migrate_one(
        &self,
        conn: &mut PgConnection,
        target: &TenantTarget,
    ) -> Result<Option<Vec<String>>, MigrateError> {
        transaction(conn, Scope::Schema(&target.schema), |conn| {
            Self::lock_tenant(conn, target.id)?;
            // the schema the path names: gone if the tenant was deleted
            // meanwhile (nothing to do), or if someone dropped it by hand
            // (said so); provisioning, which made it a statement before,
            // does not ask
            let schema: Option<String> = diesel::select(current_schema()).get_result(conn).map_err(store_error)?;
            if schema.is_none() {
                let tenant_is_here: bool = diesel::select(diesel::dsl::exists(tenants::table.find(target.id.0)))
                    .get_result(conn)
                    .map_err(store_error)?;
                if !tenant_is_here {
                    return Ok(None);
                }
                return Err(MigrateError::Migration(
                    "the tenant's schema does not exist (was it dropped by hand?)".into(),
                ));
            }
            self.apply_and_record(conn, target.id).map(Some)
        })
    }

    /// The tenants whose schema is behind, in id order, and the number of
    /// tenants in all; one query, whatever the number of tenants.
    pub fn outdated(&self, conn: &mut PgConnection) -> Result<(Vec<TenantTarget>, usize), MigrateError> {
        let rows: Vec<(i64, String, String, Option<String>)> = tenants::table
            .select((tenants::id, tenants::slug, tenants::schema_name, tenants::schema_version))
            .filter(tenants::schema_version.is_null().or(tenants::schema_version.lt(&self.latest)))
            .order(tenants::id)
            .load(conn)
            .map_err(store_error)?;
        let total: i64 = tenants::table.count().get_result(conn).map_err(store_error)?;
        let targets = rows
            .into_iter()
            .map(|(id, slug, schema, version)| {
                let schema = SchemaName::parse(&schema).map_err(StoreError::internal)?;
                Ok(TenantTarget { id: TenantId(id), slug, schema, version })
            })
            .collect::<Result<Vec<_>, MigrateError>>()?;
        Ok((targets, usize::try_from(total).unwrap_or(usize::MAX)))
    }

    /// The one tenant with this slug, whatever its version.
    pub fn target(&self, conn: &mut PgConnection, slug: &str) -> Result<Option<TenantTarget>, MigrateError> {
        let row: Option<(i64, String, String, Option<String>)> = tenants::table
            .select((tenants::id, tenants::slug, tenants::schema_name, tenants::schema_version))
            .filter(tenants::slug.eq(slug))
            .first(conn)
            .map(Some)
            .or_else(|e| if matches!(e, diesel::result::Error::NotFound) { Ok(None) } else { Err(e) })
            .map_err(store_error)?;
        row.map(|(id, slug, schema, version)| {
            let schema = SchemaName::parse(&schema).map_err(StoreError::internal)?;
            Ok(TenantTarget { id: TenantId(id), slug, schema, version })
        })
        .transpose()
    }

    /// Migrates every schema that is behind, `jobs` at a time, each job over
    /// its own pooled connection. One tenant's failure does not stop the
    /// others; the report lists it.
    pub fn migrate_all(
        &self,
        pool: &PgPool,
        jobs: usize,
        on_event: &(dyn Fn(MigrationEvent) + Sync),
    ) -> Result<MigrationReport, MigrateError> {
        self.migrate_all_with(pool, None, jobs, on_event)
    }

    /// [`TenantMigrator::migrate_all`], with each job on connections of its
    /// own, a new one every [`SCHEMAS_PER_CONNECTION`] schemas (see
    /// [`TenantMigrator::with_schemas_per_connection`]). A backend
    /// keeps catalog entries for every schema it has altered, and every DDL
    /// statement makes it walk them: one connection carried through 3,000
    /// schemas slowed down as it went. `pool` serves the one query that
    /// finds the schemas behind.
    pub fn migrate_all_on_fresh_connections(
        &self,
        pool: &PgPool,
        settings: &PoolSettings,
        jobs: usize,
        on_event: &(dyn Fn(MigrationEvent) + Sync),
    ) -> Result<MigrationReport, MigrateError> {
        self.migrate_all_with(pool, Some(settings), jobs, on_event)
    }

    pub(crate) fn migrate_all_with(
        &self,
        pool: &PgPool,
        fresh: Option<&PoolSettings>,
        jobs: usize,
        on_event: &(dyn Fn(MigrationEvent) + Sync),
    ) -> Result<MigrationReport, MigrateError> {
        let started = Instant::now();
        let (targets, total) = {
            let mut conn = pool.get().map_err(pool_error)?;
            self.outdated(&mut conn)?
        };
        on_event(MigrationEvent::Planned { pending: targets.len(), tenants: total });
        let mut report = MigrationReport { up_to_date: total.saturating_sub(targets.len()), ..Default::default() };
        let workers = jobs.clamp(1, targets.len().max(1));
        let queue = Mutex::new(targets.into_iter().collect::<VecDeque<_>>());
        let outcomes = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| self.drain(pool, fresh, &queue, &outcomes, on_event));
            }
        });
        for (slug, outcome) in outcomes.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            match outcome {
                Ok(None) => report.deleted.push(slug),
                // behind by its recorded version only (another run got there
                // first, or the version was stale): nothing was applied
                Ok(Some(applied)) if applied.is_empty() => {
                    report.up_to_date += 1;
                    report.recorded.push(slug);
                }
                Ok(Some(applied)) => report.migrated.push((slug, applied)),
                Err(error) => report.failed.push((slug, error)),
            }
        }
        report.migrated.sort();
        report.failed.sort();
        report.deleted.sort();
        report.elapsed = started.elapsed();
        Ok(report)
    }

    #[expect(clippy::type_complexity, reason = "a worker's private plumbing")]
    fn drain(
        &self,
        pool: &PgPool,
        fresh: Option<&PoolSettings>,
        queue: &Mutex<VecDeque<TenantTarget>>,
        outcomes: &Mutex<Vec<(String, Result<Option<Vec<String>>, String>)>>,
        on_event: &(dyn Fn(MigrationEvent) + Sync),
    ) {
        let mut conn: Option<Session> = None;
        let mut served = 0;
        loop {
            let Some(target) = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop_front() else {
                return;
            };
            if served == self.schemas_per_connection && matches!(conn, Some(Session::Fresh(_))) {
                conn = None;
            }
            if conn.is_none() {
                served = 0;
            }
            let session = match conn.take() {
                Some(session) => Ok(session),
                None => match fresh {
                    Some(settings) => crate::pool::connect(settings).map(Session::Fresh),
                    None => pool.get().map(Session::Pooled).map_err(pool_error),
                },
            };
            let outcome = match session {
                Ok(mut session) => {
                    let outcome = self.migrate_one(&mut session, &target);
                    // a failed statement may have left the session unusable
                    if outcome.is_ok() {
                        conn = Some(session);
                        served += 1;
                    }
                    outcome
                }
                Err(error) => Err(MigrateError::Store(error)),
            }
            .map_err(|error| error.to_string());
            on_event(MigrationEvent::Finished { slug: target.slug.clone(), error: outcome.as_ref().err().cloned() });
            outcomes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((target.slug, outcome));
        }
    }
}
