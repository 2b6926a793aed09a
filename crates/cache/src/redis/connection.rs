//! [`Redis`]: the connection pool every Redis adapter shares, with a short
//! timeout on each call, a circuit breaker, and invalidations that could not
//! be sent kept until Redis answers again.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use deadpool_redis::{
    Config, Pool, PoolConfig, Runtime, Timeouts,
    redis::{RedisResult, aio::MultiplexedConnection},
};

/// How long the breaker stays open after a failure before Redis is tried again.
const BACKOFF: Duration = Duration::from_secs(1);

/// Deletions kept while Redis is away; past this the whole `tf:` keyspace is
/// cleared when it returns.
const MAX_PENDING: usize = 10_000;

/// Why Redis could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up Redis: {0}")]
pub struct RedisError(pub String);

#[derive(Debug, Default)]
struct Pending {
    /// Each key, and the hold of its invalidation marker in milliseconds
    /// (`None`: a plain deletion). A key both deleted and invalidated is
    /// invalidated: the marker keeps a stale read from filling it again.
    keys: BTreeMap<String, Option<u64>>,
    overflowed: bool,
}

/// A pool of Redis connections driven by a small runtime of its own, so that
/// synchronous callers (use cases on the blocking pool, the CLI) can use it.
/// Every call gives up after `timeout`; after a failure Redis is skipped for
/// a second (callers fall back to the database), then tried again.
pub struct Redis {
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    client_url: String,
    timeout: Duration,
    healthy: AtomicBool,
    retry_at: Mutex<Option<Instant>>,
    pending: Mutex<Pending>,
    /// One multiplexed connection serves every call concurrently; taken out
    /// of the pool so that calls do not pay the pool's PING on check-out,
    /// and replaced from the pool when it breaks.
    shared: Arc<Mutex<Option<MultiplexedConnection>>>,
    /// Held while the shared connection is being made (from the start by
    /// the start-up connection): calls that find none wait for that one
    /// rather than each opening its own.
    making: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("timeout", &self.timeout).field("healthy", &self.healthy).finish_non_exhaustive()
    }
}

impl Redis {
    /// A pool for `url` (`redis://host:port/db`); connects in the background
    /// at once (calls meanwhile wait for that connection, within their
    /// time-out), and again after a failure.
    pub fn new(url: &str, timeout: Duration, max_connections: usize) -> Result<Self, RedisError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("redis-io")
            .enable_all()
            .build()
            .map_err(|e| RedisError(e.to_string()))?;
        let mut config = Config::from_url(url);
        config.pool = Some(PoolConfig {
            max_size: max_connections,
            timeouts: Timeouts { wait: Some(timeout), create: Some(timeout), recycle: Some(timeout) },
            ..PoolConfig::default()
        });
        let pool = {
            let _entered = runtime.enter();
            config.create_pool(Some(Runtime::Tokio1))
        };
        let pool = match pool {
            Ok(pool) => pool,
            Err(error) => {
                // dropped here, a runtime blocks on its threads, which tokio
                // refuses (a panic) inside the server's own runtime
                runtime.shutdown_background();
                return Err(RedisError(error.to_string()));
            }
        };
        // connect in the background, with more patience than a request has,
        // so that the first requests find the shared connection waiting (a
        // burst of first requests would otherwise each open one, within
        // their short time-out)
        let (warm, shared) = (pool.clone(), Arc::new(Mutex::new(None)));
        let (warmed, making) = (shared.clone(), Arc::new(tokio::sync::Mutex::new(())));
        // taken here, before any call can look: the first calls wait for it
        let warming = making.clone().try_lock_owned().map_err(|e| RedisError(e.to_string()))?;
        runtime.spawn(async move {
            let _warming = warming;
            if let Ok(Ok(conn)) = tokio::time::timeout(Duration::from_secs(2), pooled(&warm)).await {
                let conn = deadpool_redis::Connection::take(conn);
                warmed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(conn);
            }
        });
        Ok(Self {
            runtime: Some(runtime),
            pool,
            client_url: url.to_owned(),
            timeout,
            healthy: AtomicBool::new(true),
            retry_at: Mutex::new(None),
            pending: Mutex::new(Pending::default()),
            shared,
            making,
        })
    }

    /// The URL (for the subscriber's own connection).
    pub(crate) fn url(&self) -> &str {
        &self.client_url
    }

    /// The runtime's handle (for background tasks).
    pub(crate) fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.runtime.as_ref().map(|r| r.handle().clone())
    }

    /// Whether the last call succeeded.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn breaker_open(&self) -> bool {
        let retry_at = self.retry_at.lock().unwrap_or_else(|p| p.into_inner());
        retry_at.is_some_and(|at| Instant::now() < at)
    }

    fn failed(&self, what: &str, error: &str) {
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::warn!(%error, call = what, "Redis unavailable; using the database until it answers again");
        }
        *self.retry_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + BACKOFF);
    }

    fn succeeded(&self) {
        if !self.healthy.swap(true, Ordering::Relaxed) {
            tracing::info!("Redis answers again");
        }
        *self.retry_at.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The shared connection, or a new one from the pool.
    async fn connection(&self) -> RedisResult<MultiplexedConnection> {
        if let Some(conn) = self.shared.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(conn);
        }
        let _making = self.making.lock().await;
        // made meanwhile by the call that held the lock
        if let Some(conn) = self.shared.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(conn);
        }
        let conn = deadpool_redis::Connection::take(pooled(&self.pool).await?);
        *self.shared.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn.clone());
        Ok(conn)
    }

    /// Runs one Redis operation with the timeout. `None` when Redis is
    /// skipped (breaker open), times out or fails. Deletions that could not
    /// be sent earlier go first; while they cannot be sent, nothing else is.
    pub(crate) fn call<T, F>(&self, what: &str, operation: impl FnOnce(MultiplexedConnection) -> F) -> Option<T>
    where
        F: Future<Output = RedisResult<T>>,
    {
        if self.breaker_open() {
            return None;
        }
        let runtime = self.runtime.as_ref()?;
        if !self.flush_pending(runtime) {
            return None;
        }
        let connected = AtomicBool::new(false);
        let attempt = async {
            let conn = self.connection().await?;
            connected.store(true, Ordering::Relaxed);
            operation(conn).await
        };
        // the timer is made inside the adapter's runtime: callers need none
        let outcome = runtime.block_on(async { tokio::time::timeout(self.timeout, attempt).await });
        match outcome {
            Ok(Ok(value)) => {
                self.succeeded();
                Some(value)
            }
            Ok(Err(error)) => {
                self.reconnect();
                self.failed(what, &error.to_string());
                None
            }
            Err(_) => {
                // a call that timed out waiting for the connection to be
                // made leaves that connection to the others
                if connected.load(Ordering::Relaxed) {
                    self.reconnect();
                }
                self.failed(what, "timed out");
                None
            }
        }
    }

    /// Drops the shared connection; the next call takes a fresh one.
    fn reconnect(&self) {
        *self.shared.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Tries, for up to a second, to send deletions still kept; for
    /// processes about to exit (tenant-admin). Returns how many could not be
    /// sent (0 when all went, or none were kept).
    pub fn settle(&self) -> usize {
        let Some(runtime) = self.runtime.as_ref() else { return 0 };
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            *self.retry_at.lock().unwrap_or_else(|p| p.into_inner()) = None;
            if self.flush_pending(runtime) {
                return 0;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.overflowed { usize::MAX } else { pending.keys.len() }
    }

    /// Remembers deletions that could not be sent.
    pub(crate) fn defer_delete(&self, keys: &[String]) {
        self.defer(keys, None);
    }

    /// Remembers invalidations that could not be sent: when Redis returns
    /// they are sent as they would have been, markers held for `hold`, not
    /// as deletions (after a deletion, a read of the old value that was in
    /// flight could fill the key again).
    pub(crate) fn defer_invalidate(&self, keys: &[String], hold: Duration) {
        self.defer(keys, Some(u64::try_from(hold.as_millis()).unwrap_or(u64::MAX).max(1)));
    }

    fn defer(&self, keys: &[String], hold: Option<u64>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.keys.len() + keys.len() > MAX_PENDING {
            pending.overflowed = true;
            pending.keys.clear();
        } else if !pending.overflowed {
            for key in keys {
                let kept = pending.keys.entry(key.clone()).or_insert(hold);
                *kept = (*kept).max(hold);
            }
        }
    }

    fn flush_pending(&self, runtime: &tokio::runtime::Runtime) -> bool {
        let (keys, overflowed) = {
            let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            if pending.keys.is_empty() && !pending.overflowed {
                return true;
            }
            (pending.keys.iter().map(|(key, hold)| (key.clone(), *hold)).collect::<Vec<_>>(), pending.overflowed)
        };
        let to_send = keys.clone();
        let connected = AtomicBool::new(false);
        let send = async {
            let mut conn = self.connection().await?;
            connected.store(true, Ordering::Relaxed);
            if overflowed {
                clear_keyspace(&mut conn).await
            } else {
                let mut pipe = deadpool_redis::redis::pipe();
                pipe.atomic();
                for (key, hold) in &to_send {
                    match hold {
                        Some(millis) => {
                            pipe.cmd("SET").arg(key).arg(taskforce_domain::INVALIDATED).arg("PX").arg(*millis).ignore()
                        }
                        None => pipe.cmd("DEL").arg(key).ignore(),
                    };
                }
                pipe.query_async::<()>(&mut conn).await
            }
        };
        let sent = runtime.block_on(async { tokio::time::timeout(self.timeout * 10, send).await });
        match sent {
            Ok(Ok(())) => {
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                for (key, _) in &keys {
                    pending.keys.remove(key);
                }
                if overflowed {
                    pending.overflowed = false;
                }
                tracing::info!(
                    keys = keys.len(),
                    cleared_all = overflowed,
                    "sent the invalidations kept while Redis was away"
                );
                true
            }
            _ => {
                // one that timed out waiting for the connection to be made
                // leaves that connection to the others
                if connected.load(Ordering::Relaxed) {
                    self.reconnect();
                }
                self.failed("flush", "deferred invalidations not sent");
                false
            }
        }
    }
}

/// A pooled connection, pool errors turned into Redis errors.
pub(crate) async fn pooled(pool: &Pool) -> RedisResult<deadpool_redis::Connection> {
    pool.get().await.map_err(|e| deadpool_redis::redis::RedisError::from(std::io::Error::other(e.to_string())))
}

/// The prefix of the login failure counters' keys.
const LOGIN_COUNTERS: &str = "tf:global:login-";

/// Deletes every `tf:` entry of the cache (after too many invalidations were
/// missed); the login failure counters are no cache entries, and stay.
async fn clear_keyspace(conn: &mut MultiplexedConnection) -> RedisResult<()> {
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = deadpool_redis::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("tf:*")
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await?;
        let entries: Vec<&String> = keys.iter().filter(|key| !key.starts_with(LOGIN_COUNTERS)).collect();
        if !entries.is_empty() {
            deadpool_redis::redis::cmd("DEL").arg(&entries).query_async::<()>(conn).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // a runtime may not be dropped inside another one's async context
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Redis;

    /// A URL that cannot be used is an error, also inside another runtime
    /// (`serve`'s), where dropping the pool's own runtime used to panic.
    #[tokio::test]
    async fn an_unusable_url_is_an_error_inside_a_runtime_too() {
        for url in [
            "notaurl",
            "redis://127.0.0.1:abc/1",
            "redis://127.0.0.1:6379/abc",
            "http://127.0.0.1:6379",
            "rediss://127.0.0.1/1",
        ] {
            let outcome = Redis::new(url, Duration::from_millis(100), 2);
            assert!(outcome.is_err(), "{url}");
        }
    }
}
