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
/// Each entry keeps the time to live it was stored with, for tests that
/// check it.
#[derive(Debug, Default)]
pub struct FakeCache {
    entries: Mutex<HashMap<String, (String, Duration)>>,
}

impl FakeCache {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Duration)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The time to live a key's entry was stored with, if it holds one
    /// (not a marker).
    pub fn ttl_of(&self, key: &str) -> Option<Duration> {
        self.entries().get(key).filter(|(value, _)| value != INVALIDATED).map(|(_, ttl)| *ttl)
    }
}

impl Cache for FakeCache {
    fn get_many(&self, keys: &[String]) -> Vec<Option<String>> {
        let entries = self.entries();
        keys.iter()
            .map(|key| entries.get(key).filter(|(value, _)| value != INVALIDATED).map(|(value, _)| value.clone()))
            .collect()
    }

    fn get_many_in_memory(&self, keys: &[String]) -> Option<Vec<Option<String>>> {
        Some(self.get_many(keys))
    }

    fn set(&self, key: &str, value: &str, ttl: Duration) {
        self.entries().insert(key.to_owned(), (value.to_owned(), ttl));
    }

    fn add(&self, key: &str, value: &str, ttl: Duration) {
        self.entries().entry(key.to_owned()).or_insert_with(|| (value.to_owned(), ttl));
    }

    fn delete(&self, keys: &[String]) {
        let mut entries = self.entries();
        for key in keys {
            entries.remove(key);
        }
    }

    fn invalidate(&self, keys: &[String], hold: Duration) {
        let mut entries = self.entries();
        for key in keys {
            entries.insert(key.clone(), (INVALIDATED.to_owned(), hold));
        }
    }

    fn take(&self, key: &str) -> Option<String> {
        self.entries().remove(key).map(|(value, _)| value).filter(|value| value != INVALIDATED)
    }

    fn health(&self) -> CacheHealth {
        CacheHealth::Disabled
    }

    /// As `MemoryCache`: the markers stay.
    fn clear_local(&self) {
        self.entries().retain(|_, (value, _)| value == INVALIDATED);
    }
}
