//! Spare schemas: tenant schemas made and migrated ahead of time.
//!
//! Creating a tenant's schema means creating every table, index and sequence
//! of the tenant migrations: about 45 relation files, which PostgreSQL spends
//! ~45 ms on with this project's migrations on a local SSD. A spare schema is
//! all of that done in advance under a name no slug can give
//! (`tenant__spare_<n>`). Provisioning claims one with
//! `FOR UPDATE SKIP LOCKED` and renames it, a single catalog update, in the
//! same transaction as the tenant row; when none is ready it builds the
//! schema as before. A failed creation rolls the claim back, so the spare is
//! still there for the next one.
//!
//! Only spares at exactly this build's newest tenant migration are claimed:
//! during a rolling deploy an older binary never takes a newer schema, nor a
//! newer binary an older one. `migrate` drops spares older than the code
//! ([`PgStore::drop_spares`]); the server keeps a configured number ready
//! in the background ([`PgStore::with_spare_schemas`]).

use std::{sync::mpsc, time::Duration};

use diesel::{
    ExpressionMethods, OptionalExtension, PgConnection, QueryDsl, QueryableByName, RunQueryDsl,
    connection::SimpleConnection, sql_types::Text,
};
use taskforce_domain::{SchemaName, StoreError};

use crate::{
    PgStore,
    error::store_error,
    pool::Session,
    schema::spare_schemas,
    scope::{Scope, outside_transaction, transaction_if},
};

/// How every spare schema's name starts. A slug starts with a letter, so no
/// tenant's schema (`tenant_` + slug) can start with `tenant__`.
pub const SPARE_PREFIX: &str = "tenant__spare_";

/// Advisory-lock class of the filler ("tfsp"): one instance tops up at a time.
const LOCK_CLASS: i32 = 0x7466_7370;

/// How often the background filler looks even when nothing was claimed here
/// (another instance or `tenant-admin` may have taken spares).
const KEEPER_INTERVAL: Duration = Duration::from_secs(30);

/// Which spares [`PgStore::drop_spares`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpareFilter {
    /// Those made by older migrations than this build's.
    Outdated,
    /// All of them, whatever their version.
    All,
}

/// The spare schemas, counted by migration version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpareStock {
    /// Spares at this build's newest migration: the ones provisioning claims.
    pub ready: usize,
    /// Spares at any other version, with their counts, oldest first.
    pub other_versions: Vec<(String, usize)>,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Whether the spare row whose name is `name_column` still has its schema:
/// a row whose schema was dropped by hand is no spare, and is neither
/// counted nor claimed.
fn schema_exists_sql(name_column: &str) -> String {
    format!("EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = {name_column})")
}

/// [`schema_exists_sql`] as a condition on `spare_schemas`, for the counts;
/// they run when spares are counted or made, not per request.
fn schema_exists() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql(&schema_exists_sql("spare_schemas.name"))
}

/// Inside an open transaction: takes one spare at `version` that no other
/// transaction holds and whose schema exists (a row left behind by a schema
/// dropped by hand would fail every rename), and returns its name; `None`
/// when there is none.
pub(crate) fn claim(conn: &mut PgConnection, version: &str) -> Result<Option<SchemaName>, StoreError> {
    take_row(conn, &format!("s.schema_version = $1 AND {}", schema_exists_sql("s.name")), version)
}

/// Inside an open transaction: deletes the first spare row `s` matching
/// `condition` (SQL in which `$1` is `version`) that no other transaction
/// holds, and returns its name. A rollback puts the row back.
fn take_row(conn: &mut PgConnection, condition: &str, version: &str) -> Result<Option<SchemaName>, StoreError> {
    let taken: Option<Claimed> = diesel::sql_query(format!(
        "DELETE FROM public.spare_schemas WHERE name = (SELECT s.name FROM public.spare_schemas s \
         WHERE {condition} ORDER BY s.name LIMIT 1 FOR UPDATE OF s SKIP LOCKED) RETURNING name"
    ))
    .bind::<Text, _>(version)
    .get_result(conn)
    .optional()
    .map_err(store_error)?;
    taken.map(|Claimed { name }| SchemaName::parse(&name).map_err(StoreError::internal)).transpose()
}

/// `ALTER SCHEMA … RENAME`; a schema already called `to` (which no tenant
/// row claims) is a clash, reported as [`crate::PgStore`]'s `CREATE SCHEMA`
/// reports it.
pub(crate) fn rename(conn: &mut PgConnection, from: &SchemaName, to: &SchemaName) -> Result<(), StoreError> {
    conn.batch_execute(&format!("ALTER SCHEMA {} RENAME TO {}", from.quoted(), to.quoted()))
        .map_err(crate::store::clash_or_error)
}

impl PgStore {
    /// Keeps `count` spare schemas ready: a background thread tops up when
    /// this store has claimed one, every 30 seconds in any case, and once at
    /// the start. The thread ends when the last clone of this store is
    /// dropped. With several instances one of them fills at a time (a
    /// transaction-scoped advisory lock, safe behind PgBouncer), so they do
    /// not overshoot together. `0`: none kept.
    #[must_use]
    pub fn with_spare_schemas(mut self, count: usize) -> Self {
        if count == 0 {
            return self;
        }
        let (claimed, wake) = mpsc::sync_channel(1);
        let filler = self.clone();
        let spawned = std::thread::Builder::new().name("spare-schemas".to_owned()).spawn(move || {
            loop {
                match filler.top_up_spares(count, &|_| {}) {
                    Ok(0) => {}
                    Ok(made) => tracing::debug!(made, "made spare tenant schemas"),
                    Err(error) => tracing::warn!(%error, "could not make spare tenant schemas"),
                }
                match wake.recv_timeout(KEEPER_INTERVAL) {
                    Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        });
        match spawned {
            Ok(_) => self.spare_claimed = Some(claimed),
            Err(error) => {
                tracing::warn!(%error, "could not start the spare-schema filler; tenants are built on demand")
            }
        }
        self
    }

    /// Tells the background filler, if any, that a spare was taken.
    pub(crate) fn spare_taken(&self) {
        if let Some(claimed) = &self.spare_claimed {
            // full: a wake-up is already pending
            let _ = claimed.try_send(());
        }
    }

    /// A connection for schema-building work: a fresh one when so configured
    /// (see [`PgStore::with_fresh_provisioning_connections`]), else pooled.
    pub(crate) fn building_session(&self) -> Result<Session, StoreError> {
        match &self.provisioning {
            Some(settings) => Ok(Session::Fresh(crate::pool::connect(settings)?)),
            None => Ok(Session::Pooled(self.checkout()?)),
        }
    }

    /// How many spares there are, by version.
    pub fn spare_stock(&self) -> Result<SpareStock, StoreError> {
        let mut conn = self.checkout()?;
        let outcome = outside_transaction(&mut conn, |conn| {
            spare_schemas::table
                .filter(schema_exists())
                .group_by(spare_schemas::schema_version)
                .select((spare_schemas::schema_version, diesel::dsl::count_star()))
                .order(spare_schemas::schema_version)
                .load::<(String, i64)>(conn)
                .map_err(store_error)
        });
        let rows = self.settle(conn, outcome)?;
        let latest = self.migrator().latest_version();
        let mut stock = SpareStock::default();
        for (version, count) in rows {
            let count = usize::try_from(count).unwrap_or(0);
            if version == latest {
                stock.ready = count;
            } else {
                stock.other_versions.push((version, count));
            }
        }
        Ok(stock)
    }

    /// Makes spares until `count` are ready; `on_made` hears of each one.
    /// Returns how many were made; it stops early, without an error, when
    /// another process is making one (it is filling already).
    pub fn top_up_spares(&self, count: usize, on_made: &dyn Fn(&SchemaName)) -> Result<usize, StoreError> {
        let mut session = self.building_session()?;
        let mut made = 0;
        while let Some(name) = self.make_spare_on(&mut session, Some(count))? {
            on_made(&name);
            made += 1;
        }
        Ok(made)
    }

    /// Makes one spare schema: created, fully migrated and recorded in one
    /// transaction, so a failure or a crash leaves no half-made spare.
    pub fn make_spare(&self) -> Result<SchemaName, StoreError> {
        let mut session = self.building_session()?;
        self.make_spare_on(&mut session, None)?
            .ok_or_else(|| StoreError::Unavailable("another process is making a spare schema".into()))
    }

    /// One spare, in one transaction that first takes the filler's lock —
    /// transaction-scoped, so it holds behind PgBouncer in transaction mode
    /// and is released by whatever ends the transaction. With `up_to`, makes
    /// nothing when that many are ready already. `None`: nothing was made
    /// (enough are ready, or another process holds the lock).
    fn make_spare_on(&self, conn: &mut PgConnection, up_to: Option<usize>) -> Result<Option<SchemaName>, StoreError> {
        let number: i64 =
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>("nextval('public.spare_schema_numbers')"))
                .get_result(conn)
                .map_err(store_error)?;
        let name = SchemaName::parse(&format!("{SPARE_PREFIX}{number}")).map_err(StoreError::internal)?;
        let latest = self.migrator().latest_version().to_owned();
        transaction_if(conn, Scope::Schema(&name), |conn| {
            let locked: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "pg_try_advisory_xact_lock({LOCK_CLASS}, 0)"
            )))
            .get_result(conn)
            .map_err(store_error)?;
            if !locked {
                return Ok(None);
            }
            if let Some(wanted) = up_to {
                let ready: i64 = spare_schemas::table
                    .filter(spare_schemas::schema_version.eq(&latest))
                    .filter(schema_exists())
                    .count()
                    .get_result(conn)
                    .map_err(store_error)?;
                if usize::try_from(ready).unwrap_or(usize::MAX) >= wanted {
                    return Ok(None);
                }
            }
            crate::store::create_schema(conn, &name)?;
            self.migrator().apply_pending(conn)?;
            diesel::insert_into(spare_schemas::table)
                .values((spare_schemas::name.eq(name.as_str()), spare_schemas::schema_version.eq(&latest)))
                .execute(conn)
                .map_err(store_error)?;
            Ok(Some(name.clone()))
        })
    }

    /// Drops spares, each with its row in one transaction; ones another
    /// transaction is claiming are left to it. `on_dropped` is called after
    /// each (an operator's progress). Returns how many were dropped.
    pub fn drop_spares(&self, which: SpareFilter, on_dropped: &dyn Fn()) -> Result<usize, StoreError> {
        let mut conn = self.checkout()?;
        let latest = self.migrator().latest_version().to_owned();
        let condition = match which {
            SpareFilter::Outdated => "s.schema_version < $1",
            // `take_row` binds $1 whatever the condition
            SpareFilter::All => "$1 IS NOT NULL",
        };
        let mut dropped = 0;
        loop {
            let gone = transaction_if(&mut conn, Scope::Platform, |conn| {
                let Some(schema) = take_row(conn, condition, &latest)? else {
                    return Ok(None);
                };
                conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", schema.quoted()))
                    .map_err(store_error)?;
                Ok(Some(()))
            })?;
            if gone.is_none() {
                return Ok(dropped);
            }
            dropped += 1;
            on_dropped();
        }
    }
}
