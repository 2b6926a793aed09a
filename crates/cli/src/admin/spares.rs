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
                let mut rows = vec![vec![latest.to_owned(), stock.ready.to_string(), "ready".to_owned()]];
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
            let missing = count.saturating_sub(ctx.store.spare_stock()?.ready);
            let bar =
                output::progress_bar(missing, "{spinner} making spare schemas [{bar:40}] {pos}/{len} {rate} eta {eta}");
            let made = ctx.store.top_up_spares(count, &|_| {
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
            })?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let ready = ctx.store.spare_stock()?.ready;
            if ready < count {
                anyhow::bail!(
                    "made {made}; {ready} of {count} spare schemas are ready: another process is making them right \
                     now; try again when it is done"
                );
            }
            output::say(&format!("spare schemas: made {made}; {ready} ready"));
            Ok(())
        }
        SparesCommand::Clear => {
            let dropped = ctx.store.drop_spares(SpareFilter::All)?;
            output::say(&format!("spare schemas: dropped {dropped}"));
            Ok(())
        }
    }
}
