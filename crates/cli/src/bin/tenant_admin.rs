//! `tenant-admin`: the operators' tool.

use std::process::ExitCode;

use clap::Parser;
use taskforce_cli::admin;

fn main() -> ExitCode {
    ExitCode::from(admin::main(admin::Cli::parse()))
}
