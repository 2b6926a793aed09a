//! # TaskForce composition root
//!
//! Configuration, logging and the wiring of every adapter into the
//! application's services, for the `taskforce` server binary and the
//! `tenant-admin` operator tool. The only crate that sees them all.

/// One line on standard error, like `eprintln!` but without its panic when
/// standard error cannot be written (a closed pipe, a full disk): there is
/// nowhere left to say anything then.
#[macro_export]
macro_rules! stderr_line {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr(), $($arg)*);
    }};
}

pub mod admin;
pub mod database;
pub mod services;
pub mod settings;
pub mod startup;
pub mod telemetry;

pub use settings::{Environment, Settings};
pub use startup::Application;
