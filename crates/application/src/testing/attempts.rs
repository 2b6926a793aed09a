//! [`FakeAttempts`]: failed-login counters whose windows never end.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use taskforce_domain::AttemptCounter;

/// Counts per key until reset; the time left is always the whole window of
/// the last hit (time does not pass in these tests).
#[derive(Debug, Default)]
pub struct FakeAttempts {
    counts: Mutex<HashMap<String, (u32, u64)>>,
}

impl FakeAttempts {
    /// Whether `key` has a window (counted, perhaps back to 0).
    pub fn has(&self, key: &str) -> bool {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).contains_key(key)
    }
}

impl AttemptCounter for FakeAttempts {
    fn hit(&self, key: &str, window_secs: u64) -> (u32, u64) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = counts.entry(key.to_owned()).or_default();
        *entry = (entry.0 + 1, window_secs);
        *entry
    }

    fn forgive(&self, key: &str) {
        if let Some(entry) = self.counts.lock().unwrap_or_else(PoisonError::into_inner).get_mut(key) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }

    fn reset(&self, key: &str) {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}
