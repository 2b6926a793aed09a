//! Random tokens and their SHA-256 digests.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};
use taskforce_domain::Secrets;

/// 256-bit random tokens from the operating system, base64url; SHA-256 hex
/// digests for storage.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsSecrets;

impl Secrets for OsSecrets {
    fn random_token(&self) -> String {
        let mut bytes = [0_u8; 32];
        OsRng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn digest(&self, token: &str) -> String {
        Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_unique_and_digests_stable() {
        let (a, b) = (OsSecrets.random_token(), OsSecrets.random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(OsSecrets.digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(OsSecrets.digest(&a).len(), 64);
    }
}
