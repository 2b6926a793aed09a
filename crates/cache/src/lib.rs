//! # TaskForce shared-state adapters
//!
//! In-process implementations of the core's ports, used when no Redis is
//! configured (the embedded default): [`MemoryAttemptCounter`].

mod attempts;

pub use attempts::MemoryAttemptCounter;
