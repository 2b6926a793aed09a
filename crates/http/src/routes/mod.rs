//! Route handlers, one file per resource.

pub mod activity;
pub mod attachments;
pub mod auth;
pub mod comments;
pub mod docs;
pub mod health;
pub mod notifications;
pub mod projects;
pub mod reports;
pub mod signup;
pub mod tasks;
pub mod tenants;
