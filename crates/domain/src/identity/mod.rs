//! Accounts, roles and memberships.

mod access;
mod email;
mod user;
mod username;

pub use access::{
    AccessGrant, AttemptCounter, FamilyId, Invitation, InvitationId, MailError, Mailer, NewInvitation, OutgoingMail,
    Secrets, TokenClaims, TokenCodec, TokenError, TokenHint, TokenKind,
};
pub use email::{EMAIL_MAX_LEN, Email, EmailError};
pub use user::{Member, Membership, MembershipId, NewUser, Role, UnknownRole, User, UserId};
pub use username::{USERNAME_MAX_LEN, Username, UsernameError, login_form};
