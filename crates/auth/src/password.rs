//! argon2id password hashing; Django's hashes verified for accounts
//! brought over from it.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier, Version,
    password_hash::{SaltString, rand_core::OsRng},
};
use taskforce_domain::{HashError, PasswordHasher};

use crate::django;

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
/// with other parameters keep working) and Django's `pbkdf2_sha256` and
/// `argon2` hashes; every hash but one of its own kind and cost needs a
/// rehash.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    argon2: Argon2<'static>,
    /// How this hasher's own hashes begin: algorithm, version and costs.
    current: String,
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
        let current = format!("$argon2id$v=19$m={},t={},p={}$", params.m_cost(), params.t_cost(), params.p_cost());
        Ok(Self { argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params), current })
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
        if django::is_pbkdf2_sha256(hash) {
            return django::verify_pbkdf2_sha256(password, hash);
        }
        let phc = django::argon2_phc(hash).unwrap_or(hash);
        let parsed = PasswordHash::new(phc).map_err(|e| HashError(e.to_string()))?;
        Ok(self.argon2.verify_password(password.as_bytes(), &parsed).is_ok())
    }

    fn needs_rehash(&self, hash: &str) -> bool {
        !hash.starts_with(&self.current)
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
        assert!(!hasher.needs_rehash(&hash), "its own hash is kept");
        Ok(())
    }

    #[test]
    fn django_hashes_and_other_argon2_costs_verify_and_ask_for_a_rehash() -> Result<(), HashError> {
        let hasher = Argon2Hasher::new(HashCost::OWASP_MINIMUM)?;
        // Django 5.2: PBKDF2PasswordHasher().encode("correct horse", "seasalt", 1000)
        let pbkdf2 = "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=";
        // a cheaper argon2id of ours, and the same PHC string as Django writes it
        let cheaper = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).map_err(|e| HashError(e.to_string()))?,
        )
        .hash_password(b"correct horse", &SaltString::generate(&mut OsRng))
        .map_err(|e| HashError(e.to_string()))?
        .to_string();
        let django_argon2 = format!("argon2{cheaper}");
        for stale in [pbkdf2, cheaper.as_str(), django_argon2.as_str()] {
            assert!(hasher.verify("correct horse", stale)?, "{stale}");
            assert!(!hasher.verify("correct horsE", stale)?, "{stale}");
            assert!(hasher.needs_rehash(stale), "{stale}");
        }
        // Django's mark of an account without a usable password matches nothing
        assert!(hasher.verify("", "!jQ8sDkz3N1Ep2LxR").is_err());
        Ok(())
    }
}
