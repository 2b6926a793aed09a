//! `tenant-admin import-django`: the Django product's tenants and accounts
//! brought over (see the use case, `TenantAdmin::import_legacy`).

use anyhow::bail;
use clap::Args;
use taskforce_application::{LegacyItem, LegacyOutcome, LegacyTarget};
use taskforce_domain::Slug;

use super::{Context, output};

/// A database address that is there: an empty one would let libpq pick
/// whatever the `PG*` variables or its defaults name.
fn not_blank(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("the Django database's URL is empty (postgres://user:password@host:port/name)".to_owned())
    } else {
        Ok(text.to_owned())
    }
}

#[derive(Debug, Args)]
pub(super) struct ImportDjangoArgs {
    /// The Django database: postgres://user:password@host:port/name (read
    /// only, in one read-only transaction). Taken from the environment
    /// variable DJANGO_DATABASE_URL when not given, which keeps its password
    /// out of the process list and the shell's history.
    #[arg(value_name = "DJANGO_DATABASE_URL", env = "DJANGO_DATABASE_URL", hide_env_values = true, value_parser = not_blank)]
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
    // a Django host that never answers is given up on, as our own database is
    let data = taskforce_persistence::read_django_platform(&crate::database::with_connect_timeout(&args.from, 5))?;
    let bar = output::progress_bar(
        data.tenants.len() + data.accounts.len(),
        "{spinner} importing from Django [{bar:40}] {pos}/{len} {msg}",
    );
    let to = LegacyTarget {
        platform_domain: &ctx.platform_domain,
        members_of: args.members_of.as_ref(),
        hasher: ctx.hasher.as_ref(),
    };
    let report = ctx.admin.import_legacy(&data, &to, &mut |item| {
        if let Some(bar) = &bar {
            bar.set_message(format!("{} {}", item.kind, item.name));
            bar.inc(1);
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let of_kind = |kind: &'static str| report.iter().filter(move |i| i.kind == kind);
    let imported = |kind: &'static str| of_kind(kind).filter(|i| i.outcome == LegacyOutcome::Imported).count();
    if args.json {
        output::json(&serde_json::Value::Array(report.iter().map(item_json).collect()));
    } else {
        for item in report.iter().filter(|i| !matches!(i.outcome, LegacyOutcome::Imported)) {
            output::say(&line(item));
        }
        output::say(&format!(
            "django: {} of {} tenant(s) and {} of {} account(s) imported",
            imported("tenant"),
            of_kind("tenant").count(),
            imported("account"),
            of_kind("account").count(),
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
    match item.outcome.parts() {
        (outcome, Some(why)) => format!("{outcome}: {} '{}': {why}", item.kind, item.name),
        (outcome, None) => format!("{outcome}: {} '{}'", item.kind, item.name),
    }
}

fn item_json(item: &LegacyItem) -> serde_json::Value {
    let (outcome, reason) = item.outcome.parts();
    serde_json::json!({"kind": item.kind, "name": item.name, "outcome": outcome, "reason": reason})
}
