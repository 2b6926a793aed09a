//! [`UserRepository`] over the shared `users` table.

use chrono::{DateTime, Utc};
use diesel::{BoolExpressionMethods, ExpressionMethods, QueryDsl, RunQueryDsl, SelectableHelper};
use taskforce_domain::{NewUser, StoreError, User, UserId, UserRepository, Username};

use super::{PgTx, optional};
use crate::{
    error::store_error,
    rows::{NewUserRow, UserRow},
    schema::users,
};

diesel::define_sql_function! {
    /// PostgreSQL's `lower(text)`.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// The advisory-lock class of login names (`tfus`, beside the migrations'
/// `tfmg` and the spares' `tfsp`).
const LOGIN_NAME_LOCKS: i32 = 0x7466_7573;

impl PgTx<'_> {
    /// Refuses a new account whose user name is another account's e-mail
    /// address, or whose address is another account's user name: login
    /// takes either, so such an account would take over logins meant for
    /// the other. Both names are locked for the transaction first (in a
    /// fixed order), so two creations that would clash cannot both pass.
    fn check_login_names(&mut self, user: &NewUser) -> Result<(), StoreError> {
        let (name, email) = (user.username.normalized(), user.email.normalized());
        let mut names = vec![name.clone(), email.clone()];
        names.sort_unstable();
        // one round trip for both locks, taken in the array's (sorted) order
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext(name)) FROM unnest($2::text[]) AS name")
            .bind::<diesel::sql_types::Integer, _>(LOGIN_NAME_LOCKS)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(names)
            .execute(self.conn)
            .map_err(store_error)?;
        let crossed: Vec<(String, String)> = users::table
            .filter(lower(users::email).eq(&name).or(lower(users::username).eq(&email)))
            .select((users::username, users::email))
            .load(self.conn)
            .map_err(store_error)?;
        match crossed.iter().find_map(|(their_name, their_email)| user.login_clash(their_name, their_email)) {
            Some(rule) => Err(StoreError::Duplicate(rule)),
            None => Ok(()),
        }
    }
}

impl UserRepository for PgTx<'_> {
    fn create(&mut self, user: &NewUser) -> Result<User, StoreError> {
        self.check_login_names(user)?;
        diesel::insert_into(users::table)
            .values(NewUserRow {
                username: user.username.as_str(),
                email: user.email.as_str(),
                password_hash: &user.password_hash,
                is_active: user.is_active,
                is_staff: user.is_staff,
                registered_themselves: user.registered_themselves,
            })
            .returning(UserRow::as_returning())
            .get_result(self.conn)
            .map_err(store_error)
            .and_then(User::try_from)
    }

    fn get(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        optional(users::table.find(id.0).select(UserRow::as_select()).first(self.conn))
            .map_err(store_error)?
            .map(User::try_from)
            .transpose()
    }

    fn by_login(&mut self, login: &str) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<(UserRow, String)> = optional(
            users::table
                .filter(lower(users::username).eq(lower(login)).or(lower(users::email).eq(lower(login))))
                // one account, always the same: a user name before an address
                .order((lower(users::username).eq(lower(login)).desc(), users::id))
                .select((UserRow::as_select(), users::password_hash))
                .first(self.conn),
        )
        .map_err(store_error)?;
        row.map(|(user, hash)| Ok((User::try_from(user)?, hash))).transpose()
    }

    fn touch_login(&mut self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        diesel::update(users::table.find(id.0))
            .set(users::last_login.eq(at))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn replace_password_hash(&mut self, id: UserId, old: &str, new: &str) -> Result<bool, StoreError> {
        diesel::update(users::table.find(id.0).filter(users::password_hash.eq(old)))
            .set(users::password_hash.eq(new))
            .execute(self.conn)
            .map(|rows| rows == 1)
            .map_err(store_error)
    }

    fn confirm(&mut self, username: &Username) -> Result<Option<User>, StoreError> {
        optional(
            diesel::update(users::table.filter(lower(users::username).eq(lower(username.as_str()))))
                .set(users::registered_themselves.eq(false))
                .returning(UserRow::as_returning())
                .get_result(self.conn),
        )
        .map_err(store_error)?
        .map(User::try_from)
        .transpose()
    }

    fn by_username(&mut self, username: &Username) -> Result<Option<User>, StoreError> {
        optional(
            users::table
                .filter(lower(users::username).eq(lower(username.as_str())))
                .select(UserRow::as_select())
                .first(self.conn),
        )
        .map_err(store_error)?
        .map(User::try_from)
        .transpose()
    }
}
