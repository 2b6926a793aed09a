//! argon2id password hashing.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use taskforce_domain::{HashError, PasswordHasher};

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashCost {
    /// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
    pub const OWASP_MINIMUM: HashCost = HashCost { memory_kib: 19_456, iterations: 2, parallelism: 1 };
}

/// Hashes with argon2id and verifies any argon2 PHC string (so hashes made
/// with other parameters keep working).
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
}

impl Argon2Hasher {
    /// A hasher with the given cost; costs below [`HashCost::OWASP_MINIMUM`]
    /// are raised to it.
    pub fn new(cost: HashCost) -> Result<Self, HashError> {
        let floor = HashCost::OWASP_MINIMUM;
        let params = Params::new(
            cost.memory_kib.max(floor.memory_kib),
            cost.iterations.max(floor.iterations),
            cost.parallelism.max(floor.parallelism),
            None,
        )
        .map_err(|e| HashError(e.to_string()))?;
        Ok(Self { argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params) })
    }
}

impl PasswordHasher for Argon2Hasher {
    fn hash(&self, password: &str) -> Result<String, HashError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError> {
        let parsed = PasswordHash::new(hash).map_err(|e| HashError(e.to_string()))?;
        Ok(self.argon2.verify_password(password.as_bytes(), &parsed).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_at_least_the_owasp_cost_and_verify() -> Result<(), HashError> {
        let hasher = Argon2Hasher::new(HashCost { memory_kib: 8, iterations: 1, parallelism: 1 })?;
        let hash = hasher.hash("correct horse")?;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse", &hash)?);
        assert!(!hasher.verify("correct horsE", &hash)?);
        assert_ne!(hasher.hash("correct horse")?, hash, "salts differ");
        assert!(hasher.verify("x", "not a phc string").is_err());
        Ok(())
    }
}
