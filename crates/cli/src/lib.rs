//! # TaskForce composition root
//!
//! Configuration, logging and the wiring of every adapter into the
//! application's services, for the `taskforce` server binary and the
//! `tenant-admin` operator tool. The only crate that sees them all.

pub mod admin;
pub mod database;
pub mod services;
pub mod settings;
pub mod startup;
pub mod telemetry;

pub use settings::{Environment, Settings};
pub use startup::Application;
