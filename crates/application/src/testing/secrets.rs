//! [`FakeSecrets`]: predictable tokens and digests.

use std::sync::atomic::{AtomicU64, Ordering};

use taskforce_domain::Secrets;

/// Tokens `secret-1`, `secret-2`, …; the digest of `t` is `d:t`.
#[derive(Debug, Default)]
pub struct FakeSecrets {
    issued: AtomicU64,
}

impl Secrets for FakeSecrets {
    fn random_token(&self) -> String {
        format!("secret-{}", self.issued.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn digest(&self, token: &str) -> String {
        format!("d:{token}")
    }
}
