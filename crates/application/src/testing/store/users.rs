//! [`UserRepository`] over the fake's `users`: names and addresses are
//! unique whatever their case (`users_username_key`, `users_email_key`),
//! and neither may be another account's other one, as in PostgreSQL.

use chrono::{DateTime, Utc};
use taskforce_domain::{NewUser, StoreError, Unique, User, UserId, UserRepository, Username};

use super::{state::StoredUser, tx::FakeTx};

impl UserRepository for FakeTx<'_> {
    fn create(&mut self, new: &NewUser) -> Result<User, StoreError> {
        let users = &self.state.users;
        let (name, email) = (new.username.normalized(), new.email.normalized());
        let of = |u: &StoredUser| (u.user.username.normalized(), u.user.email.normalized());
        // checked before the insert, as PostgreSQL does
        if let Some(constraint) =
            users.iter().find_map(|u| new.login_clash(u.user.username.as_str(), u.user.email.as_str()))
        {
            return Err(StoreError::Duplicate(constraint));
        }
        if users.iter().any(|u| of(u).0 == name) {
            return Err(StoreError::Duplicate(Unique::Username));
        }
        if users.iter().any(|u| of(u).1 == email) {
            return Err(StoreError::Duplicate(Unique::Email));
        }
        let user = User {
            id: UserId(self.state.next_id()),
            username: new.username.clone(),
            email: new.email.clone(),
            is_active: new.is_active,
            is_staff: new.is_staff,
            date_joined: self.now,
            last_login: None,
            registered_themselves: new.registered_themselves,
        };
        self.state.users.push(StoredUser { user: user.clone(), password_hash: new.password_hash.clone() });
        Ok(user)
    }

    fn get(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.state.users.iter().find(|u| u.user.id == id).map(|u| u.user.clone()))
    }

    fn confirm(&mut self, username: &Username) -> Result<Option<User>, StoreError> {
        let found = self.state.users.iter_mut().find(|u| u.user.username.normalized() == username.normalized());
        Ok(found.map(|stored| {
            stored.user.registered_themselves = false;
            stored.user.clone()
        }))
    }

    fn by_username(&mut self, username: &Username) -> Result<Option<User>, StoreError> {
        Ok(self.state.user_named(username.as_str()).map(|u| u.user.clone()))
    }

    fn by_login(&mut self, login: &str) -> Result<Option<(User, String)>, StoreError> {
        let login = login.to_lowercase();
        Ok(self
            .state
            .users
            .iter()
            .find(|u| u.user.username.normalized() == login)
            .or_else(|| self.state.users.iter().find(|u| u.user.email.normalized() == login))
            .map(|u| (u.user.clone(), u.password_hash.clone())))
    }

    fn touch_login(&mut self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(stored) = self.state.users.iter_mut().find(|u| u.user.id == id) {
            stored.user.last_login = Some(at);
        }
        Ok(())
    }

    fn replace_password_hash(&mut self, id: UserId, old: &str, new: &str) -> Result<bool, StoreError> {
        if self.state.hash_updates_fail {
            return Err(StoreError::Unavailable("the connection was lost".into()));
        }
        match self.state.users.iter_mut().find(|u| u.user.id == id && u.password_hash == old) {
            Some(stored) => {
                new.clone_into(&mut stored.password_hash);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
