//! # TaskForce domain
//!
//! The vocabulary of TaskForce, a multi-tenant project-management service in
//! which every customer (tenant) owns a PostgreSQL schema: tenants and their
//! host names, plans and their limits, accounts, roles and memberships, the
//! validated value types they are built from, and the **ports** (traits)
//! through which the rest of the system reaches storage.
//!
//! This crate does no I/O and depends on no database, HTTP or async runtime
//! crate, so other services can reuse it as it is. Values are parsed once at
//! the edge and are valid from then on ("parse, don't validate"): holding a
//! [`Slug`] means holding a slug that obeys the rules.
//!
//! ```
//! use taskforce_domain::{HostName, LimitedResource, Plan, Role, Slug};
//!
//! // A tenant's slug decides its schema name.
//! let slug = Slug::parse("Acme-Corp")?;
//! assert_eq!(slug.as_str(), "acme-corp");
//! assert_eq!(slug.schema_name().as_str(), "tenant_acme_corp");
//!
//! // Bad input is refused with a reason that names the problem.
//! let refused = Slug::parse("acme corp").unwrap_err();
//! assert_eq!(refused.to_string(), "the slug may only hold a-z, 0-9, '-' and '_'; ' ' is not allowed");
//!
//! // Requests find their tenant by canonical host name.
//! let host = HostName::from_header("ACME-CORP.localhost.:8001")?;
//! assert_eq!(host, HostName::parse("localhost")?.subdomain(slug.as_str())?);
//!
//! // Plans bound what a tenant may hold; `None` is unlimited.
//! assert_eq!(Plan::Free.limits().of(LimitedResource::Projects), Some(1));
//! assert_eq!(Plan::Enterprise.limits().of(LimitedResource::Tasks), None);
//! assert_eq!("admin".parse::<Role>()?, Role::Admin);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Implementing a port, as an adapter or a test double does:
//!
//! ```
//! use taskforce_domain::{Email, NewUser, StoreError, User, UserId, UserRepository, Username};
//!
//! #[derive(Default)]
//! struct InMemoryUsers(Vec<User>);
//!
//! impl UserRepository for InMemoryUsers {
//!     fn create(&mut self, new: &NewUser) -> Result<User, StoreError> {
//!         if self.0.iter().any(|u| u.username.normalized() == new.username.normalized()) {
//!             return Err(StoreError::Duplicate("users_username_key".into()));
//!         }
//!         let user = User {
//!             id: UserId(self.0.len() as i64 + 1),
//!             username: new.username.clone(),
//!             email: new.email.clone(),
//!             is_active: true,
//!             is_staff: new.is_staff,
//!             date_joined: chrono::Utc::now(),
//!             last_login: None,
//!         };
//!         self.0.push(user.clone());
//!         Ok(user)
//!     }
//!     fn get(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
//!         Ok(self.0.iter().find(|u| u.id == id).cloned())
//!     }
//!     fn by_username(&mut self, name: &Username) -> Result<Option<User>, StoreError> {
//!         Ok(self.0.iter().find(|u| u.username.normalized() == name.normalized()).cloned())
//!     }
//! }
//!
//! let mut users = InMemoryUsers::default();
//! let new = NewUser {
//!     username: Username::parse("ada")?,
//!     email: Email::parse("ada@example.com")?,
//!     password_hash: "$argon2id$…".into(),
//!     is_staff: false,
//! };
//! users.create(&new)?;
//! let again = NewUser { username: Username::parse("ADA")?, ..new };
//! assert!(users.create(&again).unwrap_err().is_duplicate_of("users_username_key"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod identity;
mod ports;
mod tenancy;
mod work;

pub use identity::*;
pub use ports::*;
pub use tenancy::*;
pub use work::*;
