//! In-memory fakes of the domain's ports, for the use cases' unit tests,
//! and a [`World`] that wires them into the use cases.
//!
//! These are TaskForce's only fakes; everything outside this crate's unit
//! tests runs against the real adapters. The store keeps the rules the
//! PostgreSQL schema enforces, under the same constraint names, and rolls a
//! failed unit of work back, so that a use case relying on a constraint or
//! on a rollback is tested for it.

mod attempts;
mod bus;
mod cache;
mod clock;
mod files;
mod hasher;
mod mailer;
mod secrets;
mod store;
mod tokens;
mod world;

pub use attempts::FakeAttempts;
pub use bus::FakeBus;
pub use cache::FakeCache;
pub use clock::ManualClock;
pub use files::FakeFiles;
pub use hasher::{FakeHasher, MeanwhileHasher, OLD_PREFIX};
pub use mailer::FakeMailer;
pub use secrets::FakeSecrets;
pub use store::{FAKE_SCHEMA_VERSION, FakeStore};
pub use tokens::FakeCodec;
pub use world::{PASSWORD, PLATFORM_DOMAIN, TestResult, World, refused};
