//! Route handlers, one file per resource.

pub mod docs;
pub mod health;
