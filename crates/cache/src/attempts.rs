//! Fixed-window counters in process memory.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use taskforce_domain::AttemptCounter;

/// Counters in this process, bounded in size: when full, expired windows
/// are swept, and if still full the oldest window is dropped.
#[derive(Debug)]
pub struct MemoryAttemptCounter {
    windows: Mutex<HashMap<String, (u32, Instant, Duration)>>,
    capacity: usize,
}

impl Default for MemoryAttemptCounter {
    fn default() -> Self {
        Self::with_capacity(100_000)
    }
}

impl MemoryAttemptCounter {
    /// At most `capacity` keys are tracked at once.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { windows: Mutex::new(HashMap::new()), capacity: capacity.max(1) }
    }

    /// The count in the current window and the seconds until it ends,
    /// without recording anything.
    pub fn peek(&self, key: &str) -> (u32, u64) {
        let now = Instant::now();
        match self.lock().get(key) {
            Some((count, started, window)) if now.duration_since(*started) < *window => {
                (*count, remaining(*started, *window, now))
            }
            _ => (0, 0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Instant, Duration)>> {
        self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Drops a tenth of a full counter's windows (one at least), those with
/// the fewest attempts first and, among equals, the newest: a window that
/// holds an account's failures outlives the attempts of names nobody has,
/// however many of them come, and a flood pushed to the same count (at the
/// cost of a password hash per attempt) makes room among its own, newer
/// windows. A tenth at a time, so a counter kept full costs one partial
/// sort per tenth of its size, not a scan per attempt.
fn make_room(windows: &mut HashMap<String, (u32, Instant, Duration)>, capacity: usize) {
    let mut ranked: Vec<(u32, std::cmp::Reverse<Instant>, &String)> =
        windows.iter().map(|(key, (count, started, _))| (*count, std::cmp::Reverse(*started), key)).collect();
    let drop = (capacity / 10).clamp(1, ranked.len());
    ranked.select_nth_unstable(drop - 1);
    let dropped: Vec<String> = ranked[..drop].iter().map(|(_, _, key)| (*key).clone()).collect();
    for key in dropped {
        windows.remove(&key);
    }
}

fn remaining(started: Instant, window: Duration, now: Instant) -> u64 {
    window.saturating_sub(now.duration_since(started)).as_secs().max(1)
}

impl AttemptCounter for MemoryAttemptCounter {
    fn hit(&self, key: &str, window_secs: u64) -> (u32, u64) {
        let now = Instant::now();
        let window = Duration::from_secs(window_secs);
        let mut windows = self.lock();
        if windows.len() >= self.capacity && !windows.contains_key(key) {
            windows.retain(|_, (_, started, length)| now.duration_since(*started) < *length);
            if windows.len() >= self.capacity {
                make_room(&mut windows, self.capacity);
            }
        }
        let entry = windows.entry(key.to_owned()).or_insert((0, now, window));
        if now.duration_since(entry.1) >= entry.2 {
            *entry = (0, now, window);
        }
        entry.0 += 1;
        (entry.0, remaining(entry.1, entry.2, now))
    }

    fn forgive(&self, key: &str) {
        let now = Instant::now();
        if let Some((count, started, window)) = self.lock().get_mut(key)
            && now.duration_since(*started) < *window
        {
            *count = count.saturating_sub(1);
        }
    }

    fn reset(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets() {
        let counter = MemoryAttemptCounter::default();
        assert_eq!(counter.peek("k"), (0, 0));
        assert_eq!(counter.hit("k", 60).0, 1);
        let (count, left) = counter.hit("k", 60);
        assert_eq!(count, 2);
        assert!((1..=60).contains(&left));
        assert_eq!(counter.peek("k").0, 2);
        assert_eq!(counter.peek("other").0, 0);
        counter.reset("k");
        assert_eq!(counter.peek("k").0, 0);
    }

    #[test]
    fn stays_within_its_capacity() {
        let counter = MemoryAttemptCounter::with_capacity(3);
        for key in ["a", "b", "c", "d", "e"] {
            counter.hit(key, 60);
        }
        assert_eq!(counter.lock().len(), 3);
        assert_eq!(counter.peek("e").0, 1);
    }

    /// A flood of attempts under new keys (names nobody has) makes room
    /// among its own kind: an account's failures stay counted, even when
    /// the flood's keys reach the same count.
    #[test]
    fn a_flood_of_new_keys_does_not_wipe_counted_failures() {
        let counter = MemoryAttemptCounter::with_capacity(1_000);
        for _ in 0..5 {
            counter.hit("user:7", 900);
        }
        for n in 0..20_000 {
            counter.hit(&format!("name:zz{n}"), 900);
        }
        assert!(counter.lock().len() <= 1_000);
        assert_eq!(counter.peek("user:7").0, 5, "the victim's failures were wiped");
        assert_eq!(counter.peek("name:zz19999").0, 1, "the newest key is counted");
        for n in 0..5_000 {
            for _ in 0..5 {
                counter.hit(&format!("name:yy{n}"), 900);
            }
        }
        assert_eq!(counter.peek("user:7").0, 5, "the victim's older window was dropped among equals");
    }
}
