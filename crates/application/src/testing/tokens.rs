//! [`FakeCodec`]: tokens as readable, unsigned text.

use chrono::{DateTime, Utc};
use taskforce_domain::{
    Clock, FamilyId, FixedClock, TenantId, TokenClaims, TokenCodec, TokenError, TokenHint, TokenKind, UserId,
};

const PREFIX: &str = "fake-token";

/// Writes claims as `fake-token|kind|tenant|user|family|id|iat|exp` and
/// checks them back the way the JWT adapter does: expiry (against its
/// clock), then tenant, then kind. Nothing is signed; tests never forge.
#[derive(Debug)]
pub struct FakeCodec {
    clock: FixedClock,
}

impl FakeCodec {
    /// A codec that judges expiry at the clock's time.
    pub fn new(clock: FixedClock) -> Self {
        Self { clock }
    }
}

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

fn malformed(what: &str) -> TokenError {
    TokenError::Malformed(format!("bad {what}"))
}

fn number(field: &str, what: &str) -> Result<i64, TokenError> {
    field.parse().map_err(|_| malformed(what))
}

fn instant(field: &str, what: &str) -> Result<DateTime<Utc>, TokenError> {
    DateTime::from_timestamp(number(field, what)?, 0).ok_or_else(|| malformed(what))
}

impl TokenCodec for FakeCodec {
    fn hint(&self, token: &str) -> Option<TokenHint> {
        // like the JWT adapter's: the claims as written, nothing checked
        let [PREFIX, _, aud, sub, fam, _, _, _] = token.split('|').collect::<Vec<_>>()[..] else {
            return None;
        };
        Some(TokenHint {
            tenant: TenantId(aud.parse().ok()?),
            user: UserId(sub.parse().ok()?),
            family: FamilyId(fam.parse().ok()?),
        })
    }

    fn encode(&self, claims: &TokenClaims) -> Result<String, TokenError> {
        Ok([
            PREFIX.to_owned(),
            kind_name(claims.kind).to_owned(),
            claims.tenant.to_string(),
            claims.user.to_string(),
            claims.family.to_string(),
            claims.token_id.clone(),
            claims.issued_at.timestamp().to_string(),
            claims.expires_at.timestamp().to_string(),
        ]
        .join("|"))
    }

    fn decode(&self, token: &str, kind: TokenKind, tenant: TenantId) -> Result<TokenClaims, TokenError> {
        let [prefix, typ, aud, sub, fam, jti, iat, exp] = token.split('|').collect::<Vec<_>>()[..] else {
            return Err(malformed("shape"));
        };
        if prefix != PREFIX {
            return Err(malformed("prefix"));
        }
        let claims = TokenClaims {
            user: UserId(number(sub, "user")?),
            tenant: TenantId(number(aud, "tenant")?),
            kind: match typ {
                "access" => TokenKind::Access,
                "refresh" => TokenKind::Refresh,
                _ => return Err(malformed("kind")),
            },
            family: FamilyId(number(fam, "family")?),
            token_id: jti.to_owned(),
            issued_at: instant(iat, "issue time")?,
            expires_at: instant(exp, "expiry")?,
        };
        if claims.expires_at <= self.clock.now() {
            return Err(TokenError::Expired);
        }
        if claims.tenant != tenant {
            return Err(TokenError::WrongAudience);
        }
        if claims.kind != kind {
            return Err(TokenError::WrongKind);
        }
        Ok(claims)
    }
}
