//! # TaskForce security adapters
//!
//! [`Argon2Hasher`] implements the core's [`PasswordHasher`] port with
//! argon2id.

mod password;

pub use password::{Argon2Hasher, HashCost};
pub use taskforce_domain::PasswordHasher;
