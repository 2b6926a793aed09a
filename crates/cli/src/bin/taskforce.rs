//! `taskforce`: the API server, and `migrate` for deploy scripts.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use taskforce_cli::{Application, Settings, admin, database, telemetry};

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
    let cli = Cli::parse();
    let mut settings = match Settings::load() {
        Ok(settings) => settings,
        Err(error) => {
            taskforce_cli::stderr_line!("error: {error}");
            return ExitCode::from(1);
        }
    };
    telemetry::init(&settings.log);
    let outcome = match cli.command {
        Command::Serve { host, port } => {
            settings.server.host = host.unwrap_or(settings.server.host);
            settings.server.port = port.unwrap_or(settings.server.port);
            serve(&settings).await
        }
        Command::Migrate(args) => tokio::task::spawn_blocking(move || {
            let outcome = admin::migrate(&settings, &args);
            database::await_interrupt_handler();
            outcome
        })
        .await
        .map_err(Into::into)
        .and_then(|r| r),
    };
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
