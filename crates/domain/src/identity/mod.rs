//! Accounts, roles and memberships.

mod email;
mod user;
mod username;

pub use email::{EMAIL_MAX_LEN, Email, EmailError};
pub use user::{Member, Membership, MembershipId, NewUser, Role, UnknownRole, User, UserId};
pub use username::{USERNAME_MAX_LEN, Username, UsernameError};
