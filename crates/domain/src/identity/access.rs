//! Tokens, sessions (refresh-token families), invitations and what a
//! request may do.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Email, Role, UserId};
use crate::TenantId;

/// Access or refresh: a token of one kind is never accepted as the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Short-lived, sent as `Authorization: Bearer`.
    Access,
    /// Long-lived, exchanged once for a new pair.
    Refresh,
}

/// A login session: every refresh token descended from one login. Revoking
/// the family ends the session on every token of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FamilyId(pub i64);

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a token says. Tokens are bound to the tenant that issued them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The user (`sub`).
    pub user: UserId,
    /// The issuing tenant (`aud`).
    pub tenant: TenantId,
    /// Access or refresh (`typ`).
    pub kind: TokenKind,
    /// The session (`fam`).
    pub family: FamilyId,
    /// Unique id of this token (`jti`).
    pub token_id: String,
    /// Issued at (`iat`).
    pub issued_at: DateTime<Utc>,
    /// Expires at (`exp`).
    pub expires_at: DateTime<Utc>,
}

/// A token was refused. Every variant is answered the same way
/// (`401 token_invalid`); the variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token, a bad signature, a forbidden algorithm, a missing claim.
    #[error("malformed or unsigned token: {0}")]
    Malformed(String),
    /// Past its `exp`.
    #[error("token expired")]
    Expired,
    /// Issued for another tenant, or by another issuer (a server configured
    /// with another `auth.issuer`).
    #[error("token issued for another tenant or by another issuer")]
    WrongAudience,
    /// An access token where a refresh token was expected, or the reverse.
    #[error("wrong kind of token")]
    WrongKind,
    /// Signing failed (a configuration problem).
    #[error("token signing failed: {0}")]
    Signing(String),
}

/// What an access token claims about itself, read *without* checking the
/// signature: good only for choosing cache keys, never for a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenHint {
    /// The tenant it names.
    pub tenant: TenantId,
    /// The user it names.
    pub user: UserId,
    /// The session it names.
    pub family: FamilyId,
}

/// Signs and checks tokens.
pub trait TokenCodec: Send + Sync + 'static {
    /// Reads tenant, user and session from a token without verifying it.
    fn hint(&self, token: &str) -> Option<TokenHint>;
    /// Signs the claims.
    fn encode(&self, claims: &TokenClaims) -> Result<String, TokenError>;
    /// Checks signature, expiry, issuer, audience (`tenant`) and kind, and
    /// returns the claims.
    fn decode(&self, token: &str, kind: TokenKind, tenant: TenantId) -> Result<TokenClaims, TokenError>;
}

/// Random secrets (refresh-token ids, invitation tokens) and their digests,
/// which are what storage keeps.
pub trait Secrets: Send + Sync + 'static {
    /// A new unguessable URL-safe token (at least 128 bits of entropy).
    fn random_token(&self) -> String;
    /// A one-way digest of a token, for storage and look-up.
    fn digest(&self, token: &str) -> String;
}

/// What a user may currently do in a tenant, read for each request (through
/// the access cache, whose entries every change of an account, membership or
/// session drops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessGrant {
    /// Their role in the tenant.
    pub role: Role,
    /// Whether the account is active.
    pub user_active: bool,
    /// Whether the session the token belongs to was ended.
    pub session_revoked: bool,
}

/// An invitation's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvitationId(pub i64);

/// An invitation to join a tenant with a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Id.
    pub id: InvitationId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// Who is invited.
    pub email: Email,
    /// The role they get.
    pub role: Role,
    /// Who invited them.
    pub invited_by: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Unusable after this.
    pub expires_at: DateTime<Utc>,
    /// When it was used, if it was.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was ended before its time (withdrawn, replaced, or its
    /// sender removed or demoted), if it was.
    pub ended_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// Whether it can still be used at `now`: neither used nor ended, and
    /// not expired. An end is a state, not a time compared with `now`, so
    /// servers whose clocks differ agree on it.
    pub fn is_pending(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none() && self.ended_at.is_none() && self.expires_at > now
    }
}

/// What it takes to store an invitation; the token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Who is invited.
    pub email: Email,
    /// The role they get.
    pub role: Role,
    /// Who invites.
    pub invited_by: UserId,
    /// Digest of the token sent to them.
    pub token_digest: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// An e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Recipient.
    pub to: Email,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Sending mail failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mail delivery failed: {0}")]
pub struct MailError(pub String);

/// Delivers e-mail.
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message.
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// Counts events per key within a time window (login attempts); the
/// counters may live in process or in a shared store.
///
/// An attempt is counted before it is judged, in one atomic step that
/// also reads the count, so that attempts sent all at once cannot all pass
/// a check made before any of them was counted; one that succeeds is then
/// taken back ([`Self::forgive`]) or its key cleared ([`Self::reset`]).
pub trait AttemptCounter: Send + Sync + 'static {
    /// Records one event; returns the count in the current window and the
    /// seconds until that window ends.
    fn hit(&self, key: &str, window_secs: u64) -> (u32, u64);
    /// Takes back one event of the current window, if it holds any.
    fn forgive(&self, key: &str);
    /// Forgets the key.
    fn reset(&self, key: &str);
}
