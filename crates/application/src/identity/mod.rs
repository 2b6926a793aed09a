//! Accounts and passwords.

mod accounts;
mod auth;
mod password_policy;
mod registration;

pub use accounts::{
    AccountInput, Accounts, CheckedAccount, Confirmation, CreateAccountError, check_account, taken_field,
};
pub use auth::{AdmitError, AuthConfig, AuthError, AuthPorts, Authenticator, Tokens};
pub use password_policy::{MIN_PASSWORD_LEN, password_problems};
pub(crate) use registration::room_for_a_member;
pub use registration::{JoinError, RegisterInput, Registration, SignedUp, SignupError, SignupInput, parse_email};
