//! # TaskForce shared-state adapters
//!
//! In-process implementations of the core's ports, used when no Redis is
//! configured (the embedded default): [`MemoryCache`] and
//! [`MemoryAttemptCounter`].

mod attempts;
mod memory;

pub use attempts::MemoryAttemptCounter;
pub use memory::MemoryCache;
