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
//! Implementing a port, as an adapter or a test double does — here the
//! mailer the core sends invitations through:
//!
//! ```
//! use std::sync::Mutex;
//!
//! use taskforce_domain::{Email, MailError, Mailer, OutgoingMail};
//!
//! /// Keeps messages instead of sending them.
//! #[derive(Default)]
//! struct Outbox(Mutex<Vec<OutgoingMail>>);
//!
//! impl Mailer for Outbox {
//!     fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
//!         let mut sent = self.0.lock().map_err(|_| MailError("outbox poisoned".into()))?;
//!         sent.push(mail.clone());
//!         Ok(())
//!     }
//! }
//!
//! let outbox = Outbox::default();
//! let mailer: &dyn Mailer = &outbox;
//! mailer.send(&OutgoingMail {
//!     to: Email::parse("ada@Example.com")?,
//!     subject: "You are invited".into(),
//!     body: "token: …".into(),
//! })?;
//! let sent = outbox.0.lock().map_err(|_| "poisoned")?;
//! assert_eq!(sent[0].to.as_str(), "ada@example.com");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## What stays the same between versions
//!
//! The crate is at 0.x, and its minor versions may break what it offers:
//!
//! * **Enums are exhaustive on purpose**, errors included ([`StoreError`],
//!   [`SlugError`], …): a new variant is a breaking change that makes every
//!   adapter's and caller's `match` say where it must be handled (a store
//!   that may now answer [`StoreError::TenantGone`], say), rather than fall
//!   into a wildcard arm.
//! * **Entities have public fields** (plain data read from storage): a new
//!   field breaks struct literals outside the crate; build them with
//!   `..` from an existing value in tests where you can.
//! * **Ports may gain methods** without defaults when the core needs them.
//! * **Value types stay valid by construction**: they have no public
//!   fields, no `Default` but where the empty value is valid, and no
//!   `Deserialize`; parse them at your edge.
//! * **Identity is by the normalised form**: [`Username::normalized`] and
//!   [`Email::normalized`] are the keys for uniqueness and look-ups, while
//!   `==` and `Hash` compare the text as kept (`Bob` and `bob` are two
//!   values and one account). TaskForce's own store enforces uniqueness with
//!   PostgreSQL's `lower()`, which agrees with [`str::to_lowercase`] but for
//!   a few letters (a final sigma, `İ`); a store of yours may use the keys
//!   as they are.

mod identity;
mod ports;
mod tenancy;
mod text;
mod work;

pub use identity::*;
pub use ports::*;
pub use tenancy::*;
pub use work::*;
