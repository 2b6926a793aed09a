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

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            taskforce_cli::stderr_line!("error: cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run());
    // work still blocked on a database that does not answer (a readiness
    // probe, a request past the shutdown grace) must not keep the process:
    // dropped, the runtime would wait for it without end
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn run() -> ExitCode {
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
