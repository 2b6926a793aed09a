//! Route handlers, one file per resource.

pub mod auth;
pub mod docs;
pub mod health;
pub mod signup;
pub mod tenants;
