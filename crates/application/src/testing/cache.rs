//! [`FakeCache`]: a cache in this process's memory whose entries never
//! expire (time does not pass in these tests).

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use taskforce_domain::{Cache, CacheHealth, INVALIDATED};

/// Entries by key; an invalidated key holds [`INVALIDATED`], which reads as
/// a miss and which `add` does not overwrite — for good, where `MemoryCache`
/// and Redis let it go after the hold (time does not pass here), and where
/// they hand the marker to the reader, which fails to parse it (a miss too).
#[derive(Debug, Default)]
pub struct FakeCache {
    entries: Mutex<HashMap<String, String>>,
}

impl FakeCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Cache for FakeCache {
    fn get_many(&self, keys: &[String]) -> Vec<Option<String>> {
        let entries = self.entries();
        keys.iter().map(|key| entries.get(key).filter(|value| value.as_str() != INVALIDATED).cloned()).collect()
    }

    fn get_many_in_memory(&self, keys: &[String]) -> Option<Vec<Option<String>>> {
        Some(self.get_many(keys))
    }

    fn set(&self, key: &str, value: &str, _: Duration) {
        self.entries().insert(key.to_owned(), value.to_owned());
    }

    fn add(&self, key: &str, value: &str, _: Duration) {
        self.entries().entry(key.to_owned()).or_insert_with(|| value.to_owned());
    }

    fn delete(&self, keys: &[String]) {
        let mut entries = self.entries();
        for key in keys {
            entries.remove(key);
        }
    }

    fn invalidate(&self, keys: &[String], _: Duration) {
        let mut entries = self.entries();
        for key in keys {
            entries.insert(key.clone(), INVALIDATED.to_owned());
        }
    }

    fn take(&self, key: &str) -> Option<String> {
        self.entries().remove(key).filter(|value| value != INVALIDATED)
    }

    fn health(&self) -> CacheHealth {
        CacheHealth::Disabled
    }
}
