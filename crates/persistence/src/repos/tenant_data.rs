//! [`TenantDataRepository`]: a tenant schema's rows as JSON and back, in SQL
//! (`row_to_json` through a cursor out, `json_populate_recordset` in),
//! inside the tenant scope.

use diesel::{
    QueryableByName, RunQueryDsl,
    sql_types::{Nullable, Text},
};
use taskforce_domain::{DumpEvent, StoreError, TableDump, TenantDataRepository, UserId};

use super::PgTenantTx;
use crate::error::store_error;

/// The tenant tables, parents before children: what an export carries.
pub const TENANT_TABLES: [&str; 6] = ["projects", "tasks", "comments", "attachments", "activity", "notifications"];

/// The columns that hold user ids (accounts live in `public`).
const USER_COLUMNS: [(&str, &str); 8] = [
    ("projects", "owner_id"),
    ("tasks", "assignee_id"),
    ("tasks", "created_by"),
    ("comments", "author_id"),
    ("attachments", "uploaded_by"),
    ("activity", "actor_id"),
    ("notifications", "recipient_id"),
    ("notifications", "actor_id"),
];

#[derive(QueryableByName)]
struct Json {
    #[diesel(sql_type = Nullable<Text>)]
    json: Option<String>,
}

/// One row as JSON.
#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    json: String,
}

impl PgTenantTx<'_> {
    /// The table's columns that can be written (not generated), quoted.
    fn writable_columns(&mut self, table: &str) -> Result<String, StoreError> {
        let found: Json = diesel::sql_query(
            // pg_attribute, not information_schema.columns: the view checks
            // privileges on every column of the database, which grows with
            // the number of tenants (0.47 s a lookup at 400 tenants)
            "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) AS json
               FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1))
                AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''",
        )
        .bind::<Text, _>(table)
        .get_result(self.inner.conn)
        .map_err(store_error)?;
        found.json.ok_or_else(|| StoreError::internal(format!("the schema has no table {table}")))
    }
}

impl TenantDataRepository for PgTenantTx<'_> {
    fn dump_chunks(
        &mut self,
        chunk: usize,
        each: &mut dyn FnMut(DumpEvent<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for table in TENANT_TABLES {
            each(DumpEvent::Table(table))?;
            // a cursor in the unit's transaction: rows come a chunk at a time,
            // whatever the table's size (the table names are the constants
            // above, never input)
            diesel::sql_query(format!(
                "DECLARE tf_dump NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS json FROM {table} t ORDER BY t.id"
            ))
            .execute(self.inner.conn)
            .map_err(store_error)?;
            let mut count = 0u64;
            loop {
                let rows: Vec<Row> = diesel::sql_query(format!("FETCH {} FROM tf_dump", chunk.max(1)))
                    .load(self.inner.conn)
                    .map_err(store_error)?;
                if rows.is_empty() {
                    break;
                }
                count += rows.len() as u64;
                let texts: Vec<String> = rows.into_iter().map(|row| row.json).collect();
                each(DumpEvent::Rows(&texts))?;
            }
            diesel::sql_query("CLOSE tf_dump").execute(self.inner.conn).map_err(store_error)?;
            each(DumpEvent::Done(count))?;
        }
        Ok(())
    }

    fn load(&mut self, tables: &[TableDump], users: &[(UserId, UserId)]) -> Result<(), StoreError> {
        if let Some(unknown) = tables.iter().find(|t| !TENANT_TABLES.contains(&t.table.as_str())) {
            return Err(StoreError::internal(format!("unknown table {:?} in the export", unknown.table)));
        }
        for table in TENANT_TABLES {
            let Some(dump) = tables.iter().find(|t| t.table == table) else { continue };
            let columns = self.writable_columns(table)?;
            diesel::sql_query(format!(
                "INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, $1::json)"
            ))
            .bind::<Text, _>(dump.rows.get())
            .execute(self.inner.conn)
            .map_err(store_error)?;
            // new rows continue after the loaded ids
            diesel::sql_query(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false)::text AS json
                   FROM {table}"
            ))
            .execute(self.inner.conn)
            .map_err(store_error)?;
        }
        let moved: Vec<serde_json::Value> = users
            .iter()
            .filter(|(old, new)| old != new)
            .map(|(old, new)| serde_json::json!({"old": old.0, "new": new.0}))
            .collect();
        if !moved.is_empty() {
            let mapping = serde_json::Value::Array(moved).to_string();
            for (table, column) in USER_COLUMNS {
                // each row is changed once, from its value before the statement
                diesel::sql_query(format!(
                    "UPDATE {table} t SET {column} = m.new
                       FROM json_to_recordset($1::json) AS m(old bigint, new bigint)
                      WHERE t.{column} = m.old"
                ))
                .bind::<Text, _>(&mapping)
                .execute(self.inner.conn)
                .map_err(store_error)?;
            }
        }
        Ok(())
    }
}
