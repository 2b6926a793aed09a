//! [`RedisAttemptCounter`]: failed-login counters shared by every instance.

use std::sync::Arc;

use deadpool_redis::redis::{Value, cmd, pipe};
use taskforce_domain::AttemptCounter;

use super::Redis;
use crate::MemoryAttemptCounter;

/// Fixed-window counters in Redis (`INCR`, `EXPIRE … NX`). While Redis is
/// away the counting goes on in this process (limits then hold per
/// instance rather than across all of them; see docs/operations.md), and
/// what was counted there still counts once Redis is back, until its
/// window ends.
#[derive(Debug)]
pub struct RedisAttemptCounter {
    redis: Arc<Redis>,
    fallback: MemoryAttemptCounter,
}

impl RedisAttemptCounter {
    /// Counters over a shared Redis pool.
    pub fn new(redis: Arc<Redis>) -> Self {
        Self { redis, fallback: MemoryAttemptCounter::default() }
    }
}

fn remaining(ttl: i64) -> u64 {
    u64::try_from(ttl).unwrap_or(0).max(1)
}

impl AttemptCounter for RedisAttemptCounter {
    fn hit(&self, key: &str, window_secs: u64) -> (u32, u64) {
        let owned = key.to_owned();
        let counted = self.redis.call("INCR", |mut conn| async move {
            let (count, _, ttl): (i64, Value, i64) = pipe()
                .atomic()
                .cmd("INCR")
                .arg(&owned)
                .cmd("EXPIRE")
                .arg(&owned)
                .arg(window_secs)
                .arg("NX")
                .cmd("TTL")
                .arg(&owned)
                .query_async(&mut conn)
                .await?;
            // this attempt is one at least, whatever the key held
            Ok((u32::try_from(count.max(1)).unwrap_or(u32::MAX), remaining(ttl)))
        });
        match counted {
            // what this instance counted while Redis was away adds to what
            // Redis counts now, until its window ends
            Some((count, left)) => match self.fallback.peek(key) {
                (0, _) => (count, left),
                // the wait is the nearer of the two windows' ends
                (local, local_left) => (count.saturating_add(local), left.min(local_left)),
            },
            None => self.fallback.hit(key, window_secs),
        }
    }

    fn forgive(&self, key: &str) {
        let owned = key.to_owned();
        // only a count above zero goes down: `DECR` alone would make a key
        // reset meanwhile (or never made) -1, without an expiry
        let taken = self.redis.call("DECR", |mut conn| async move {
            cmd("EVAL")
                .arg("local n = tonumber(redis.call('GET', KEYS[1])) if n and n > 0 then return redis.call('DECR', KEYS[1]) end return 0")
                .arg(1)
                .arg(&owned)
                .query_async::<i64>(&mut conn)
                .await
        });
        // counted in this process while Redis was away
        if taken.is_none() {
            self.fallback.forgive(key);
        }
    }

    fn reset(&self, key: &str) {
        self.fallback.reset(key);
        let owned = key.to_owned();
        let sent =
            self.redis.call("DEL", |mut conn| async move { cmd("DEL").arg(&owned).query_async::<()>(&mut conn).await });
        if sent.is_none() {
            self.redis.defer_delete(&[key.to_owned()]);
        }
    }
}
