//! Who may do what: the role policy and the request's actor.

mod actor;
pub mod policy;

pub use actor::{Actor, Denied};
pub use policy::{Action, Relation};
