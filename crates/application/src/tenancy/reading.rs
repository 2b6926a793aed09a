//! Reading an export document without holding it: its head (everything but
//! the rows) with each table's rows counted and skipped, then, inside the
//! import's unit of work, its rows again, loaded a chunk at a time. Memory
//! stays bounded whatever the tenant's size.

use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::value::RawValue;
use taskforce_domain::{JsonKind, StoreError, TableColumn, TenantDataRepository};

use super::TenantExport;

/// Rows sent to the database at most at a time, and the bytes after which
/// a chunk goes sooner (a row may hold a megabyte of text).
const LOAD_CHUNK: usize = 1000;
const LOAD_BYTES: usize = 16 * 1024 * 1024;

/// A reader that hashes what passes through it, so that the two readings
/// of an import can be compared.
pub(super) struct Hashed<R> {
    inner: R,
    hasher: std::collections::hash_map::DefaultHasher,
}

impl<R> Hashed<R> {
    pub(super) fn new(inner: R) -> Self {
        Self { inner, hasher: std::collections::hash_map::DefaultHasher::new() }
    }

    /// The hash of what was read so far.
    pub(super) fn digest(&self) -> u64 {
        std::hash::Hasher::finish(&self.hasher)
    }
}

impl<R: std::io::Read> std::io::Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        std::hash::Hasher::write(&mut self.hasher, &buf[..n]);
        Ok(n)
    }
}

/// An export with each table's rows counted, not kept.
pub(super) type ExportHead = TenantExport<TableSummary>;

/// A table of an export: its name, the count it gives, the rows it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TableSummary {
    pub table: String,
    pub count: Option<u64>,
    pub rows: u64,
}

impl<'de> Deserialize<'de> for TableSummary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Table;
        impl<'de> Visitor<'de> for Table {
            type Value = TableSummary;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table: its name, its rows and their count")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TableSummary, A::Error> {
                let (mut table, mut count, mut rows) = (None, None, None);
                let mut seen = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    // a key given twice would be counted once and loaded twice
                    if seen.contains(&key) {
                        return Err(de::Error::custom(format!("duplicate field `{key}` in a table")));
                    }
                    seen.push(key.clone());
                    match key.as_str() {
                        "table" => table = Some(map.next_value::<String>()?),
                        "count" => count = map.next_value::<Option<u64>>()?,
                        "rows" => rows = Some(map.next_value::<Counted>()?.0),
                        other => return Err(de::Error::unknown_field(other, &["table", "count", "rows"])),
                    }
                }
                Ok(TableSummary {
                    table: table.ok_or_else(|| de::Error::missing_field("table"))?,
                    count,
                    rows: rows.ok_or_else(|| de::Error::missing_field("rows"))?,
                })
            }
        }
        deserializer.deserialize_map(Table)
    }
}

/// A list's length, its elements skipped.
struct Counted(u64);

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> Visitor<'de> for Count {
            type Value = Counted;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of rows")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Counted, A::Error> {
                let mut n = 0;
                while seq.next_element_seed(Row(n + 1))?.is_some() {
                    n += 1;
                }
                Ok(Counted(n))
            }
        }
        deserializer.deserialize_seq(Count)
    }
}

/// A row, read for its keys alone (its values skipped): one given twice is
/// refused, since loading would keep one of them. Anything else is left for
/// the load to judge against the table.
struct Row(u64);

impl<'de> DeserializeSeed<'de> for Row {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Row {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut keys: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if keys.contains(&key) {
                return Err(de::Error::custom(format!("row {} of a table gives the key '{key}' twice", self.0)));
            }
            map.next_value::<IgnoredAny>()?;
            keys.push(key);
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Why loading the rows stopped.
pub(super) enum LoadError {
    /// The database failed.
    Store(StoreError),
    /// The database refused a table's rows: a row that is no object, a key
    /// that is no column, a value of the wrong type, a rule broken.
    Refused {
        /// The table.
        table: String,
        /// The row to blame: its place in the table's list, from 1.
        row: Option<u64>,
        /// Why, naming the row's id where it has one.
        reason: String,
    },
    /// The file could not be read.
    Read(std::io::Error),
    /// The document did not read as it had the first time.
    Document(String),
}

/// Reads the document at `reader` again and loads every table's rows into
/// `data`, a chunk at a time, in the document's order. `tables` are the document's tables as the first
/// reading found them: a table's rows may come before its name (keys in
/// any order, as a JSON tool that sorts them writes them), so its name is
/// taken from there, and checked when it comes.
pub(super) fn load_tables(
    reader: impl std::io::Read,
    data: &mut dyn TenantDataRepository,
    tables: &[TableSummary],
) -> Result<(), LoadError> {
    let mut failed = None;
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let loader = DocumentLoader { sink: Sink { data, failed: &mut failed }, tables };
    // the whole document, to its end (as the first reading went)
    let read = deserializer.deserialize_map(loader).and_then(|()| deserializer.end());
    match (failed, read) {
        (Some(error), _) => Err(error),
        (None, Err(error)) if error.is_io() => Err(LoadError::Read(error.into())),
        (None, Err(error)) => Err(LoadError::Document(error.to_string())),
        (None, Ok(())) => Ok(()),
    }
}

/// Where the loaders below send rows, and keep the database's refusal
/// (a serde error carries only text).
struct Sink<'a> {
    data: &'a mut dyn TenantDataRepository,
    failed: &'a mut Option<LoadError>,
}

impl Sink<'_> {
    fn reborrow(&mut self) -> Sink<'_> {
        Sink { data: &mut *self.data, failed: &mut *self.failed }
    }
}

/// The whole document: only its tables are read.
struct DocumentLoader<'a> {
    sink: Sink<'a>,
    tables: &'a [TableSummary],
}

impl<'de> Visitor<'de> for DocumentLoader<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tenant export")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let DocumentLoader { mut sink, tables } = self;
        while let Some(key) = map.next_key::<String>()? {
            if key == "tables" {
                map.next_value_seed(TablesLoader(DocumentLoader { sink: sink.reborrow(), tables }))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct TablesLoader<'a>(DocumentLoader<'a>);

impl<'de> DeserializeSeed<'de> for TablesLoader<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TablesLoader<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of tables")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let DocumentLoader { mut sink, tables } = self.0;
        for expected in tables {
            if seq.next_element_seed(TableLoader { sink: sink.reborrow(), expected })?.is_none() {
                return Err(de::Error::custom("fewer tables than before"));
            }
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("more tables than before"));
        }
        Ok(())
    }
}

struct TableLoader<'a> {
    sink: Sink<'a>,
    expected: &'a TableSummary,
}

impl<'de> DeserializeSeed<'de> for TableLoader<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TableLoader<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let name = self.expected.table.as_str();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "table" => {
                    if map.next_value::<String>()? != name {
                        return Err(de::Error::custom(format!("the table {name} has another name")));
                    }
                }
                "rows" => map.next_value_seed(RowsLoader { table: name, sink: self.sink.reborrow(), loaded: 0 })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A table's rows, each checked against the table's columns, sent to the
/// database a chunk at a time.
struct RowsLoader<'a> {
    table: &'a str,
    sink: Sink<'a>,
    /// Rows sent before the chunk being sent.
    loaded: u64,
}

/// Why `row` cannot be loaded into a table of `columns` as it stands:
/// `json_populate_recordset` would drop a key that is no column, load a
/// missing one as `NULL`, turn an object into text, and take `now`,
/// `epoch`, `infinity` or `… BC` for a date (which the server cannot
/// show). A generated column may be there, as a dump writes it (it is not
/// loaded). Checked here, in one parse of the row, rather than in SQL (a
/// query per chunk cost 45 ms per 1,000 rows, half the load).
fn misfit(row: &str, table: &str, columns: &[TableColumn]) -> Option<String> {
    use serde_json::Value;
    if has_nul(row) {
        return Some("a NUL character (\\u0000), which the database cannot store".to_owned());
    }
    let value: Value = match serde_json::from_str(row) {
        Ok(value) => value,
        Err(error) => return Some(format!("not JSON the database reads: {error}")),
    };
    let Value::Object(fields) = &value else {
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        return Some(format!("a JSON {kind}, where a row is an object"));
    };
    let id = fields.get("id").map(|id| format!("id {id}: ")).unwrap_or_default();
    if let Some(unknown) = fields.keys().find(|key| !columns.iter().any(|c| &c.name == *key)) {
        return Some(format!("{id}the key '{unknown}' is no column of {table}"));
    }
    if let Some(missing) = columns.iter().find(|c| !c.generated && !fields.contains_key(&c.name)) {
        return Some(format!("{id}the column '{}' of {table} is missing", missing.name));
    }
    for column in columns {
        let (Some(value), Some(kind)) = (fields.get(&column.name), column.json) else { continue };
        let given = match value {
            Value::Null => continue,
            Value::Bool(_) => JsonKind::Boolean,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => {
                return Some(format!(
                    "{id}'{}' is a JSON array, where the column takes a {}",
                    column.name,
                    kind.as_str()
                ));
            }
            Value::Object(_) => {
                return Some(format!(
                    "{id}'{}' is a JSON object, where the column takes a {}",
                    column.name,
                    kind.as_str()
                ));
            }
        };
        if given != kind {
            return Some(format!(
                "{id}'{}' is a JSON {}, where the column takes a {}",
                column.name,
                given.as_str(),
                kind.as_str()
            ));
        }
        if let (true, Value::String(text)) = (column.dated, value)
            && !written_as_dumped(text)
        {
            return Some(format!(
                "{id}'{}' is '{text}', where a date is written as an export writes it (YYYY-MM-DD, or with a time)",
                column.name
            ));
        }
    }
    None
}

/// A date or a time as PostgreSQL's `row_to_json` writes one: `2026-11-28`,
/// `2026-11-28T10:14:20.386823` or with its offset, `…+00:00`.
fn written_as_dumped(text: &str) -> bool {
    // PostgreSQL writes a year past 9999 with its digits alone (`10000-01-01`),
    // which chrono reads only with a sign: the rest is judged with a year it reads
    let (year, rest) = text.split_once('-').unwrap_or((text, ""));
    let text = if year.len() > 4 && year.bytes().all(|b| b.is_ascii_digit()) {
        std::borrow::Cow::Owned(format!("2000-{rest}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").is_ok()
        || chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%:z").is_ok()
        || chrono::DateTime::parse_from_rfc3339(&text).is_ok()
}

impl<'de> DeserializeSeed<'de> for RowsLoader<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl RowsLoader<'_> {
    /// Sends the chunk `[row,row,…` (closed here); a refusal is kept for
    /// the caller and stops the reading.
    fn send<E: de::Error>(&mut self, chunk: &mut String) -> Result<(), E> {
        chunk.push(']');
        let sent = self.sink.data.load_rows(self.table, chunk);
        chunk.clear();
        chunk.push('[');
        match sent {
            Ok(rows) => {
                self.loaded += rows;
                Ok(())
            }
            Err(error) => {
                *self.sink.failed = Some(match error {
                    StoreError::Refused { row, reason } => LoadError::Refused {
                        table: self.table.to_owned(),
                        row: row.map(|row| self.loaded + row),
                        reason,
                    },
                    other => LoadError::Store(other),
                });
                Err(E::custom("the database refused the rows"))
            }
        }
    }
}

impl<'de> Visitor<'de> for RowsLoader<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of rows")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let (mut chunk, mut in_chunk) = (String::from("["), 0_usize);
        let columns = match self.sink.data.columns(self.table) {
            Ok(columns) => columns,
            Err(error) => {
                *self.sink.failed = Some(LoadError::Store(error));
                return Err(de::Error::custom("the table's columns could not be read"));
            }
        };
        while let Some(row) = seq.next_element::<Box<RawValue>>()? {
            if let Some(reason) = misfit(row.get(), self.table, &columns) {
                *self.sink.failed = Some(LoadError::Refused {
                    table: self.table.to_owned(),
                    row: Some(self.loaded + u64::try_from(in_chunk).unwrap_or(u64::MAX) + 1),
                    reason,
                });
                return Err(de::Error::custom("a row does not fit its table"));
            }
            if in_chunk > 0 {
                chunk.push(',');
            }
            chunk.push_str(row.get());
            in_chunk += 1;
            if in_chunk == LOAD_CHUNK || chunk.len() >= LOAD_BYTES {
                self.send(&mut chunk)?;
                in_chunk = 0;
            }
        }
        if in_chunk > 0 {
            self.send(&mut chunk)?;
        }
        Ok(())
    }
}

/// Whether JSON text escapes a NUL character (`\u0000`, its backslash not
/// itself escaped).
fn has_nul(json: &str) -> bool {
    json.match_indices("u0000").any(|(at, _)| {
        let backslashes = json[..at].bytes().rev().take_while(|b| *b == b'\\').count();
        backslashes % 2 == 1
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use taskforce_domain::{DumpEvent, JsonKind, StoreError, TableColumn, TenantDataRepository, UserId};

    use super::{ExportHead, Hashed, LoadError, load_tables};

    /// Records what it is asked to load: the table and the rows of each
    /// chunk; refuses the table `refused`: as a failure, or, with
    /// `refused_row`, that row of its second chunk.
    #[derive(Default)]
    struct Recorder {
        chunks: Vec<(String, usize)>,
        refused: Option<&'static str>,
        refused_row: Option<u64>,
    }

    impl TenantDataRepository for Recorder {
        fn dump_chunks(
            &mut self,
            _: usize,
            _: &mut dyn FnMut(DumpEvent<'_>) -> Result<(), StoreError>,
        ) -> Result<(), StoreError> {
            Err(StoreError::internal("not dumped here"))
        }
        fn user_ids(&mut self) -> Result<Vec<UserId>, StoreError> {
            Ok(Vec::new())
        }
        fn columns(&mut self, _: &str) -> Result<Vec<TableColumn>, StoreError> {
            Ok(vec![TableColumn { name: "id".into(), generated: false, json: Some(JsonKind::Number), dated: false }])
        }
        fn load_rows(&mut self, table: &str, rows: &str) -> Result<u64, StoreError> {
            if self.refused == Some(table) {
                match self.refused_row {
                    None => return Err(StoreError::internal("refused")),
                    Some(row) if self.chunks.iter().any(|(t, _)| t == table) => {
                        return Err(StoreError::Refused { row: Some(row), reason: "id 7: why".into() });
                    }
                    Some(_) => {}
                }
            }
            let n = serde_json::from_str::<Vec<serde::de::IgnoredAny>>(rows).map_err(StoreError::internal)?.len();
            self.chunks.push((table.to_owned(), n));
            Ok(n as u64)
        }
        fn finish_load(&mut self, _: &[(UserId, UserId)], _: bool) -> Result<(), StoreError> {
            Ok(())
        }
    }

    /// A format-3 document with `tasks` rows in `tasks`, its keys sorted as
    /// a JSON tool writes them (a table's `rows` before its name).
    fn document(tasks: usize) -> String {
        let rows = |n: usize| serde_json::Value::Array((1..=n).map(|id| serde_json::json!({"id": id})).collect());
        let tables: Vec<serde_json::Value> = taskforce_domain::TENANT_TABLES
            .iter()
            .map(|&table| {
                let n = if table == "tasks" { tasks } else { 1 };
                serde_json::json!({"table": table, "count": n, "rows": rows(n)})
            })
            .collect();
        serde_json::json!({
            "format": 3, "exported_at": "2026-11-28T00:00:00Z", "schema_version": "1",
            "tenant": {"slug": "acme", "name": "Acme", "plan": "free", "is_active": true, "allow_signup": false},
            "domains": [], "members": [], "tables": tables,
        })
        .to_string()
    }

    #[test]
    fn a_row_must_fit_its_table_as_a_dump_writes_it() {
        let column = |name: &str, json, dated, generated| TableColumn { name: name.into(), generated, json, dated };
        let columns = [
            column("id", Some(JsonKind::Number), false, false),
            column("title", Some(JsonKind::String), false, false),
            column("due", Some(JsonKind::String), true, false),
            column("rank", Some(JsonKind::Number), false, true),
            column("changes", None, false, false),
        ];
        let judged = |row: &str| super::misfit(row, "tasks", &columns);
        assert_eq!(judged(r#"{"id": 1, "title": "t", "due": "2026-12-01", "changes": {"a": 1}}"#), None);
        assert_eq!(judged(r#"{"id": 1, "title": "t", "due": null, "rank": 3, "changes": []}"#), None);
        assert_eq!(judged(r#"{"id": 1, "title": "t", "due": "2026-11-28T10:14:20.386823+00:00", "changes": 1}"#), None);
        // a year past 9999, as PostgreSQL writes it
        assert_eq!(judged(r#"{"id": 1, "title": "t", "due": "10000-01-01", "changes": 1}"#), None);
        assert!(judged(r#"{"id": 1, "title": "t", "due": "10000-01-01 BC", "changes": 1}"#).is_some());
        for (row, why) in [
            ("7", "a JSON number, where a row is an object"),
            (
                r#"{"id": 1, "title": "t", "due": null, "changes": 1, "titel": "x"}"#,
                "id 1: the key 'titel' is no column of tasks",
            ),
            (r#"{"id": 1, "due": null, "changes": 1}"#, "id 1: the column 'title' of tasks is missing"),
            (
                r#"{"id": 1, "title": {"a": 1}, "due": null, "changes": 1}"#,
                "id 1: 'title' is a JSON object, where the column takes a string",
            ),
            (
                r#"{"id": "1", "title": "t", "due": null, "changes": 1}"#,
                "id \"1\": 'id' is a JSON string, where the column takes a number",
            ),
            (
                r#"{"id": 1, "title": "t", "due": "2026-01-01 infinity", "changes": 1}"#,
                "id 1: 'due' is '2026-01-01 infinity', where a date",
            ),
            (r#"{"id": 1, "title": "t", "due": "epoch", "changes": 1}"#, "id 1: 'due' is 'epoch', where a date"),
        ] {
            assert!(judged(row).is_some_and(|found| found.starts_with(why)), "{row}: {:?}", judged(row));
        }
    }

    #[test]
    fn a_nul_is_told_from_an_escaped_backslash_before_u0000() {
        assert!(super::has_nul(r#"{"a": "x\u0000"}"#));
        assert!(super::has_nul(r#"{"a": "\\\u0000"}"#), "an escaped backslash, then the NUL");
        assert!(!super::has_nul(r#"{"a": "\\u0000"}"#), "the text \\u0000");
        assert!(!super::has_nul(r#"{"a": "u0000"}"#));
    }

    #[test]
    fn rows_are_loaded_a_chunk_at_a_time_under_the_names_the_first_reading_found()
    -> Result<(), Box<dyn std::error::Error>> {
        let text = document(2_500);
        assert!(text.find("\"rows\"") < text.find("\"table\""), "the keys come sorted");
        let head: ExportHead = serde_json::from_str(&text)?;
        let mut recorder = Recorder::default();
        if load_tables(text.as_bytes(), &mut recorder, &head.tables).is_err() {
            return Err("the document did not load".into());
        }
        let tasks: Vec<usize> = recorder.chunks.iter().filter(|(t, _)| t == "tasks").map(|(_, n)| *n).collect();
        assert_eq!(tasks, [1000, 1000, 500]);
        let tables: Vec<&str> = recorder.chunks.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            tables,
            ["projects", "tasks", "tasks", "tasks", "comments", "attachments", "activity", "notifications"]
        );
        Ok(())
    }

    #[test]
    fn a_second_reading_that_differs_or_a_refusal_stops_the_load() -> Result<(), Box<dyn std::error::Error>> {
        let head: ExportHead = serde_json::from_str(&document(3))?;
        // a table renamed since the first reading
        let renamed = document(3).replace("\"comments\"", "\"remarks\"");
        let read = load_tables(renamed.as_bytes(), &mut Recorder::default(), &head.tables);
        assert!(matches!(&read, Err(LoadError::Document(why)) if why.contains("another name")));
        // the database refuses a chunk: its error comes back as it was
        let mut refusing = Recorder { refused: Some("comments"), ..Recorder::default() };
        let read = load_tables(document(3).as_bytes(), &mut refusing, &head.tables);
        assert!(matches!(&read, Err(LoadError::Store(StoreError::Internal(_)))));
        assert_eq!(refusing.chunks.len(), 2, "nothing after the refusal is loaded");
        // a row it blames is named by its place in the table's whole list
        let head: ExportHead = serde_json::from_str(&document(2_500))?;
        let mut blaming = Recorder { refused: Some("tasks"), refused_row: Some(7), ..Recorder::default() };
        let read = load_tables(document(2_500).as_bytes(), &mut blaming, &head.tables);
        assert!(
            matches!(&read, Err(LoadError::Refused { table, row: Some(1007), reason }) if table == "tasks" && reason == "id 7: why"),
            "the 7th row of the second chunk of 1,000"
        );
        // the readings' hashes tell one byte apart
        let digest = |text: &str| -> std::io::Result<u64> {
            let mut hashed = Hashed::new(text.as_bytes());
            std::io::copy(&mut hashed.by_ref(), &mut std::io::sink())?;
            Ok(hashed.digest())
        };
        assert_eq!(digest(&document(3))?, digest(&document(3))?);
        assert_ne!(digest(&document(3))?, digest(&document(3).replace("\"id\":3", "\"id\":4"))?);
        Ok(())
    }
}
