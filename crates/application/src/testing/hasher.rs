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

/// [`FakeHasher`] that runs `meanwhile` whenever it hashes or verifies: what
/// other requests do while a real hash takes its tens of milliseconds.
pub struct MeanwhileHasher {
    meanwhile: Box<dyn Fn() + Send + Sync>,
}

impl MeanwhileHasher {
    /// Runs `meanwhile` at each hash and verification.
    pub fn new(meanwhile: impl Fn() + Send + Sync + 'static) -> Self {
        Self { meanwhile: Box::new(meanwhile) }
    }
}

impl std::fmt::Debug for MeanwhileHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MeanwhileHasher")
    }
}

impl PasswordHasher for MeanwhileHasher {
    fn hash(&self, password: &str) -> Result<String, HashError> {
        (self.meanwhile)();
        FakeHasher.hash(password)
    }

    fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError> {
        (self.meanwhile)();
        FakeHasher.verify(password, hash)
    }

    fn needs_rehash(&self, hash: &str) -> bool {
        FakeHasher.needs_rehash(hash)
    }
}
