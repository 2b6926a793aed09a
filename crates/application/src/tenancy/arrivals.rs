//! Accounts that arrive from elsewhere (a tenant export, the Django
//! product) meeting the accounts already here. Both imports use these rules,
//! so an account is matched the same way whichever way it comes.

use taskforce_domain::{Email, NewUser, StoreError, User, UserRepository, Username};

/// Why an arriving account cannot be matched to one here or created.
pub(super) type Clash = &'static str;

/// The account here that `username` and `email` name, if any. The same user
/// name is the same person only with the same e-mail address (case aside):
/// anything else would hand the arriving account's role and rows to whoever
/// registered the name here first.
pub(super) fn account_here(
    users: &mut dyn UserRepository,
    username: &Username,
    email: &Email,
) -> Result<Result<Option<User>, Clash>, StoreError> {
    Ok(match users.by_username(username)? {
        Some(user) if user.email.normalized() != email.normalized() => {
            Err("an account here has this user name but another e-mail address: not the same person")
        }
        found => Ok(found),
    })
}

/// Creates the arriving account, or says which of its login names is taken
/// here (the store refuses an address or name that is another account's).
pub(super) fn create_account(users: &mut dyn UserRepository, new: &NewUser) -> Result<Result<User, Clash>, StoreError> {
    match users.create(new) {
        Ok(user) => Ok(Ok(user)),
        Err(error) if error.is_duplicate_of("users_email_key") => {
            Ok(Err("the e-mail address belongs to another account here"))
        }
        Err(error) if error.is_duplicate_of("users_username_key") => {
            Ok(Err("the user name is another account's user name or e-mail address here"))
        }
        Err(error) => Err(error),
    }
}
