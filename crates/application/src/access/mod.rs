//! Who may do what: the role policy and the request's actor.

mod actor;
mod cache;
pub mod policy;

pub use actor::{Actor, Denied};
pub use cache::{
    AccessCache, CacheTtl, ChangeFeedState, Found, NoCache, host_key, member_key, revoked_key, session_key,
};
pub use policy::{Action, Relation};
