//! # TaskForce shared-state adapters
//!
//! Implementations of the core's [`Cache`](taskforce_domain::Cache),
//! [`AttemptCounter`](taskforce_domain::AttemptCounter) and
//! [`Bus`](taskforce_domain::Bus) ports: on Redis ([`RedisCache`],
//! [`RedisAttemptCounter`], [`RedisBus`], sharing one [`Redis`] pool whose
//! calls time out quickly and fall back), and in process for the embedded
//! default ([`MemoryCache`], [`MemoryAttemptCounter`], [`MemoryBus`]).

mod attempts;
mod bus;
mod memory;
mod redis;

pub use attempts::MemoryAttemptCounter;
pub use bus::MemoryBus;
pub use memory::MemoryCache;
pub use redis::{Redis, RedisAttemptCounter, RedisBus, RedisCache, RedisError};
