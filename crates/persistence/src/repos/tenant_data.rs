//! [`TenantDataRepository`]: a tenant schema's rows as JSON and back, in SQL
//! (`row_to_json` through a cursor out, `json_populate_recordset` in),
//! inside the tenant scope.

use diesel::{
    QueryableByName, RunQueryDsl,
    result::DatabaseErrorKind,
    sql_types::{Bool, Nullable, Text},
};
use taskforce_domain::{DumpEvent, JsonKind, StoreError, TENANT_TABLES, TableColumn, TenantDataRepository, UserId};

use super::PgTenantTx;
use crate::error::store_error;

/// The columns that hold user ids (accounts live in `public`), with what
/// an id no account here matches becomes on import: nobody (`NULL`) where
/// the column allows it, else -1, [`UserId::UNKNOWN`] (0 is the operator's).
const USER_COLUMNS: [(&str, &str, &str); 8] = [
    ("projects", "owner_id", "-1"),
    ("tasks", "assignee_id", "NULL"),
    ("tasks", "created_by", "-1"),
    ("comments", "author_id", "-1"),
    ("attachments", "uploaded_by", "-1"),
    ("activity", "actor_id", "-1"),
    ("notifications", "recipient_id", "-1"),
    ("notifications", "actor_id", "-1"),
];

/// The keys of the activity log's `changes` whose `[old, new]` values are
/// user ids (an assignment, a membership).
const CHANGED_USER_KEYS: [&str; 2] = ["assignee_id", "user_id"];

/// Rows fetched at most at a time, and the bytes a fetch aims at: rows are
/// usually a few hundred bytes, but one can hold a megabyte of text.
const FETCH_ROWS: usize = 1000;
const FETCH_BYTES: usize = 16 * 1024 * 1024;

/// One row as JSON.
#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    json: String,
}

impl PgTenantTx<'_> {
    /// Hands the rows of the open cursor `tf_dump` to `each`, at most
    /// `rows` at a time, and fewer when rows are large (about
    /// [`FETCH_BYTES`] a fetch): how many there were.
    fn fetch_all(
        &mut self,
        rows: usize,
        each: &mut dyn FnMut(DumpEvent<'_>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let (mut count, mut next) = (0u64, rows);
        loop {
            let fetched: Vec<Row> =
                diesel::sql_query(format!("FETCH {next} FROM tf_dump")).load(self.inner.conn).map_err(store_error)?;
            if fetched.is_empty() {
                return Ok(count);
            }
            count += fetched.len() as u64;
            let texts: Vec<String> = fetched.into_iter().map(|row| row.json).collect();
            let average = texts.iter().map(String::len).sum::<usize>() / texts.len();
            next = (FETCH_BYTES / average.max(1)).clamp(1, rows);
            each(DumpEvent::Rows(&texts))?;
        }
    }

    /// The table's columns, in order.
    fn table_columns(&mut self, table: &str) -> Result<Vec<Column>, StoreError> {
        let found: Vec<Column> = diesel::sql_query(
            // pg_attribute, not information_schema.columns: the view checks
            // privileges on every column of the database, which grows with
            // the number of tenants (0.47 s a lookup at 400 tenants)
            "SELECT a.attname::text AS name, quote_ident(a.attname) AS quoted, a.attgenerated <> '' AS generated,
                    a.atttypid IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype) AS dated,
                    CASE t.typcategory WHEN 'S' THEN 'string' WHEN 'E' THEN 'string' WHEN 'D' THEN 'string'
                                       WHEN 'N' THEN 'number' WHEN 'B' THEN 'boolean' END AS json_kind
               FROM pg_catalog.pg_attribute a
               JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
              WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1))
                AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum",
        )
        .bind::<Text, _>(table)
        .load(self.inner.conn)
        .map_err(store_error)?;
        if found.is_empty() {
            return Err(StoreError::internal(format!("the schema has no table {table}")));
        }
        Ok(found)
    }

    /// After `insert` refused the chunk `rows`, the first row it refuses
    /// alone (loaded one by one from the savepoint before the chunk), with
    /// the database's reason; the chunk's own error when none is refused
    /// alone.
    fn culprit(&mut self, insert: &str, rows: &str, refused: StoreError) -> StoreError {
        if diesel::sql_query("ROLLBACK TO SAVEPOINT tf_load").execute(self.inner.conn).is_err() {
            return refused;
        }
        let Ok(each) = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(rows) else {
            return refused;
        };
        for (position, row) in each.into_iter().enumerate() {
            let alone = format!("[{}]", row.get());
            match diesel::sql_query(insert).bind::<Text, _>(&alone).execute(self.inner.conn) {
                Ok(_) => {}
                Err(diesel::result::Error::DatabaseError(kind, info)) if refuses_the_row(kind, info.message()) => {
                    let id = serde_json::from_str::<serde_json::Value>(row.get())
                        .ok()
                        .and_then(|row| row.get("id").map(ToString::to_string));
                    let reason = match info.details() {
                        Some(detail) => format!("{} ({detail})", info.message()),
                        None => info.message().to_owned(),
                    };
                    return refused_row(position as i64 + 1, id, reason);
                }
                // the database failed, not the row: its own error
                Err(other) => return store_error(other),
            }
        }
        refused
    }
}

/// Whether the database refused a loaded row for what it holds (a rule of
/// the table, a value of the wrong type), rather than failed while loading
/// it (a deadlock, a lock not had, a cancelled statement, no memory): only
/// the first is the row's to blame.
fn refuses_the_row(kind: DatabaseErrorKind, message: &str) -> bool {
    match kind {
        DatabaseErrorKind::UniqueViolation
        | DatabaseErrorKind::ForeignKeyViolation
        | DatabaseErrorKind::NotNullViolation
        | DatabaseErrorKind::CheckViolation => true,
        DatabaseErrorKind::Unknown => ![
            "deadlock detected",
            "could not serialize",
            "could not obtain lock",
            "canceling statement",
            "out of memory",
            "terminating connection",
        ]
        .iter()
        .any(|transient| message.contains(transient)),
        _ => false,
    }
}

/// The row at `position` (from 1) of those handed over, named by its id
/// where it has one.
fn refused_row(position: i64, id: Option<String>, reason: String) -> StoreError {
    let reason = match id {
        Some(id) => format!("id {id}: {reason}"),
        None => reason,
    };
    StoreError::Refused { row: Some(u64::try_from(position).unwrap_or(0)), reason }
}

/// A column of a tenant table.
#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    quoted: String,
    #[diesel(sql_type = Bool)]
    generated: bool,
    /// A date or a timestamp.
    #[diesel(sql_type = Bool)]
    dated: bool,
    /// The JSON type its values have (`string`, `number`, `boolean`);
    /// `None` for a column that takes any (`jsonb`).
    #[diesel(sql_type = Nullable<Text>)]
    json_kind: Option<String>,
}

/// Refuses a tenant whose schema someone dropped by hand, saying so (its
/// reads would fail with "relation \"projects\" does not exist").
fn schema_is_there(conn: &mut diesel::PgConnection) -> Result<(), StoreError> {
    let schema: Option<String> = diesel::select(diesel::dsl::sql::<Nullable<Text>>("pg_catalog.current_schema()"))
        .get_result(conn)
        .map_err(store_error)?;
    match schema {
        Some(_) => Ok(()),
        None => Err(StoreError::internal(
            "the tenant's schema does not exist (was it dropped by hand?); `tenant delete` removes the rest of the tenant",
        )),
    }
}

impl TenantDataRepository for PgTenantTx<'_> {
    fn dump_chunks(
        &mut self,
        chunk: usize,
        each: &mut dyn FnMut(DumpEvent<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        schema_is_there(self.inner.conn)?;
        for table in TENANT_TABLES {
            each(DumpEvent::Table(table))?;
            // a cursor in the unit's transaction: rows come a chunk at a time,
            // whatever the table's size (the table names are the constants
            // above, never input); closed whatever happens, so the unit may
            // go on
            diesel::sql_query(format!(
                "DECLARE tf_dump NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS json FROM {table} t ORDER BY t.id"
            ))
            .execute(self.inner.conn)
            .map_err(store_error)?;
            let dumped = self.fetch_all(chunk.clamp(1, FETCH_ROWS), each);
            let closed = diesel::sql_query("CLOSE tf_dump").execute(self.inner.conn).map_err(store_error);
            let count = dumped?;
            closed?;
            each(DumpEvent::Done(count))?;
        }
        Ok(())
    }

    fn user_ids(&mut self) -> Result<Vec<UserId>, StoreError> {
        schema_is_there(self.inner.conn)?;
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        let named: Vec<String> =
            USER_COLUMNS.iter().map(|(table, column, _)| format!("SELECT {column} AS id FROM {table}")).collect();
        let ids: Vec<Id> = diesel::sql_query(format!(
            "SELECT DISTINCT id FROM ({}) u WHERE id > 0 ORDER BY id",
            named.join(" UNION ALL ")
        ))
        .load(self.inner.conn)
        .map_err(store_error)?;
        Ok(ids.into_iter().map(|row| UserId(row.id)).collect())
    }

    fn columns(&mut self, table: &str) -> Result<Vec<TableColumn>, StoreError> {
        Ok(self
            .table_columns(table)?
            .into_iter()
            .map(|c| TableColumn {
                json: match c.json_kind.as_deref() {
                    Some("string") => Some(JsonKind::String),
                    Some("number") => Some(JsonKind::Number),
                    Some("boolean") => Some(JsonKind::Boolean),
                    _ => None,
                },
                name: c.name,
                generated: c.generated,
                dated: c.dated,
            })
            .collect())
    }

    fn load_rows(&mut self, table: &str, rows: &str) -> Result<u64, StoreError> {
        // the name goes into SQL: only the constants above pass
        let Some(table) = TENANT_TABLES.iter().find(|known| **known == table) else {
            return Err(StoreError::internal(format!("unknown table {table:?} in the export")));
        };
        let columns = self.table_columns(table)?;
        let written: Vec<&str> = columns.iter().filter(|c| !c.generated).map(|c| c.quoted.as_str()).collect();
        let written = written.join(", ");
        let insert = format!(
            "INSERT INTO {table} ({written}) SELECT {written} FROM json_populate_recordset(NULL::{table}, $1::json)"
        );
        // a savepoint, so that a refused chunk can be loaded again a row
        // at a time to name the row to blame
        diesel::sql_query("SAVEPOINT tf_load").execute(self.inner.conn).map_err(store_error)?;
        match diesel::sql_query(&insert).bind::<Text, _>(rows).execute(self.inner.conn) {
            Ok(loaded) => {
                diesel::sql_query("RELEASE SAVEPOINT tf_load").execute(self.inner.conn).map_err(store_error)?;
                Ok(loaded as u64)
            }
            Err(diesel::result::Error::DatabaseError(kind, info)) if refuses_the_row(kind, info.message()) => {
                let refused = store_error(diesel::result::Error::DatabaseError(kind, info));
                Err(self.culprit(&insert, rows, refused))
            }
            Err(other) => Err(store_error(other)),
        }
    }

    fn finish_load(&mut self, users: &[(UserId, UserId)], keep_unmatched: bool) -> Result<(), StoreError> {
        for table in TENANT_TABLES {
            // new rows continue after the loaded ids (the largest as the
            // last one given, since the one after the last possible id does
            // not exist; from 1 when no id is above 0)
            diesel::sql_query(format!(
                "SELECT CASE WHEN max(id) >= 1 THEN setval(pg_get_serial_sequence('{table}', 'id'), max(id), true)
                             ELSE setval(pg_get_serial_sequence('{table}', 'id'), 1, false) END::text AS json
                   FROM {table}"
            ))
            .execute(self.inner.conn)
            .map_err(store_error)?;
        }
        // every id the rows hold changes once, from its value before the
        // statement: a member's to their account here, any other (a former
        // member's, whose account may be someone else's here) to nobody
        let mapping = serde_json::Value::Array(
            users.iter().map(|(old, new)| serde_json::json!({"old": old.0, "new": new.0})).collect(),
        )
        .to_string();
        for (table, column, nobody) in USER_COLUMNS {
            // kept: an id no pair names is left as it is
            let unmatched = if keep_unmatched { "d.old" } else { nobody };
            diesel::sql_query(format!(
                "UPDATE {table} t SET {column} = v.new
                   FROM (SELECT d.old, coalesce(m.new, {unmatched}) AS new
                           FROM (SELECT DISTINCT {column} AS old FROM {table} WHERE {column} <> 0) d
                           LEFT JOIN json_to_recordset($1::json) AS m(old bigint, new bigint) ON m.old = d.old) v
                  WHERE t.{column} = v.old AND v.new IS DISTINCT FROM v.old"
            ))
            .bind::<Text, _>(&mapping)
            .execute(self.inner.conn)
            .map_err(store_error)?;
        }
        // the activity log's changes name accounts too: `[old, new]` pairs
        for key in CHANGED_USER_KEYS {
            let unmatched = if keep_unmatched { "(x.e #>> '{}')::bigint" } else { "-1" };
            diesel::sql_query(format!(
                "UPDATE activity a SET changes = a.changes || jsonb_build_object('{key}', (
                        SELECT jsonb_agg(CASE WHEN jsonb_typeof(x.e) <> 'number' OR (x.e #>> '{{}}')::bigint = 0 THEN x.e
                                              ELSE to_jsonb(coalesce(m.new, {unmatched})) END ORDER BY x.i)
                          FROM jsonb_array_elements(a.changes -> '{key}') WITH ORDINALITY AS x(e, i)
                          LEFT JOIN json_to_recordset($1::json) AS m(old bigint, new bigint)
                                 ON jsonb_typeof(x.e) = 'number' AND m.old = (x.e #>> '{{}}')::bigint))
                  WHERE jsonb_typeof(a.changes -> '{key}') = 'array'"
            ))
            .bind::<Text, _>(&mapping)
            .execute(self.inner.conn)
            .map_err(store_error)?;
        }
        readable_by_the_server(self.inner.conn)
    }
}

/// Every loaded row read back as the server reads it, a thousand at a time:
/// a row the table's own rules let in but the server could not show (a
/// description past its limit, a blank project name, an activity about a
/// kind of thing that does not exist) would answer `500` on every page that
/// holds it, so the import is refused, naming the table and the row's id.
fn readable_by_the_server(conn: &mut diesel::PgConnection) -> Result<(), StoreError> {
    use diesel::{ExpressionMethods, QueryDsl, SelectableHelper};

    use crate::{
        schema::{activity, attachments, comments, notifications, projects, tasks},
        tenant_rows::{ActivityRow, AttachmentRow, CommentRow, NotificationRow, ProjectRow, TaskRow},
    };

    /// Reads `table`'s rows after each id in turn, through `shown`.
    fn each<R>(
        conn: &mut diesel::PgConnection,
        table: &str,
        load: impl Fn(&mut diesel::PgConnection, Option<i64>) -> diesel::QueryResult<Vec<R>>,
        id: impl Fn(&R) -> i64,
        shown: impl Fn(R) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // none at first: a row may have any id, i64::MIN too
        let mut after = None;
        loop {
            let rows = load(conn, after).map_err(store_error)?;
            let Some(last) = rows.last().map(&id) else { return Ok(()) };
            for row in rows {
                let row_id = id(&row);
                shown(row).map_err(|error| {
                    // the reader's own sentence, without "storage failure"
                    let why = match error {
                        StoreError::Internal(cause) => cause.to_string(),
                        other => other.to_string(),
                    };
                    StoreError::Refused {
                        row: None,
                        reason: format!("{table}, the row with id {row_id}: the server could not show it ({why})"),
                    }
                })?;
            }
            after = Some(last);
        }
    }
    const CHUNK: i64 = 1000;
    // one table: its rows, then the domain type the server reads them as
    macro_rules! shown {
        ($table:ident, $row:ty, $read:ty) => {
            each(
                conn,
                stringify!($table),
                |c, after| {
                    let rows = $table::table.order($table::id).limit(CHUNK).select(<$row>::as_select());
                    match after {
                        Some(after) => rows.filter($table::id.gt(after)).load(c),
                        None => rows.load(c),
                    }
                },
                |r| r.id,
                |r| <$read>::try_from(r).map(drop),
            )?
        };
    }
    shown!(projects, ProjectRow, taskforce_domain::Project);
    shown!(tasks, TaskRow, taskforce_domain::Task);
    shown!(comments, CommentRow, taskforce_domain::Comment);
    shown!(attachments, AttachmentRow, taskforce_domain::Attachment);
    shown!(activity, ActivityRow, taskforce_domain::Activity);
    shown!(notifications, NotificationRow, taskforce_domain::Notification);
    Ok(())
}
