//! Users, roles and memberships.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Email, Username};
use crate::TenantId;

/// A user's id in the shared `users` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

impl UserId {
    /// The actor of changes made by operators with `tenant-admin` (no
    /// account's id is 0).
    pub const OPERATOR: UserId = UserId(0);
    /// Someone this database has no account of: the former member named
    /// by the rows of a tenant imported from another database (no
    /// account's id is negative).
    pub const UNKNOWN: UserId = UserId(-1);
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A person's account. Accounts are global; what they may do in a tenant
/// comes from their [`Membership`] there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id in the shared schema.
    pub id: UserId,
    /// Unique user name (case-insensitive).
    pub username: Username,
    /// Unique e-mail address (case-insensitive).
    pub email: Email,
    /// Inactive accounts cannot log in anywhere.
    pub is_active: bool,
    /// Platform staff (operators), not a tenant role.
    pub is_staff: bool,
    /// When the account was created.
    pub date_joined: DateTime<Utc>,
    /// When the user last logged in.
    pub last_login: Option<DateTime<Utc>>,
    /// Made by its holder through the API (registration, signup): its
    /// e-mail address was typed, never proven to be theirs. An import takes
    /// such an account for the arriving person of the same user name and
    /// address only if the password hash is the same too.
    pub registered_themselves: bool,
}

/// What it takes to create an account; the password arrives already hashed.
/// Its `Debug` leaves the hash out, so a log line never carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// User name.
    pub username: Username,
    /// E-mail address.
    pub email: Email,
    /// The encoded password hash, as the [`PasswordHasher`](crate::PasswordHasher)
    /// writes and reads it: a PHC string (`$argon2id$…`), or one of the Django
    /// forms a [`LegacyAccount`](crate::LegacyAccount) brings (`pbkdf2_sha256$…`,
    /// `!…`).
    pub password_hash: String,
    /// Whether it may log in: true but for an inactive account brought
    /// over from another database.
    pub is_active: bool,
    /// Platform staff flag.
    pub is_staff: bool,
    /// Made by its holder through the API (see [`User::registered_themselves`]).
    pub registered_themselves: bool,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password_hash", &"<hidden>")
            .field("is_active", &self.is_active)
            .field("is_staff", &self.is_staff)
            .field("registered_themselves", &self.registered_themselves)
            .finish()
    }
}

impl NewUser {
    /// Whether an existing account with this user name and e-mail address
    /// clashes with the new one across the two: login takes either, so a
    /// user name may not be another account's address, nor an address
    /// another account's user name (compared lower-cased; one's own address
    /// as one's user name is fine). The store refuses a clash as the
    /// `StoreError::Duplicate` of the rule named, as it would a taken name
    /// or address.
    pub fn login_clash(&self, their_name: &str, their_email: &str) -> Option<crate::Unique> {
        let (name, email) = (self.username.normalized(), self.email.normalized());
        let (their_name, their_email) = (their_name.to_lowercase(), their_email.to_lowercase());
        if their_email == name && their_name != name {
            return Some(crate::Unique::Username);
        }
        (their_name == email && their_email != email).then_some(crate::Unique::Email)
    }
}

/// A user's role in one tenant.
///
/// Roles are not ordered: the access policy does not compare them, it lists
/// what each may do (`Owner > Viewer` would read one way and
/// `role >= Role::Admin` another, and either is a check waiting to be
/// wrong). [`Role::ALL`] lists them from the most powerful to the least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created the tenant, manages billing; full control.
    Owner,
    /// Manages projects and members (never owners).
    Admin,
    /// Creates and edits their own items.
    Member,
    /// Reads only.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    /// The role's name as stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of `owner`, `admin`, `member`, `viewer`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; expected owner, admin, member or viewer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == s).ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// A membership's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MembershipId(pub i64);

/// A user's membership of a tenant, carrying their role there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Id in the shared schema.
    pub id: MembershipId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The member.
    pub user_id: UserId,
    /// The member's role in that tenant.
    pub role: Role,
    /// When the user joined.
    pub joined_at: DateTime<Utc>,
}

/// A membership with the member's account details, as member lists show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The membership.
    pub membership: Membership,
    /// The member's user name.
    pub username: Username,
    /// The member's e-mail address.
    pub email: Email,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("Owner".parse::<Role>().is_err());
        assert!("superuser".parse::<Role>().is_err());
    }

    #[test]
    fn a_login_name_clashes_only_across_name_and_address() -> Result<(), Box<dyn std::error::Error>> {
        let new = |name: &str, email: &str| -> Result<NewUser, Box<dyn std::error::Error>> {
            Ok(NewUser {
                username: Username::parse(name)?,
                email: Email::parse(email)?,
                password_hash: String::new(),
                is_active: true,
                is_staff: false,
                registered_themselves: false,
            })
        };
        let cases = [
            (new("ADA@example.com", "x@example.net")?, ("ada", "ada@example.com"), Some(crate::Unique::Username)),
            (new("someone", "Mail@Corp.example")?, ("mail@corp.example", "m@example.com"), Some(crate::Unique::Email)),
            // one's own address as one's name, met again: a plain duplicate, not a clash
            (new("me@home.example", "me@home.example")?, ("me@home.example", "me@home.example"), None),
            (new("bob", "bob@example.com")?, ("ada", "ada@example.com"), None),
        ];
        for (user, (their_name, their_email), expected) in cases {
            assert_eq!(user.login_clash(their_name, their_email), expected, "{user:?}");
        }
        Ok(())
    }
}
