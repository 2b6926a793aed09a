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
use taskforce_domain::{StoreError, TenantDataRepository};

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
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "table" => table = Some(map.next_value::<String>()?),
                        "count" => count = map.next_value::<Option<u64>>()?,
                        "rows" => rows = Some(map.next_value::<Counted>()?.0),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
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
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Counted(n))
            }
        }
        deserializer.deserialize_seq(Count)
    }
}

/// Why loading the rows stopped.
pub(super) enum LoadError {
    /// The database refused (a row that breaks a constraint, say).
    Store(StoreError),
    /// The file could not be read.
    Read(std::io::Error),
    /// The document did not read as it had the first time.
    Document(String),
}

/// Reads the document at `reader` again and loads every table's rows into
/// `data`, a chunk at a time, in the document's order: the tables and how
/// many rows each had. `tables` are the document's tables as the first
/// reading found them: a table's rows may come before its name (keys in
/// any order, as a JSON tool that sorts them writes them), so its name is
/// taken from there, and checked when it comes.
pub(super) fn load_tables(
    reader: impl std::io::Read,
    data: &mut dyn TenantDataRepository,
    tables: &[TableSummary],
) -> Result<Vec<(String, u64)>, LoadError> {
    let mut failed = None;
    let mut loaded = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let loader = DocumentLoader { data, failed: &mut failed, loaded: &mut loaded, tables };
    // the whole document, to its end (as the first reading went)
    let read = deserializer.deserialize_map(loader).and_then(|()| deserializer.end());
    match (failed, read) {
        (Some(error), _) => Err(LoadError::Store(error)),
        (None, Err(error)) if error.is_io() => Err(LoadError::Read(error.into())),
        (None, Err(error)) => Err(LoadError::Document(error.to_string())),
        (None, Ok(())) => Ok(loaded),
    }
}

/// The shared state of the loaders below.
struct DocumentLoader<'a> {
    data: &'a mut dyn TenantDataRepository,
    failed: &'a mut Option<StoreError>,
    loaded: &'a mut Vec<(String, u64)>,
    tables: &'a [TableSummary],
}

impl<'de> Visitor<'de> for DocumentLoader<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tenant export")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let DocumentLoader { data, failed, loaded, tables } = self;
        while let Some(key) = map.next_key::<String>()? {
            if key == "tables" {
                let loader = DocumentLoader { data: &mut *data, failed: &mut *failed, loaded: &mut *loaded, tables };
                map.next_value_seed(TablesLoader(loader))?;
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
        let DocumentLoader { data, failed, loaded, tables } = self.0;
        for expected in tables {
            let table = TableLoader { data: &mut *data, failed: &mut *failed, loaded: &mut *loaded, expected };
            if seq.next_element_seed(table)?.is_none() {
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
    data: &'a mut dyn TenantDataRepository,
    failed: &'a mut Option<StoreError>,
    loaded: &'a mut Vec<(String, u64)>,
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
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let name = self.expected.table.as_str();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "table" => {
                    if map.next_value::<String>()? != name {
                        return Err(de::Error::custom(format!("the table {name} has another name")));
                    }
                }
                "rows" => {
                    let rows =
                        map.next_value_seed(RowsLoader { table: name, data: &mut *self.data, failed: self.failed })?;
                    self.loaded.push((name.to_owned(), rows));
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A table's rows, sent to the database a chunk at a time: how many.
struct RowsLoader<'a> {
    table: &'a str,
    data: &'a mut dyn TenantDataRepository,
    failed: &'a mut Option<StoreError>,
}

impl<'de> DeserializeSeed<'de> for RowsLoader<'_> {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl RowsLoader<'_> {
    /// Sends the chunk `[row,row,…` (closed here); a refusal is kept for
    /// the caller and stops the reading.
    fn send<E: de::Error>(&mut self, chunk: &mut String) -> Result<(), E> {
        chunk.push(']');
        let sent = self.data.load_rows(self.table, chunk);
        chunk.clear();
        chunk.push('[');
        sent.map(|_| ()).map_err(|error| {
            *self.failed = Some(error);
            E::custom("the database refused the rows")
        })
    }
}

impl<'de> Visitor<'de> for RowsLoader<'_> {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of rows")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<u64, A::Error> {
        let (mut chunk, mut in_chunk, mut count) = (String::from("["), 0, 0);
        while let Some(row) = seq.next_element::<Box<RawValue>>()? {
            if in_chunk > 0 {
                chunk.push(',');
            }
            chunk.push_str(row.get());
            (in_chunk, count) = (in_chunk + 1, count + 1);
            if in_chunk == LOAD_CHUNK || chunk.len() >= LOAD_BYTES {
                self.send(&mut chunk)?;
                in_chunk = 0;
            }
        }
        if in_chunk > 0 {
            self.send(&mut chunk)?;
        }
        Ok(count)
    }
}
