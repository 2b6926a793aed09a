//! [`PasswordHasher`]: how the core hashes and checks passwords without
//! knowing the algorithm.

/// Hashing failed (bad parameters, or a stored hash that is not a PHC string).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

/// Hashes passwords and checks them against stored hashes. Implementations
/// are slow on purpose; callers run them off any async executor.
pub trait PasswordHasher: Send + Sync + 'static {
    /// A PHC-format hash of the password with a fresh salt.
    fn hash(&self, password: &str) -> Result<String, HashError>;
    /// Whether the password matches the stored hash, in constant time.
    fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError>;
    /// Whether a hash that verified should be replaced by a fresh
    /// [`hash`](Self::hash) of the same password: another algorithm or
    /// other costs than this hasher's. The default keeps every hash.
    fn needs_rehash(&self, hash: &str) -> bool {
        let _ = hash;
        false
    }
    /// Whether [`verify`](Self::verify) can read this stored hash (its own
    /// kind, or another it accepts, such as Django's): importers ask before
    /// they bring a hash over, so that no account arrives unable to log in.
    /// The default asks `verify` itself with an empty password, which is
    /// right for any hasher but costs a whole verification: hashers that can
    /// read a hash without computing it override it.
    fn recognizes(&self, hash: &str) -> bool {
        self.verify("", hash).is_ok()
    }
}
