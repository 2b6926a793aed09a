//! Redis adapters over one shared, timeout-guarded pool.

mod attempts;
mod bus;
mod cache;
mod connection;

pub use attempts::RedisAttemptCounter;
pub use bus::RedisBus;
pub use cache::RedisCache;
pub use connection::{Redis, RedisError};
