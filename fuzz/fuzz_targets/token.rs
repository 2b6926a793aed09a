//! Token decoding: arbitrary text is refused without a panic, for either
//! kind; the unverified cache hint never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskforce_auth::JwtCodec;
use taskforce_domain::{TenantId, TokenCodec, TokenKind};

fuzz_target!(|input: &str| {
    let codec = JwtCodec::new(b"a-fuzzing-secret-of-at-least-32-bytes", "taskforce");
    assert!(codec.decode(input, TokenKind::Access, TenantId(1)).is_err());
    assert!(codec.decode(input, TokenKind::Refresh, TenantId(1)).is_err());
    let _ = codec.hint(input);
});
