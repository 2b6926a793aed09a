//! `tenant-admin`: the operators' tool.

use std::process::ExitCode;

use clap::Parser;
use taskforce_cli::{Settings, admin, database, telemetry};

fn main() -> ExitCode {
    let cli = admin::Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            taskforce_cli::stderr_line!("error: {error}");
            return ExitCode::from(1);
        }
    };
    let mut log = settings.log.clone();
    if std::env::var_os("RUST_LOG").is_none() {
        log.level = "warn".to_owned();
    }
    telemetry::init(&log);
    let outcome = admin::run(&settings, cli);
    database::await_interrupt_handler();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            taskforce_cli::stderr_line!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
