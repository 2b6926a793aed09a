//! One logging set-up for every binary: `tracing` to stderr, pretty or JSON.

use std::{io::IsTerminal, sync::OnceLock};

use tracing_subscriber::{EnvFilter, Layer, Registry, fmt, prelude::*, reload};

use crate::settings::LogSettings;

/// The installed filter, which [`silence`] turns off.
static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the global subscriber; `RUST_LOG` overrides the configured level.
/// Calling it twice is harmless (the second call does nothing).
pub fn init(settings: &LogSettings) {
    install(settings, false);
}

/// [`init`] for a tool whose interrupt may [`silence`] it (`tenant-admin`);
/// the server's filter is fixed, and costs no lock per event.
pub fn init_silenceable(settings: &LogSettings) {
    install(settings, true);
}

fn install(settings: &LogSettings, silenceable: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let filter: Box<dyn Layer<Registry> + Send + Sync> = if silenceable {
        let (filter, handle) = reload::Layer::new(filter);
        let _ = FILTER.set(handle);
        Box::new(filter)
    } else {
        Box::new(filter)
    };
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if settings.format == "json" {
        registry.with(fmt::layer().json().with_current_span(true).with_writer(std::io::stderr)).try_init()
    } else if silenceable {
        // an operator's tool: its few lines read like its own (`warning: …`)
        registry.with(fmt::layer().event_format(OperatorLine).with_ansi(false).with_writer(std::io::stderr)).try_init()
    } else {
        // colours only for a person at a terminal, not in files and pipes
        let ansi = std::io::stderr().is_terminal();
        registry.with(fmt::layer().with_ansi(ansi).with_writer(std::io::stderr)).try_init()
    };
}

/// An event as a line of an operator's tool: `warning: <message> <fields>`,
/// without time, level column or module, like the tool's own lines.
struct OperatorLine;

impl<S, N> fmt::FormatEvent<S, N> for OperatorLine
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &fmt::FmtContext<'_, S, N>,
        mut writer: fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            tracing::Level::INFO => "info",
            tracing::Level::DEBUG => "debug",
            tracing::Level::TRACE => "trace",
        };
        write!(writer, "{level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Stops all logging from now on: an interrupted run's one line is its
/// last word, not the warnings of the work its interrupt cut short (a
/// rollback on a connection to the cluster just stopped).
pub fn silence() {
    if let Some(handle) = FILTER.get() {
        let _ = handle.reload(EnvFilter::new("off"));
    }
}
