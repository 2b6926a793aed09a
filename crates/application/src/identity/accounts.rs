//! Creating accounts.

use std::sync::Arc;

use taskforce_domain::{Email, NewUser, PasswordHasher, Store, StoreError, StoreExt, Unique, User, Username};

use super::password_policy::password_problems;
use crate::FieldErrors;

/// The raw input of a new account, as typed by a person.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountInput {
    /// Wanted user name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Password in clear.
    pub password: String,
    /// Platform staff flag (operators only).
    pub is_staff: bool,
}

impl std::fmt::Debug for AccountInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountInput")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    /// Field-level problems (bad or taken name or address, weak password).
    #[error("{0}")]
    Invalid(FieldErrors),
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A checked new account: what register, signup and `user create` share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAccount {
    /// User name.
    pub username: Username,
    /// E-mail address.
    pub email: Email,
}

/// Checks the fields of a new account; `password_confirm`, when given, must
/// match.
pub fn check_account(input: &AccountInput, password_confirm: Option<&str>) -> Result<CheckedAccount, FieldErrors> {
    let mut errors = FieldErrors::new();
    // DRF's CharField trims what it reads, as Email::parse does
    let name = input.username.trim();
    let username = errors.check("username", Username::parse(name));
    let email = errors.check("email", Email::parse(&input.email));
    for problem in password_problems(&input.password, name, &input.email) {
        errors.add("password", problem);
    }
    if password_confirm.is_some_and(|confirm| confirm != input.password) {
        errors.add("password_confirm", "The two password fields didn't match.");
    }
    match (username, email) {
        (Some(username), Some(email)) if errors.is_empty() => Ok(CheckedAccount { username, email }),
        _ => Err(errors),
    }
}

/// Turns a uniqueness failure on `users` into the field it concerns.
pub fn taken_field(error: &StoreError) -> Option<FieldErrors> {
    let mut errors = FieldErrors::new();
    if error.is_duplicate_of(&Unique::Username) {
        errors.add("username", "A user with that username already exists.");
    } else if error.is_duplicate_of(&Unique::Email) {
        errors.add("email", "A user with that email already exists.");
    } else {
        return None;
    }
    Some(errors)
}

/// Account use cases.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    hasher: Arc<dyn PasswordHasher>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    /// The use cases over a store and a hasher.
    pub fn new(store: Arc<dyn Store>, hasher: Arc<dyn PasswordHasher>) -> Self {
        Self { store, hasher }
    }

    /// Creates an account after checking every field; the password is hashed
    /// before anything is stored.
    #[tracing::instrument(skip_all, fields(user = %input.username))]
    pub fn create(&self, input: &AccountInput) -> Result<User, CreateAccountError> {
        let checked = check_account(input, None).map_err(CreateAccountError::Invalid)?;
        let password_hash = self.hasher.hash(&input.password).map_err(|e| CreateAccountError::Hash(e.to_string()))?;
        let new = NewUser {
            username: checked.username,
            email: checked.email,
            password_hash,
            is_active: true,
            is_staff: input.is_staff,
            registered_themselves: false,
        };
        self.store.platform(|tx| tx.users().create(&new)).map_err(|error| match taken_field(&error) {
            Some(fields) => CreateAccountError::Invalid(fields),
            None => CreateAccountError::Store(error),
        })
    }

    /// An operator vouches that the account is its holder's (they checked
    /// who registered it): imports then take it for the arriving member of
    /// the same user name and address. `None` if no account has the name.
    #[tracing::instrument(skip_all, fields(user = %username))]
    pub fn confirm(&self, username: &Username) -> Result<Option<Confirmation>, StoreError> {
        self.store.platform(|tx| {
            let Some(before) = tx.users().by_username(username)? else { return Ok(None) };
            if !before.registered_themselves {
                return Ok(Some(Confirmation::Already(before)));
            }
            Ok(tx.users().confirm(username)?.map(Confirmation::Now))
        })
    }
}

/// What [`Accounts::confirm`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The account registered itself; it is now vouched for.
    Now(User),
    /// Nothing to do: an operator made the account, or vouched for it before.
    Already(User),
}
