//! [`FakeFiles`]: a file store in memory, by tenant area and key.

use std::{
    collections::BTreeMap,
    io::{Cursor, Read},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use taskforce_domain::{FileError, FileStore, SchemaName, StorageKey, StoredFile};

/// Files in memory; keys `k1`, `k2`, … Set `broken` to make every call fail.
#[derive(Debug, Default)]
pub struct FakeFiles {
    files: Mutex<BTreeMap<(SchemaName, StorageKey), Vec<u8>>>,
    issued: AtomicU64,
}

impl FakeFiles {
    /// Every stored file: `(area, key, bytes)`.
    pub fn all(&self) -> Vec<(SchemaName, StorageKey, Vec<u8>)> {
        let files = self.files.lock().map(|f| f.clone()).unwrap_or_default();
        files.into_iter().map(|((area, key), bytes)| (area, key, bytes)).collect()
    }
}

impl FileStore for FakeFiles {
    fn put(&self, area: &SchemaName, content: &mut dyn Read, limit: u64) -> Result<StoredFile, FileError> {
        let mut bytes = Vec::new();
        content.take(limit + 1).read_to_end(&mut bytes).map_err(|e| FileError::Interrupted(e.to_string()))?;
        if bytes.len() as u64 > limit {
            return Err(FileError::TooLarge { limit });
        }
        let number = self.issued.fetch_add(1, Ordering::Relaxed) + 1;
        let key = StorageKey::parse(&format!("k{number}")).ok_or_else(|| FileError::Io("bad key".into()))?;
        let size = bytes.len() as u64;
        self.files.lock().map_err(|_| FileError::Io("poisoned".into()))?.insert((area.clone(), key.clone()), bytes);
        Ok(StoredFile { key, size })
    }

    fn open(&self, area: &SchemaName, key: &StorageKey) -> Result<Box<dyn Read + Send>, FileError> {
        let files = self.files.lock().map_err(|_| FileError::Io("poisoned".into()))?;
        let bytes = files.get(&(area.clone(), key.clone())).ok_or(FileError::NotFound)?;
        Ok(Box::new(Cursor::new(bytes.clone())))
    }

    fn delete(&self, area: &SchemaName, keys: &[StorageKey]) -> Result<(), FileError> {
        let mut files = self.files.lock().map_err(|_| FileError::Io("poisoned".into()))?;
        for key in keys {
            files.remove(&(area.clone(), key.clone()));
        }
        Ok(())
    }

    fn delete_area(&self, area: &SchemaName) -> Result<(), FileError> {
        self.files.lock().map_err(|_| FileError::Io("poisoned".into()))?.retain(|(a, _), _| a != area);
        Ok(())
    }

    fn check(&self) -> Result<(), FileError> {
        Ok(())
    }
}
