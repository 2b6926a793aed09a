//! The black-box suite: one binary, one module per area.

mod attachments;
mod auth;
mod isolation;
mod members;
mod notifications;
mod platform;
mod redis;
mod reports;
mod roles;
mod signup;
mod tenancy;
mod tokens;
mod work;
