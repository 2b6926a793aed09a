//! The black-box suite: one binary, one module per area.

mod auth;
mod members;
mod platform;
mod signup;
mod tenancy;
mod tokens;
