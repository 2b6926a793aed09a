//! `tenant-admin spares`: the tenant schemas made ahead of time.

use clap::Subcommand;
use serde_json::json;
use taskforce_persistence::SpareFilter;

use super::{Context, JsonFlag, output};

/// What to do with the spare schemas.
#[derive(Debug, Subcommand)]
pub enum SparesCommand {
    /// How many spare schemas are ready for new tenants, and how many were
    /// made by other migration versions.
    Status(JsonFlag),
    /// Make spare schemas until COUNT are ready (servers keep
    /// database.spare_schemas ready by themselves).
    Fill {
        /// How many should be ready, at most 10,000 (each is a whole
        /// schema, about 0.4 MB); default: database.spare_schemas.
        #[arg(long, value_parser = clap::value_parser!(u64).range(0..=10_000))]
        count: Option<u64>,
    },
    /// Drop every spare schema, whatever its version (before going back to
    /// a build with older migrations, or to give the space back).
    Clear,
}

/// How long `spares fill` waits for another filler that makes no progress.
const SPARES_STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs one `spares` command.
pub fn run(ctx: &Context, command: SparesCommand, configured: usize) -> anyhow::Result<()> {
    match command {
        SparesCommand::Status(flag) => {
            let stock = ctx.store.spare_stock()?;
            let latest = ctx.store.migrator().latest_version();
            if flag.json {
                let others: Vec<_> = stock
                    .other_versions
                    .iter()
                    .map(|(version, count)| json!({"version": version, "count": count}))
                    .collect();
                output::json(&json!({"ready": stock.ready, "version": latest, "other_versions": others}));
            } else {
                let state = if stock.ready == 0 { "none: `spares fill` makes them" } else { "ready" };
                let mut rows = vec![vec![latest.to_owned(), stock.ready.to_string(), state.to_owned()]];
                rows.extend(stock.other_versions.iter().map(|(version, count)| {
                    let state =
                        if version.as_str() < latest { "outdated: `migrate` drops it" } else { "newer build's" };
                    vec![version.clone(), count.to_string(), state.to_owned()]
                }));
                output::table(&["VERSION", "SPARES", "STATE"], &rows);
            }
            Ok(())
        }
        SparesCommand::Fill { count } => {
            let count = count.and_then(|count| usize::try_from(count).ok()).unwrap_or(configured);
            let before = ctx.store.spare_stock()?.ready;
            let initial = u64::try_from(before).unwrap_or(u64::MAX);
            let missing = count.saturating_sub(before);
            let bar = output::progress_bar(
                missing,
                "{spinner} making spare schemas [{bar:40}] {pos}/{len} {rate} eta {eta} {msg}",
            );
            let on_made = |_: &_| {
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            };
            // another process filling (a server topping up, another `fill`)
            // holds the filler's lock: wait for it and go on, as long as
            // someone makes progress
            let (mut made, mut ready, mut progress) = (0, 0, std::time::Instant::now());
            loop {
                made += ctx.store.top_up_spares(count, &on_made)?;
                let now_ready = ctx.store.spare_stock()?.ready;
                if now_ready >= count {
                    ready = now_ready;
                    break;
                }
                if now_ready > ready {
                    progress = std::time::Instant::now();
                }
                ready = now_ready;
                if progress.elapsed() > SPARES_STALL {
                    anyhow::bail!(
                        "made {made}; {ready} of {count} spare schemas are ready, and another process holding the \
                         filler's lock has made none for {} s; try again when it is done",
                        SPARES_STALL.as_secs()
                    );
                }
                if let Some(bar) = &bar {
                    bar.set_position(u64::try_from(ready).unwrap_or(u64::MAX).saturating_sub(initial));
                    bar.set_message("another process is making spares too: waiting for it");
                }
                // each round opens a connection of its own: once a second, not more
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            output::say(&format!("spare schemas: made {made}; {ready} ready"));
            Ok(())
        }
        SparesCommand::Clear => {
            let stock = ctx.store.spare_stock()?;
            let total = stock.ready + stock.other_versions.iter().map(|(_, count)| count).sum::<usize>();
            let bar =
                output::progress_bar(total, "{spinner} dropping spare schemas [{bar:40}] {pos}/{len} {rate} eta {eta}");
            let on_dropped = || {
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            };
            let dropped = ctx.store.drop_spares(SpareFilter::All, &on_dropped)?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            output::say(&format!("spare schemas: dropped {dropped}"));
            Ok(())
        }
    }
}
