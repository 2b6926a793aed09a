//! [`RedisCache`]: the [`Cache`] port on Redis.

use std::{sync::Arc, time::Duration};

use deadpool_redis::redis::cmd;
use taskforce_domain::{Cache, CacheHealth, INVALIDATED};

use super::Redis;

/// Entries shared by every server instance. When Redis cannot answer,
/// lookups miss (the caller reads the database) and deletions are kept and
/// sent first when it answers again.
#[derive(Debug, Clone)]
pub struct RedisCache {
    redis: Arc<Redis>,
}

impl RedisCache {
    /// A cache over a shared Redis pool.
    pub fn new(redis: Arc<Redis>) -> Self {
        Self { redis }
    }
}

impl Cache for RedisCache {
    fn get_many(&self, keys: &[String]) -> Vec<Option<String>> {
        if keys.is_empty() {
            return Vec::new();
        }
        let keys_owned = keys.to_vec();
        self.redis
            .call("MGET", |mut conn| async move {
                cmd("MGET").arg(&keys_owned).query_async::<Vec<Option<String>>>(&mut conn).await
            })
            .filter(|values| values.len() == keys.len())
            .unwrap_or_else(|| vec![None; keys.len()])
    }

    fn set(&self, key: &str, value: &str, ttl: Duration) {
        let (key, value) = (key.to_owned(), value.to_owned());
        let millis = ttl.as_millis().max(1) as u64;
        let _ = self.redis.call("SET", |mut conn| async move {
            cmd("SET").arg(&key).arg(&value).arg("PX").arg(millis).query_async::<()>(&mut conn).await
        });
    }

    fn add(&self, key: &str, value: &str, ttl: Duration) {
        let (key, value) = (key.to_owned(), value.to_owned());
        let millis = ttl.as_millis().max(1) as u64;
        let _ = self.redis.call("SET NX", |mut conn| async move {
            cmd("SET").arg(&key).arg(&value).arg("NX").arg("PX").arg(millis).query_async::<()>(&mut conn).await
        });
    }

    fn invalidate(&self, keys: &[String], hold: Duration) {
        if keys.is_empty() {
            return;
        }
        let owned = keys.to_vec();
        let millis = hold.as_millis().max(1) as u64;
        let sent = self.redis.call("SET invalidated", |mut conn| async move {
            let mut pipe = deadpool_redis::redis::pipe();
            pipe.atomic();
            for key in &owned {
                pipe.cmd("SET").arg(key).arg(INVALIDATED).arg("PX").arg(millis).ignore();
            }
            pipe.query_async::<()>(&mut conn).await
        });
        if sent.is_none() {
            self.redis.defer_invalidate(keys, hold);
        }
    }

    fn delete(&self, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        let owned = keys.to_vec();
        let sent =
            self.redis.call("DEL", |mut conn| async move { cmd("DEL").arg(&owned).query_async::<()>(&mut conn).await });
        if sent.is_none() {
            self.redis.defer_delete(keys);
        }
    }

    fn take(&self, key: &str) -> Option<String> {
        let owned = key.to_owned();
        self.redis
            .call("GETDEL", |mut conn| async move {
                cmd("GETDEL").arg(&owned).query_async::<Option<String>>(&mut conn).await
            })
            .flatten()
    }

    fn health(&self) -> CacheHealth {
        let pong =
            self.redis.call("PING", |mut conn| async move { cmd("PING").query_async::<String>(&mut conn).await });
        if pong.is_some() { CacheHealth::Ok } else { CacheHealth::Degraded }
    }
}
