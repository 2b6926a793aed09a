//! `tenant-admin import-django`: the Django product's tenants and accounts
//! brought over (see the use case, `TenantAdmin::import_legacy`).

use std::{io::IsTerminal as _, time::Duration};

use anyhow::bail;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use taskforce_application::{LegacyItem, LegacyMembers, LegacyOutcome};
use taskforce_domain::Slug;

use super::{Context, output};

#[derive(Debug, Args)]
pub(super) struct ImportDjangoArgs {
    /// The Django database: postgres://user:password@host:port/name (read
    /// only, in one read-only transaction). Taken from the environment
    /// variable DJANGO_DATABASE_URL when not given, which keeps its password
    /// out of the process list and the shell's history.
    #[arg(value_name = "DJANGO_DATABASE_URL", env = "DJANGO_DATABASE_URL", hide_env_values = true)]
    from: String,
    /// Make every account a member of this tenant: Django's owner and admin
    /// keep their role, staff and user become member.
    #[arg(long, value_name = "SLUG", value_parser = super::parse_slug)]
    members_of: Option<Slug>,
    /// Print the report as JSON instead of lines.
    #[arg(long)]
    json: bool,
}

pub(super) fn run(ctx: &Context, args: ImportDjangoArgs) -> anyhow::Result<()> {
    let data = taskforce_persistence::read_django_platform(&args.from)?;
    let bar = progress(data.tenants.len() + data.accounts.len());
    let members = args.members_of.as_ref().map(|tenant| LegacyMembers { tenant });
    let report = ctx.admin.import_legacy(&data, &ctx.platform_domain, members, &mut |item| {
        if let Some(bar) = &bar {
            bar.set_message(format!("{} {}", item.kind, item.name));
            bar.inc(1);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let count = |kind: &str, imported: bool| {
        report.iter().filter(|i| i.kind == kind && matches!(i.outcome, LegacyOutcome::Imported) == imported).count()
    };
    if args.json {
        output::json(&serde_json::Value::Array(report.iter().map(item_json).collect()));
    } else {
        for item in report.iter().filter(|i| !matches!(i.outcome, LegacyOutcome::Imported)) {
            output::say(&line(item));
        }
        output::say(&format!(
            "django: {} of {} tenant(s) and {} of {} account(s) imported",
            count("tenant", true),
            count("tenant", true) + count("tenant", false),
            count("account", true),
            count("account", true) + count("account", false),
        ));
    }
    let refused = report.iter().filter(|i| matches!(i.outcome, LegacyOutcome::Refused(_))).count();
    if refused > 0 {
        bail!(
            "{refused} item(s) refused; fix them in Django or here and run the import again (what is here is left alone)"
        );
    }
    Ok(())
}

fn line(item: &LegacyItem) -> String {
    match &item.outcome {
        LegacyOutcome::Imported => format!("imported: {} '{}'", item.kind, item.name),
        LegacyOutcome::Skipped(why) => format!("skipped: {} '{}': {why}", item.kind, item.name),
        LegacyOutcome::Refused(why) => format!("refused: {} '{}': {why}", item.kind, item.name),
    }
}

fn item_json(item: &LegacyItem) -> serde_json::Value {
    let (outcome, reason) = match &item.outcome {
        LegacyOutcome::Imported => ("imported", None),
        LegacyOutcome::Skipped(why) => ("skipped", Some(why)),
        LegacyOutcome::Refused(why) => ("refused", Some(why)),
    };
    serde_json::json!({"kind": item.kind, "name": item.name, "outcome": outcome, "reason": reason})
}

/// A bar on a terminal, nothing otherwise.
fn progress(length: usize) -> Option<ProgressBar> {
    if length == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(length as u64).with_style(
        ProgressStyle::with_template("{spinner} importing from Django [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}
