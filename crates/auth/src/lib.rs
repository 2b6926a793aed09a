//! # TaskForce security adapters
//!
//! Implementations of the core's security ports: [`Argon2Hasher`]
//! (argon2id passwords; Django's hashes verified and replaced at login),
//! [`JwtCodec`] (tenant-bound HS256 JWTs) and
//! [`OsSecrets`] (random tokens, SHA-256 digests).

mod django;
mod password;
mod secrets;
mod token;
mod workers;

pub use password::{Argon2Hasher, HashCost};
pub use secrets::OsSecrets;
pub use token::{JwtCodec, audience, epoch};
