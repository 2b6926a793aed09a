//! Accounts that arrive from elsewhere (a tenant export, the Django
//! product) meeting the accounts already here. Both imports use these rules,
//! so an account is matched the same way whichever way it comes.

use taskforce_domain::{Email, NewUser, StoreError, Unique, User, UserRepository, Username};

/// Why an arriving account can be neither matched to one here nor created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccountClash {
    /// An account here has the user name but another e-mail address.
    #[error("an account here has this user name but another e-mail address: not the same person")]
    OtherAddress,
    /// The e-mail address is another account's.
    #[error("the e-mail address belongs to another account here")]
    AddressTaken,
    /// The user name is another account's user name or e-mail address.
    #[error("the user name is another account's user name or e-mail address here")]
    NameTaken,
    /// An account here has the user name and address, but made itself
    /// through the API (the address never proven) and holds another
    /// password: it may be someone who registered the name first.
    #[error(
        "an account here registered itself with this user name and e-mail address, which were never proven to be \
         its holder's, and has another password: not taken for the same person; if it is theirs, \
         `tenant-admin user confirm <name>` and import again"
    )]
    Unproven,
}

/// How meeting an arriving account failed. As the error of a unit of
/// work, a clash rolls the unit back like any other failure.
#[derive(Debug)]
pub(super) enum Arrival {
    /// It clashes with an account here.
    Clash(AccountClash),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for Arrival {
    fn from(error: StoreError) -> Self {
        Arrival::Store(error)
    }
}

/// The account here that `username` and `email` name, if any. The same user
/// name is the same person only with the same e-mail address (case aside),
/// and, for an account that registered itself through the API (whose
/// address nobody proved), only with the arriving password hash as well
/// (`None`: the arrival has none): anything else would hand the arriving
/// account's role and rows to whoever registered the name here first.
pub(super) fn account_here(
    users: &mut dyn UserRepository,
    username: &Username,
    email: &Email,
    arriving_hash: Option<&str>,
) -> Result<Option<User>, Arrival> {
    let Some((user, hash)) =
        users.by_login(username.as_str())?.filter(|(user, _)| user.username.normalized() == username.normalized())
    else {
        return Ok(None);
    };
    if user.email.normalized() != email.normalized() {
        return Err(Arrival::Clash(AccountClash::OtherAddress));
    }
    if user.registered_themselves && arriving_hash != Some(hash.as_str()) {
        return Err(Arrival::Clash(AccountClash::Unproven));
    }
    Ok(Some(user))
}

/// Creates the arriving account, or says which of its login names is taken
/// here (the store refuses an address or name that is another account's).
pub(super) fn create_account(users: &mut dyn UserRepository, new: &NewUser) -> Result<User, Arrival> {
    users.create(new).map_err(|error| match error {
        error if error.is_duplicate_of(&Unique::Email) => Arrival::Clash(AccountClash::AddressTaken),
        error if error.is_duplicate_of(&Unique::Username) => Arrival::Clash(AccountClash::NameTaken),
        error => Arrival::Store(error),
    })
}
