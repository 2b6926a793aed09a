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

impl UserRepository for PgTx<'_> {
    fn create(&mut self, user: &NewUser) -> Result<User, StoreError> {
        diesel::insert_into(users::table)
            .values(NewUserRow {
                username: user.username.as_str(),
                email: user.email.as_str(),
                password_hash: &user.password_hash,
                is_staff: user.is_staff,
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
