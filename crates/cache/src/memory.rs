//! [`MemoryCache`]: the in-process cache used when no Redis is configured.

use std::{
    collections::HashMap,
    sync::{Mutex, TryLockError},
    time::{Duration, Instant},
};

use taskforce_domain::{Cache, CacheHealth, INVALIDATED};

/// Entries in this process's memory, with expiry and a bound on their
/// number: when full, expired entries are swept, then the entries closest to
/// expiry are dropped, never an invalidation marker.
#[derive(Debug)]
pub struct MemoryCache {
    entries: Mutex<HashMap<String, (String, Instant)>>,
    capacity: usize,
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::with_capacity(100_000)
    }
}

impl MemoryCache {
    /// A cache holding at most `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores under the held lock, making room first when full: expired
    /// entries go, then a tenth of the entries closest to expiry, never an
    /// invalidation marker (it keeps a stale read from filling its key).
    fn store(&self, entries: &mut HashMap<String, (String, Instant)>, key: &str, value: &str, expires: Instant) {
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            let now = Instant::now();
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= self.capacity {
                let mut by_expiry: Vec<(String, Instant)> = entries
                    .iter()
                    .filter(|(_, (value, _))| value != INVALIDATED)
                    .map(|(k, (_, e))| (k.clone(), *e))
                    .collect();
                by_expiry.sort_by_key(|(_, expires)| *expires);
                for (key, _) in by_expiry.into_iter().take(self.capacity / 10 + 1) {
                    entries.remove(&key);
                }
            }
        }
        entries.insert(key.to_owned(), (value.to_owned(), expires));
    }

    /// How many entries are held (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The unexpired values of `keys`, in order.
fn live_values(entries: &HashMap<String, (String, Instant)>, keys: &[String]) -> Vec<Option<String>> {
    let now = Instant::now();
    keys.iter()
        .map(|key| entries.get(key).filter(|(_, expires)| *expires > now).map(|(value, _)| value.clone()))
        .collect()
}

impl Cache for MemoryCache {
    fn get_many(&self, keys: &[String]) -> Vec<Option<String>> {
        live_values(&self.lock(), keys)
    }

    /// Never waits for the lock: this is called on an async worker, and a
    /// write that finds the cache full holds the lock while it sweeps; then
    /// the caller falls back to [`get_many`](Cache::get_many) on a blocking thread.
    fn get_many_in_memory(&self, keys: &[String]) -> Option<Vec<Option<String>>> {
        let entries = match self.entries.try_lock() {
            Ok(entries) => entries,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        Some(live_values(&entries, keys))
    }

    fn set(&self, key: &str, value: &str, ttl: Duration) {
        self.store(&mut self.lock(), key, value, Instant::now() + ttl);
    }

    /// Checks and stores under one hold of the lock, so an invalidation
    /// cannot slip in between.
    fn add(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.get(key).is_none_or(|(_, expires)| *expires <= now) {
            self.store(&mut entries, key, value, now + ttl);
        }
    }

    fn invalidate(&self, keys: &[String], hold: Duration) {
        for key in keys {
            self.set(key, INVALIDATED, hold);
        }
    }

    fn delete(&self, keys: &[String]) {
        let mut entries = self.lock();
        for key in keys {
            entries.remove(key);
        }
    }

    fn take(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        self.lock().remove(key).filter(|(_, expires)| *expires > now).map(|(value, _)| value)
    }

    fn health(&self) -> CacheHealth {
        CacheHealth::Disabled
    }

    /// Drops every entry but the invalidation markers, which still keep
    /// reads that began before a change from filling their keys.
    fn clear_local(&self) {
        self.lock().retain(|_, (value, _)| value == INVALIDATED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn answers_in_memory_without_waiting_for_the_lock() {
        let cache = MemoryCache::default();
        cache.set("tf:1:a", "one", Duration::from_secs(60));
        cache.set("tf:1:gone", "x", Duration::ZERO);
        let wanted = keys(&["tf:1:a", "tf:1:gone", "tf:1:never"]);
        assert_eq!(cache.get_many_in_memory(&wanted), Some(vec![Some("one".to_owned()), None, None]));
        let held = cache.lock();
        assert_eq!(cache.get_many_in_memory(&wanted), None, "a held lock is not waited for");
        drop(held);
        assert_eq!(cache.get_many_in_memory(&wanted), Some(cache.get_many(&wanted)));
    }

    #[test]
    fn stores_expires_and_deletes() {
        let cache = MemoryCache::default();
        cache.set("tf:1:a", "one", Duration::from_secs(60));
        cache.set("tf:1:gone", "x", Duration::ZERO);
        assert_eq!(
            cache.get_many(&keys(&["tf:1:a", "tf:1:gone", "tf:1:none"])),
            vec![Some("one".to_owned()), None, None]
        );
        cache.delete(&keys(&["tf:1:a"]));
        assert_eq!(cache.get_many(&keys(&["tf:1:a"])), vec![None]);
        assert_eq!(cache.health(), CacheHealth::Disabled);
    }

    #[test]
    fn add_fills_only_free_keys_and_an_invalidation_holds_them() {
        let cache = MemoryCache::default();
        cache.add("tf:1:a", "first", Duration::from_secs(60));
        cache.add("tf:1:a", "second", Duration::from_secs(60));
        cache.set("tf:1:b", "live", Duration::from_secs(60));
        cache.invalidate(&keys(&["tf:1:b", "tf:1:c"]), Duration::from_secs(60));
        cache.add("tf:1:b", "stale", Duration::from_secs(60));
        cache.invalidate(&keys(&["tf:1:d"]), Duration::ZERO);
        cache.add("tf:1:d", "after the hold", Duration::from_secs(60));
        assert_eq!(
            cache.get_many(&keys(&["tf:1:a", "tf:1:b", "tf:1:c", "tf:1:d"])),
            vec![
                Some("first".to_owned()),
                Some(INVALIDATED.to_owned()),
                Some(INVALIDATED.to_owned()),
                Some("after the hold".to_owned())
            ]
        );
    }

    #[test]
    fn clearing_keeps_only_the_invalidation_markers() {
        let cache = MemoryCache::default();
        cache.set("tf:global:host:a.example.com", "entry", Duration::from_secs(600));
        cache.set("tf:1:member:2", "entry", Duration::from_secs(600));
        cache.invalidate(&keys(&["tf:1:session:3"]), Duration::from_secs(60));
        cache.clear_local();
        assert_eq!(cache.len(), 1);
        cache.add("tf:1:session:3", "read before the change", Duration::from_secs(600));
        cache.add("tf:1:member:2", "read afresh", Duration::from_secs(600));
        assert_eq!(
            cache.get_many(&keys(&["tf:global:host:a.example.com", "tf:1:member:2", "tf:1:session:3"])),
            vec![None, Some("read afresh".to_owned()), Some(INVALIDATED.to_owned())]
        );
    }

    #[test]
    fn making_room_never_drops_an_invalidation_marker() {
        let cache = MemoryCache::with_capacity(10);
        cache.invalidate(&keys(&["tf:1:member:2"]), Duration::from_secs(30));
        for i in 0..100 {
            cache.set(&format!("k{i}"), "v", Duration::from_secs(600 + i));
        }
        cache.add("tf:1:member:2", "read before the change", Duration::from_secs(600));
        assert_eq!(cache.get_many(&keys(&["tf:1:member:2"])), vec![Some(INVALIDATED.to_owned())]);
    }

    #[test]
    fn stays_within_its_capacity() {
        let cache = MemoryCache::with_capacity(10);
        for i in 0..100 {
            cache.set(&format!("k{i}"), "v", Duration::from_secs(60 + i));
        }
        assert!(cache.len() <= 10);
        assert_eq!(cache.get_many(&keys(&["k99"])), vec![Some("v".to_owned())]);
    }
}
