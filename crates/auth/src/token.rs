//! HS256 JWTs bound to a tenant, with jsonwebtoken.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use taskforce_domain::{FamilyId, TenantId, TokenClaims, TokenCodec, TokenError, TokenHint, TokenKind, UserId};

/// The claims as they travel.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    sub: String,
    aud: String,
    iss: String,
    exp: i64,
    iat: i64,
    jti: String,
    typ: TokenKind,
    fam: i64,
    /// simplejwt's names for `sub` and `typ`, which clients of the Django
    /// product read from its tokens; written always, checked when present
    /// (tokens of older builds lack them).
    #[serde(default)]
    user_id: Option<i64>,
    #[serde(default)]
    token_type: Option<TokenKind>,
}

/// Signs and checks HS256 tokens whose audience is `tenant:<id>`.
///
/// Validation requires `exp`, `aud`, `iss` and `sub`, allows no leeway on
/// `exp` (nor on an `nbf`, when one is there), accepts HS256 only (so `alg: none` and algorithm confusion are
/// refused), and checks the token kind (`typ`) after the signature.
#[derive(Clone)]
pub struct JwtCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl JwtCodec {
    /// A codec with an HMAC secret and the issuer name.
    pub fn new(secret: &[u8], issuer: impl Into<String>) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: issuer.into(),
        }
    }
}

/// The audience a tenant's tokens carry.
pub fn audience(tenant: TenantId) -> String {
    format!("tenant:{}", tenant.0)
}

impl TokenCodec for JwtCodec {
    fn hint(&self, token: &str) -> Option<TokenHint> {
        #[derive(Deserialize)]
        struct Hint {
            sub: String,
            aud: String,
            fam: i64,
        }
        let payload = token.split('.').nth(1)?;
        let hint: Hint = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        Some(TokenHint {
            tenant: TenantId(hint.aud.strip_prefix("tenant:")?.parse().ok()?),
            user: UserId(hint.sub.parse().ok()?),
            family: FamilyId(hint.fam),
        })
    }

    fn encode(&self, claims: &TokenClaims) -> Result<String, TokenError> {
        let wire = Wire {
            sub: claims.user.0.to_string(),
            aud: audience(claims.tenant),
            iss: self.issuer.clone(),
            exp: claims.expires_at.timestamp(),
            iat: claims.issued_at.timestamp(),
            jti: claims.token_id.clone(),
            typ: claims.kind,
            fam: claims.family.0,
            user_id: Some(claims.user.0),
            token_type: Some(claims.kind),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &wire, &self.encoding)
            .map_err(|e| TokenError::Signing(e.to_string()))
    }

    fn decode(&self, token: &str, kind: TokenKind, tenant: TenantId) -> Result<TokenClaims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[audience(tenant)]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = 0;
        validation.validate_exp = true;
        // this server writes no `nbf`; one that is there is honoured (RFC 7519 §4.1.5)
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<Wire>(token, &self.decoding, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => TokenError::WrongAudience,
            other => TokenError::Malformed(format!("{other:?}")),
        })?;
        let wire = data.claims;
        // the present must be before `exp` (RFC 7519 4.1.4); jsonwebtoken
        // still accepts the second of `exp` itself
        if wire.exp <= Utc::now().timestamp() {
            return Err(TokenError::Expired);
        }
        if wire.typ != kind {
            return Err(TokenError::WrongKind);
        }
        let user = wire.sub.parse::<i64>().map_err(|_| TokenError::Malformed("sub is not a user id".into()))?;
        if wire.user_id.is_some_and(|id| id != user) || wire.token_type.is_some_and(|named| named != wire.typ) {
            return Err(TokenError::Malformed("user_id or token_type disagrees with sub or typ".into()));
        }
        let at =
            |secs: i64| Utc.timestamp_opt(secs, 0).single().ok_or_else(|| TokenError::Malformed("bad time".into()));
        Ok(TokenClaims {
            user: UserId(user),
            tenant,
            kind: wire.typ,
            family: FamilyId(wire.fam),
            token_id: wire.jti,
            issued_at: at(wire.iat)?,
            expires_at: at(wire.exp)?,
        })
    }
}

/// Seconds since the epoch, for tests that forge tokens.
pub fn epoch(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    const SECRET: &[u8] = b"a-test-secret-that-is-long-enough-000";

    fn claims(kind: TokenKind, expires_in: Duration) -> TokenClaims {
        let now = Utc::now();
        TokenClaims {
            user: UserId(7),
            tenant: TenantId(1),
            kind,
            family: FamilyId(3),
            token_id: "jti-1".into(),
            issued_at: now,
            expires_at: now + expires_in,
        }
    }

    fn codec() -> JwtCodec {
        JwtCodec::new(SECRET, "taskforce")
    }

    #[test]
    fn a_token_round_trips_for_its_tenant_and_kind() -> Result<(), TokenError> {
        let token = codec().encode(&claims(TokenKind::Access, Duration::minutes(5)))?;
        assert_eq!(codec().hint(&token), Some(TokenHint { tenant: TenantId(1), user: UserId(7), family: FamilyId(3) }));
        assert_eq!(codec().hint("garbage"), None);
        let back = codec().decode(&token, TokenKind::Access, TenantId(1))?;
        assert_eq!((back.user, back.family, back.token_id.as_str()), (UserId(7), FamilyId(3), "jti-1"));
        Ok(())
    }

    #[test]
    fn other_tenants_kinds_keys_and_expired_tokens_are_refused() -> Result<(), TokenError> {
        let access = codec().encode(&claims(TokenKind::Access, Duration::minutes(5)))?;
        assert_eq!(codec().decode(&access, TokenKind::Access, TenantId(2)), Err(TokenError::WrongAudience));
        assert_eq!(codec().decode(&access, TokenKind::Refresh, TenantId(1)), Err(TokenError::WrongKind));
        let other_key = JwtCodec::new(b"another-secret-entirely-0000000000", "taskforce");
        assert!(matches!(other_key.decode(&access, TokenKind::Access, TenantId(1)), Err(TokenError::Malformed(_))));
        let other_issuer = JwtCodec::new(SECRET, "someone-else");
        assert_eq!(other_issuer.decode(&access, TokenKind::Access, TenantId(1)), Err(TokenError::WrongAudience));
        let expired = codec().encode(&claims(TokenKind::Access, Duration::seconds(-2)))?;
        assert_eq!(codec().decode(&expired, TokenKind::Access, TenantId(1)), Err(TokenError::Expired));
        // at the second of `exp` itself it is expired already
        let ending = codec().encode(&claims(TokenKind::Access, Duration::zero()))?;
        assert_eq!(codec().decode(&ending, TokenKind::Access, TenantId(1)), Err(TokenError::Expired));
        Ok(())
    }

    #[test]
    fn unsigned_tampered_and_malformed_tokens_are_refused() -> Result<(), Box<dyn std::error::Error>> {
        let token = codec().encode(&claims(TokenKind::Access, Duration::minutes(5)))?;
        let parts: Vec<&str> = token.split('.').collect();
        // alg: none with the same payload and no signature
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        assert!(codec().decode(&none, TokenKind::Access, TenantId(1)).is_err());
        // one flipped bit in the signature
        let mut signature = URL_SAFE_NO_PAD.decode(parts[2])?;
        signature[0] ^= 1;
        let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(signature));
        assert!(codec().decode(&flipped, TokenKind::Access, TenantId(1)).is_err());
        // exp as a string, and a token without aud, signed with the right key
        let forge = |payload: serde_json::Value| -> Result<String, jsonwebtoken::errors::Error> {
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &payload, &EncodingKey::from_secret(SECRET))
        };
        let far = Utc::now().timestamp() + 600;
        let string_exp = forge(
            serde_json::json!({"sub": "7", "aud": "tenant:1", "iss": "taskforce", "exp": far.to_string(), "iat": 0, "jti": "x", "typ": "access", "fam": 3}),
        )?;
        assert!(codec().decode(&string_exp, TokenKind::Access, TenantId(1)).is_err());
        let no_aud = forge(
            serde_json::json!({"sub": "7", "iss": "taskforce", "exp": far, "iat": 0, "jti": "x", "typ": "access", "fam": 3}),
        )?;
        assert!(codec().decode(&no_aud, TokenKind::Access, TenantId(1)).is_err());
        // a token not valid before a time still to come, and one whose time has come
        let with_nbf = |nbf: i64| {
            forge(serde_json::json!({"sub": "7", "aud": "tenant:1", "iss": "taskforce", "exp": far, "nbf": nbf,
                "iat": 0, "jti": "x", "typ": "access", "fam": 3}))
        };
        let early = codec().decode(&with_nbf(far - 60)?, TokenKind::Access, TenantId(1));
        assert!(matches!(early, Err(TokenError::Malformed(_))), "{early:?}");
        assert_eq!(codec().decode(&with_nbf(0)?, TokenKind::Access, TenantId(1))?.user, UserId(7));
        assert!(codec().decode("not-a-token", TokenKind::Access, TenantId(1)).is_err());
        Ok(())
    }

    #[test]
    fn tokens_carry_simplejwt_s_claim_names_which_must_agree_when_present() -> Result<(), Box<dyn std::error::Error>> {
        let token = codec().encode(&claims(TokenKind::Refresh, Duration::minutes(5)))?;
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).ok_or("no payload")?)?)?;
        assert_eq!(
            (&payload["user_id"], &payload["token_type"]),
            (&serde_json::json!(7), &serde_json::json!("refresh"))
        );
        let forge = |extra: serde_json::Value| -> Result<String, jsonwebtoken::errors::Error> {
            let mut payload = serde_json::json!({"sub": "7", "aud": "tenant:1", "iss": "taskforce",
                "exp": Utc::now().timestamp() + 600, "iat": 0, "jti": "x", "typ": "access", "fam": 3});
            if let (Some(all), Some(more)) = (payload.as_object_mut(), extra.as_object()) {
                all.extend(more.clone());
            }
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &payload, &EncodingKey::from_secret(SECRET))
        };
        // a token of an older build, without them, is still good
        assert_eq!(codec().decode(&forge(serde_json::json!({}))?, TokenKind::Access, TenantId(1))?.user, UserId(7));
        for disagreeing in [serde_json::json!({"user_id": 8}), serde_json::json!({"token_type": "refresh"})] {
            let refused = codec().decode(&forge(disagreeing.clone())?, TokenKind::Access, TenantId(1));
            assert!(matches!(refused, Err(TokenError::Malformed(_))), "{disagreeing}: {refused:?}");
        }
        Ok(())
    }
}
