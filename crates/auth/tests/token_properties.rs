//! Properties of token decoding over generated input (mirrored by the
//! `token` fuzz target): no input panics the decoder or the cache hint, and
//! a valid token with any one byte changed is refused.

use chrono::{Duration, Utc};
use proptest::prelude::*;
use taskforce_auth::JwtCodec;
use taskforce_domain::{FamilyId, TenantId, TokenClaims, TokenCodec, TokenKind, UserId};

const SECRET: &[u8] = b"a-test-secret-of-at-least-32-bytes!";

fn codec() -> JwtCodec {
    JwtCodec::new(SECRET, "taskforce")
}

fn valid_token() -> String {
    let now = Utc::now();
    let claims = TokenClaims {
        user: UserId(7),
        tenant: TenantId(3),
        kind: TokenKind::Access,
        family: FamilyId(11),
        token_id: "abc".into(),
        issued_at: now,
        expires_at: now + Duration::minutes(15),
    };
    codec().encode(&claims).unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn arbitrary_text_is_refused_without_panicking(raw in prop_oneof![
        any::<String>(),
        "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,60}",
        "eyJ[A-Za-z0-9_-]{0,40}\\.eyJ[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,43}",
    ]) {
        let codec = codec();
        prop_assert!(codec.decode(&raw, TokenKind::Access, TenantId(3)).is_err());
        prop_assert!(codec.decode(&raw, TokenKind::Refresh, TenantId(3)).is_err());
        // the unverified hint may read a well-formed payload, but never panics
        let _ = codec.hint(&raw);
    }

    #[test]
    fn a_valid_token_with_one_byte_changed_is_refused(position in 0usize..400, byte in 0x21u8..0x7f) {
        let token = valid_token();
        prop_assume!(!token.is_empty());
        let position = position % token.len();
        let mut bytes = token.clone().into_bytes();
        prop_assume!(bytes[position] != byte);
        bytes[position] = byte;
        let tampered = String::from_utf8(bytes).unwrap_or_default();
        prop_assert!(codec().decode(&tampered, TokenKind::Access, TenantId(3)).is_err(), "{tampered}");
    }

    #[test]
    fn a_valid_token_is_refused_for_another_tenant_or_kind(other in 1i64..1000) {
        prop_assume!(other != 3);
        let token = valid_token();
        let codec = codec();
        prop_assert!(codec.decode(&token, TokenKind::Access, TenantId(3)).is_ok());
        prop_assert!(codec.decode(&token, TokenKind::Access, TenantId(other)).is_err());
        prop_assert!(codec.decode(&token, TokenKind::Refresh, TenantId(3)).is_err());
    }
}
