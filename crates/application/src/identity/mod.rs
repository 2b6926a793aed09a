//! Accounts and passwords.

mod accounts;
mod password_policy;

pub use accounts::{AccountInput, Accounts, CheckedAccount, CreateAccountError, check_account, taken_field};
pub use password_policy::{MIN_PASSWORD_LEN, password_problems};
