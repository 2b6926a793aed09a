//! [`FakeHasher`]: passwords "hashed" as readable text.

use taskforce_domain::{HashError, PasswordHasher};

const PREFIX: &str = "hashed:";

/// The prefix of a hash this hasher still verifies but would replace
/// (another algorithm's, say a predecessor product's): `old:pw`.
pub const OLD_PREFIX: &str = "old:";

/// Hashes `pw` as `hashed:pw`: instant, and plain in assertions.
#[derive(Debug, Default)]
pub struct FakeHasher;

impl PasswordHasher for FakeHasher {
    fn hash(&self, password: &str) -> Result<String, HashError> {
        Ok(format!("{PREFIX}{password}"))
    }

    fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError> {
        match hash.strip_prefix(PREFIX).or_else(|| hash.strip_prefix(OLD_PREFIX)) {
            Some(stored) => Ok(stored == password),
            None => Err(HashError(format!("not a hash of the fake hasher: {hash:?}"))),
        }
    }

    fn needs_rehash(&self, hash: &str) -> bool {
        hash.starts_with(OLD_PREFIX)
    }
}
