//! diesel's view of the tables: the shared ones in [`public`] and those of
//! each tenant schema in [`tenant`].

#[rustfmt::skip]
pub mod public;
#[rustfmt::skip]
pub mod tenant;

pub use public::{
    domains, invitations, memberships, refresh_families, refresh_tokens, spare_schemas, stream_tickets, tenants, users,
};
pub use tenant::{activity, attachments, comments, notifications, projects, tasks};
