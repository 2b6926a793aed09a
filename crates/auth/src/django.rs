//! Password hashes written by Django, the product TaskForce succeeds, so
//! that accounts brought over (`tenant-admin import-django`) keep their
//! passwords. They are verified, never written: the first successful login
//! replaces one with argon2id ([`PasswordHasher::needs_rehash`]).
//!
//! Django's formats: `pbkdf2_sha256$<iterations>$<salt>$<base64 digest>`
//! (its default), `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<digest>` (a PHC
//! string behind the word `argon2`), and a leading `!` for an account that
//! has no usable password, which nothing verifies.
//!
//! [`PasswordHasher::needs_rehash`]: taskforce_domain::PasswordHasher::needs_rehash

use base64::{Engine as _, engine::general_purpose::STANDARD};
use subtle::ConstantTimeEq as _;
use taskforce_domain::HashError;

/// Django's name for its PBKDF2-HMAC-SHA256 hasher, with its separator.
const PBKDF2_SHA256: &str = "pbkdf2_sha256$";

/// Iterations above this are refused rather than computed: Django 5.2 uses
/// 1,000,000 and 6.0 1,200,000, and a stored hash must not be able to stall
/// the hashing threads.
const MAX_ITERATIONS: u32 = 2_000_000;

/// The PHC string inside a Django argon2 hash (`argon2$argon2id$…` →
/// `$argon2id$…`), or `None` for anything else.
pub(crate) fn argon2_phc(encoded: &str) -> Option<&str> {
    encoded.strip_prefix("argon2").filter(|phc| phc.starts_with("$argon2"))
}

/// Whether `encoded` is a Django PBKDF2-HMAC-SHA256 hash.
pub(crate) fn is_pbkdf2_sha256(encoded: &str) -> bool {
    encoded.starts_with(PBKDF2_SHA256)
}

/// A `pbkdf2_sha256$…` hash, read and within the limits.
pub(crate) struct Pbkdf2Sha256<'a> {
    iterations: u32,
    salt: &'a str,
    expected: Vec<u8>,
}

/// Reads a `pbkdf2_sha256$…` hash without computing anything.
pub(crate) fn read_pbkdf2_sha256(encoded: &str) -> Result<Pbkdf2Sha256<'_>, HashError> {
    let malformed = || HashError("a pbkdf2_sha256 hash needs iterations, a salt and a base64 digest".into());
    let rest = encoded.strip_prefix(PBKDF2_SHA256).ok_or_else(malformed)?;
    let mut parts = rest.splitn(3, '$');
    let (Some(iterations), Some(salt), Some(digest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed());
    };
    let iterations: u32 = iterations.parse().map_err(|_| malformed())?;
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(HashError(format!("a pbkdf2_sha256 hash with {iterations} iterations is refused")));
    }
    let expected = STANDARD.decode(digest).map_err(|_| malformed())?;
    if expected.is_empty() || expected.len() > 64 {
        return Err(malformed());
    }
    Ok(Pbkdf2Sha256 { iterations, salt, expected })
}

/// Checks a password against a `pbkdf2_sha256$…` hash, in constant time.
pub(crate) fn verify_pbkdf2_sha256(password: &str, encoded: &str) -> Result<bool, HashError> {
    let Pbkdf2Sha256 { iterations, salt, expected } = read_pbkdf2_sha256(encoded)?;
    let mut computed = vec![0_u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut computed);
    Ok(bool::from(computed.ct_eq(&expected)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by Django 5.2 itself:
    /// `PBKDF2PasswordHasher().encode("correct horse", "seasalt", 1000)`.
    const CORRECT_HORSE: &str = "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso=";

    /// Django 5.2's `make_password("Sturdy-passphrase-42")`, with its
    /// default hasher and 1,000,000 iterations.
    const STURDY: &str = "pbkdf2_sha256$1000000$bOr4eWC3oQ9hif0TVrmx5G$GOZQO/RGPaZQM+RqvMKIl5ao6eRPsW/aC5xbejOeS24=";

    #[test]
    fn a_django_pbkdf2_hash_verifies_its_password_and_no_other() -> Result<(), HashError> {
        assert!(verify_pbkdf2_sha256("correct horse", CORRECT_HORSE)?);
        assert!(verify_pbkdf2_sha256("Sturdy-passphrase-42", STURDY)?);
        assert!(!verify_pbkdf2_sha256("correct horsE", CORRECT_HORSE)?);
        assert!(!verify_pbkdf2_sha256("correct horse", &CORRECT_HORSE.replace("$1000$", "$1001$"))?);
        assert!(!verify_pbkdf2_sha256("correct horse", &CORRECT_HORSE.replace("seasalt", "seasalu"))?);
        Ok(())
    }

    #[test]
    fn malformed_or_abusive_django_hashes_are_errors_not_matches() {
        for bad in [
            "pbkdf2_sha256$",
            "pbkdf2_sha256$1000$seasalt",
            "pbkdf2_sha256$many$seasalt$AAAA",
            "pbkdf2_sha256$0$seasalt$AAAA",
            "pbkdf2_sha256$4000000000$seasalt$AAAA",
            "pbkdf2_sha256$2000001$seasalt$AAAA",
            "pbkdf2_sha256$1000$seasalt$not base64!",
            "pbkdf2_sha256$1000$seasalt$",
        ] {
            assert!(verify_pbkdf2_sha256("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_django_s_argon2_prefix_is_unwrapped() {
        assert_eq!(
            argon2_phc("argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA"),
            Some("$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA")
        );
        assert_eq!(argon2_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"), None);
        assert_eq!(argon2_phc("argon2"), None);
        assert!(is_pbkdf2_sha256(CORRECT_HORSE) && !is_pbkdf2_sha256("!unusable"));
    }
}
