//! `taskforce`: the API server, and `migrate` for deploy scripts.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use taskforce_cli::{Application, Settings, admin, telemetry};

/// TaskForce: multi-tenant project management API.
#[derive(Debug, Parser)]
#[command(name = "taskforce", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (on the embedded PostgreSQL cluster when no database is
    /// configured, except in production). SIGTERM/SIGINT stop it gracefully.
    Serve {
        /// Address to bind (overrides server.host).
        #[arg(long)]
        host: Option<String>,
        /// Port to bind (overrides server.port).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Migrate the shared schema and every tenant schema (same as
    /// `tenant-admin migrate`).
    Migrate(admin::MigrateArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let (host, port) = match Cli::parse().command {
        Command::Serve { host, port } => (host, port),
        Command::Migrate(args) => {
            // exactly as `tenant-admin migrate`: its log level, its progress
            // bar, its answer to an interrupt
            let migrate = move || admin::main_with(|settings| admin::migrate(settings, &args));
            return ExitCode::from(tokio::task::spawn_blocking(migrate).await.unwrap_or(1));
        }
    };
    let mut settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            taskforce_cli::stderr_line!("error: {error}");
            return ExitCode::from(1);
        }
    };
    telemetry::init(&settings.log);
    settings.server.host = host.unwrap_or(settings.server.host);
    settings.server.port = port.unwrap_or(settings.server.port);
    let outcome = serve(&settings).await;
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            taskforce_cli::stderr_line!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    app.run_until_stopped().await
}
