//! Unit tests of the use cases, over the in-memory fakes of
//! [`crate::testing`]. Each asserts what the use case leaves behind, not only
//! what it answers.

mod activity;
mod attachments;
mod auth;
mod comments;
mod crew;
mod notifications;
mod probes;
mod projects;
mod registration;
mod reports;
mod tasks;
mod tenant_admin;
mod tenant_members;
