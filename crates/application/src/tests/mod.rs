//! Unit tests of the use cases, over the in-memory fakes of
//! [`crate::testing`]. Each asserts what the use case leaves behind, not only
//! what it answers.

mod auth;
mod registration;
mod tenant_admin;
mod tenant_members;
